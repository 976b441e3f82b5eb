/**
 * The page's navigation state lives in the URL (and only there), so a view is shareable and
 * the back button works: view, namespace, target, query, source, history window, max-rps and
 * the selected workload. Components read it with `useUrlState()` and change it with `setUrlState`.
 */
import { useEffect, useState } from 'preact/hooks';

export type View = 'traffic' | 'workloads' | 'map';

export interface UrlState {
  view: View;
  ns: string;
  /** `ns/NAME` (every workload of the namespace) or `deploy/NAME`, … */
  target: string;
  /** The tap filter flags, as typed. */
  q: string;
  source: 'live' | 'history';
  since: string;
  rps: number;
  /** The workload opened in the workloads view. */
  wl: string;
}

const listeners = new Set<() => void>();
let defaultNs = 'default';

/** Sets the namespace used when the URL names none (the first of `-n`). */
export function setDefaultNamespace(ns: string): void {
  defaultNs = ns;
  notify();
}

export function readUrlState(): UrlState {
  const p = new URLSearchParams(location.search);
  const ns = p.get('ns') || defaultNs;
  const view = p.get('view');
  const rps = Number(p.get('rps'));
  return {
    view: view === 'workloads' || view === 'map' ? view : 'traffic',
    ns,
    target: p.get('target') || `ns/${ns}`,
    q: p.get('q') ?? '',
    source: p.get('source') === 'history' ? 'history' : 'live',
    since: p.get('since') || '5m',
    rps: Number.isInteger(rps) && rps >= 1 && rps <= 1000 ? rps : 100,
    wl: p.get('wl') ?? '',
  };
}

const DEFAULTS: Partial<Record<keyof UrlState, string>> = { view: 'traffic', source: 'live', since: '5m', rps: '100', q: '', wl: '' };

/** Changes some of the state; `push` adds a history entry (navigation), otherwise it is replaced. */
export function setUrlState(patch: Partial<UrlState>, push = true): void {
  const next = { ...readUrlState(), ...patch };
  const p = new URLSearchParams();
  for (const [k, v] of Object.entries(next)) {
    const text = String(v);
    if (k === 'target' && text === `ns/${next.ns}`) continue;
    if (k === 'ns' && text === defaultNs) continue;
    if (DEFAULTS[k as keyof UrlState] === text) continue;
    p.set(k, text);
  }
  const search = p.toString();
  const url = `${location.pathname}${search ? `?${search}` : ''}`;
  if (url === `${location.pathname}${location.search}`) return;
  if (push) history.pushState(null, '', url);
  else history.replaceState(null, '', url);
  notify();
}

function notify(): void {
  for (const l of listeners) l();
}

addEventListener('popstate', notify);

/** The current URL state; re-renders the component when it changes. */
export function useUrlState(): UrlState {
  const [state, set] = useState(readUrlState);
  useEffect(() => {
    const l = () => set(readUrlState());
    listeners.add(l);
    return () => void listeners.delete(l);
  }, []);
  return state;
}
