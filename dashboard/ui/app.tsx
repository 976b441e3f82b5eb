/** The page: a header (views, namespace, theme) and the chosen view. */
import { useEffect, useState } from 'preact/hooks';
import type { DashboardConfig } from '../wire.js';
import { getJson } from './api.js';
import { ServiceMap } from './service-map.js';
import { currentTheme, setTheme, type Theme } from './theme.js';
import { TrafficView } from './traffic-view.js';
import { setDefaultNamespace, setUrlState, useUrlState, type View } from './url-state.js';
import { WorkloadsView } from './workloads-view.js';

const VIEWS: Array<{ id: View; label: string }> = [
  { id: 'traffic', label: 'Traffic' },
  { id: 'workloads', label: 'Workloads' },
  { id: 'map', label: 'Service map' },
];

export function App() {
  const [config, setConfig] = useState<DashboardConfig>();
  const [error, setError] = useState<string>();
  const s = useUrlState();
  useEffect(() => {
    getJson<DashboardConfig>('/api/config').then(
      (c) => {
        setDefaultNamespace(c.namespaces[0]!);
        setConfig(c);
      },
      (e: Error) => setError(e.message),
    );
  }, []);
  if (error) return <p class="boot error">The dashboard server did not answer: {error}</p>;
  if (!config) return <p class="boot">Loading…</p>;
  const namespaces = config.namespaces.includes(s.ns) ? config.namespaces : [...config.namespaces, s.ns];
  return (
    <div class="app">
      <header class="topbar">
        <div class="brand">
          <Logo />
          <span>meshtap</span>
        </div>
        <nav class="tabs" aria-label="Views">
          {VIEWS.map((v) => (
            <a
              href={`?view=${v.id}`}
              class={s.view === v.id ? 'tab active' : 'tab'}
              aria-current={s.view === v.id ? 'page' : undefined}
              onClick={(ev) => {
                ev.preventDefault();
                setUrlState({ view: v.id });
              }}
            >
              {v.label}
            </a>
          ))}
        </nav>
        <div class="topbar-right">
          <label class="field compact">
            <span>Namespace</span>
            <select value={s.ns} onChange={(ev) => setUrlState({ ns: (ev.target as HTMLSelectElement).value, target: '', wl: '' })}>
              {namespaces.map((n) => (
                <option value={n}>{n}</option>
              ))}
            </select>
          </label>
          <ThemeSwitch />
          <span class="conn" title={`Acting as you through ${config.connection}`}>
            as you · {config.connection}
          </span>
        </div>
      </header>
      <main class="main">
        {s.view === 'traffic' && <TrafficView state={s} />}
        {s.view === 'workloads' && <WorkloadsView state={s} config={config} />}
        {s.view === 'map' && <ServiceMap state={s} config={config} />}
      </main>
    </div>
  );
}

function ThemeSwitch() {
  const [theme, set] = useState<Theme>(currentTheme);
  const next: Record<Theme, Theme> = { auto: 'light', light: 'dark', dark: 'auto' };
  return (
    <button
      type="button"
      class="btn ghost"
      title="Colour scheme: follow the system, light or dark"
      onClick={() => {
        setTheme(next[theme]);
        set(next[theme]);
      }}
    >
      {theme === 'auto' ? '◐ Auto' : theme === 'light' ? '☀ Light' : '☾ Dark'}
    </button>
  );
}

function Logo() {
  return (
    <svg width="22" height="22" viewBox="0 0 24 24" aria-hidden="true">
      <circle cx="5" cy="6" r="3" class="logo-a" />
      <circle cx="19" cy="6" r="3" class="logo-b" />
      <circle cx="12" cy="19" r="3" class="logo-c" />
      <path d="M7.5 7.5 L10.5 16.5 M16.5 7.5 L13.5 16.5 M8 6 H16" class="logo-line" />
    </svg>
  );
}
