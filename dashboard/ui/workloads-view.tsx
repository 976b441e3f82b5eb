/**
 * Workloads of a namespace with success rate, RPS and p50/p95/p99 (what `meshtap stat deploy`
 * prints, refreshed), and for the one picked: its routes (the tap API's route statistics) and a
 * live top view (what `meshtap top` prints).
 */
import { useEffect, useState } from 'preact/hooks';
import type { RouteList } from '../../tap-api/index.js';
import type { DashboardConfig, DashboardLine, StatRowWire, TopRowWire } from '../wire.js';
import { getJson, streamLines } from './api.js';
import { fmtMs, fmtPct, fmtRps, successClass } from './format.js';
import { setUrlState, type UrlState } from './url-state.js';

const REFRESH_MS = 10_000;

export function WorkloadsView({ state, config }: { state: UrlState; config: DashboardConfig }) {
  const [rows, setRows] = useState<StatRowWire[]>();
  const [error, setError] = useState<string>();
  useEffect(() => {
    if (!config.hasStats) return;
    let stopped = false;
    let timer: ReturnType<typeof setTimeout> | undefined;
    const ac = new AbortController();
    const load = () =>
      getJson<{ rows: StatRowWire[] }>(`/api/stat?ns=${encodeURIComponent(state.ns)}`, ac.signal).then(
        (r) => {
          if (stopped) return;
          setRows(r.rows);
          setError(undefined);
          timer = setTimeout(load, REFRESH_MS);
        },
        (e: Error) => {
          if (stopped) return;
          setError(e.message);
          timer = setTimeout(load, REFRESH_MS);
        },
      );
    setRows(undefined);
    void load();
    return () => {
      stopped = true;
      ac.abort();
      if (timer) clearTimeout(timer);
    };
  }, [state.ns, config.hasStats]);
  return (
    <div class="workloads">
      <section class="card">
        <div class="card-head">
          <h2>Workloads in {state.ns}</h2>
          <span class="muted">inbound traffic · refreshed every {REFRESH_MS / 1000}s · same numbers as meshtap stat deploy -n {state.ns}</span>
        </div>
        {!config.hasStats && <p class="muted">Workload statistics need the dashboard started with --tap-api URL or --prometheus URL.</p>}
        {error && <p class="error">{error}</p>}
        {config.hasStats && !rows && !error && <p class="muted">Measuring (one stat window)…</p>}
        {rows && rows.length === 0 && <p class="muted">No meshed workloads found in {state.ns}.</p>}
        {rows && rows.length > 0 && (
          <table class="grid" data-testid="workloads">
            <thead>
              <tr>
                <th>Workload</th>
                <th>Meshed</th>
                <th class="num">Success</th>
                <th class="num">RPS</th>
                <th class="num">p50</th>
                <th class="num">p95</th>
                <th class="num">p99</th>
                <th class="num">TCP</th>
                <th />
              </tr>
            </thead>
            <tbody>
              {rows.map((r) => (
                <tr class={state.wl === r.name ? 'selected' : ''}>
                  <td>
                    <button type="button" class="link" onClick={() => setUrlState({ wl: r.name })}>
                      {r.name}
                    </button>
                  </td>
                  <td>
                    {r.meshed.ok}/{r.meshed.total}
                  </td>
                  <td class={`num ${successClass(r.successRate)}`}>{fmtPct(r.successRate)}</td>
                  <td class="num">{fmtRps(r.rps)}</td>
                  <td class="num">{fmtMs(r.latencyMsP50)}</td>
                  <td class="num">{fmtMs(r.latencyMsP95)}</td>
                  <td class="num">{fmtMs(r.latencyMsP99)}</td>
                  <td class="num">{r.tcpConnections}</td>
                  <td>
                    <button type="button" class="btn small" onClick={() => setUrlState({ view: 'traffic', target: r.name })}>
                      Tap
                    </button>
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        )}
      </section>
      {state.wl && (
        <div class="two-col">
          <Routes ns={state.ns} workload={state.wl} />
          <Top ns={state.ns} workload={state.wl} />
        </div>
      )}
    </div>
  );
}

function Routes({ ns, workload }: { ns: string; workload: string }) {
  const [list, setList] = useState<RouteList>();
  const [error, setError] = useState<string>();
  useEffect(() => {
    const ac = new AbortController();
    let timer: ReturnType<typeof setTimeout> | undefined;
    const load = () =>
      getJson<RouteList>(`/api/routes?ns=${encodeURIComponent(ns)}&workload=${encodeURIComponent(workload)}`, ac.signal).then(
        (l) => {
          setList(l);
          setError(undefined);
          timer = setTimeout(load, REFRESH_MS);
        },
        (e: Error) => {
          if (!ac.signal.aborted) setError(e.message);
        },
      );
    setList(undefined);
    void load();
    return () => {
      ac.abort();
      if (timer) clearTimeout(timer);
    };
  }, [ns, workload]);
  return (
    <section class="card" data-testid="routes">
      <div class="card-head">
        <h2>Routes served by {workload}</h2>
        {list && <span class="muted">last {list.window}</span>}
      </div>
      {error && <p class="error">{error}</p>}
      {!list && !error && <p class="muted">Loading…</p>}
      {list && list.items.length === 0 && <p class="muted">No requests in the window.</p>}
      {list && list.items.length > 0 && (
        <table class="grid">
          <thead>
            <tr>
              <th>Route</th>
              <th class="num">Success</th>
              <th class="num">RPS</th>
              <th class="num">p50</th>
              <th class="num">p95</th>
              <th class="num">p99</th>
            </tr>
          </thead>
          <tbody>
            {list.items.map((r) => (
              <tr>
                <td class="mono">
                  <span class={`method m-${r.method.toLowerCase()}`}>{r.method}</span> {r.route}
                </td>
                <td class={`num ${successClass(r.successRate)}`}>{fmtPct(r.successRate)}</td>
                <td class="num">{fmtRps(r.rps)}</td>
                <td class="num">{fmtMs(r.latencyMs.p50)}</td>
                <td class="num">{fmtMs(r.latencyMs.p95)}</td>
                <td class="num">{fmtMs(r.latencyMs.p99)}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </section>
  );
}

function Top({ ns, workload }: { ns: string; workload: string }) {
  const [rows, setRows] = useState<TopRowWire[]>([]);
  const [total, setTotal] = useState(0);
  const [error, setError] = useState<string>();
  useEffect(() => {
    const ac = new AbortController();
    setRows([]);
    setTotal(0);
    setError(undefined);
    streamLines(`/api/top?ns=${encodeURIComponent(ns)}&target=${encodeURIComponent(workload)}`, ac.signal, (line: DashboardLine) => {
      if (line.type === 'top') {
        setRows(line.rows);
        setTotal(line.total);
      } else if (line.type === 'error') setError(line.message);
    }).catch((e: Error) => !ac.signal.aborted && setError(e.message));
    return () => ac.abort();
  }, [ns, workload]);
  return (
    <section class="card" data-testid="top">
      <div class="card-head">
        <h2>Live top of {workload}</h2>
        <span class="muted">{total} exchanges since opened</span>
      </div>
      {error && <p class="error">{error}</p>}
      {rows.length === 0 && !error && <p class="muted">Waiting for traffic…</p>}
      {rows.length > 0 && (
        <table class="grid">
          <thead>
            <tr>
              <th>Source → Destination</th>
              <th>Path</th>
              <th class="num">Count</th>
              <th class="num">Best</th>
              <th class="num">Worst</th>
              <th class="num">Last</th>
              <th class="num">Success</th>
            </tr>
          </thead>
          <tbody>
            {rows.slice(0, 25).map((r) => (
              <tr>
                <td>
                  {r.source} → {r.destination}
                </td>
                <td class="mono ellipsis" title={r.path}>
                  <span class={`method m-${r.method.toLowerCase()}`}>{r.method}</span> {r.path}
                </td>
                <td class="num">{r.count}</td>
                <td class="num">{fmtMs(r.bestMs)}</td>
                <td class="num">{fmtMs(r.worstMs)}</td>
                <td class="num">{fmtMs(r.lastMs)}</td>
                <td class={`num ${successClass(r.successes / r.count)}`}>{fmtPct(r.successes / r.count)}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </section>
  );
}
