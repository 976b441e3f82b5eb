/**
 * The service map: workloads grouped by namespace, edges with RPS, success rate and p99,
 * coloured by success. A click (or Enter) on a workload taps it; on an edge, taps the caller
 * filtered to the callee (`--to`). Numbers from the tap API's edges (GET …/edges), as the user.
 */
import { useEffect, useState } from 'preact/hooks';
import type { Edge, EdgeList } from '../../tap-api/index.js';
import { joinQuery } from '../query-text.js';
import type { DashboardConfig } from '../wire.js';
import { getJson } from './api.js';
import { fmtRps, successClass } from './format.js';
import { layoutMap, type MapLayout, type MapNode } from './map-layout.js';
import { setUrlState, type UrlState } from './url-state.js';

const REFRESH_MS = 10_000;
const WINDOWS = ['30s', '1m', '5m', '15m'];

export function ServiceMap({ state, config }: { state: UrlState; config: DashboardConfig }) {
  const [scope, setScope] = useState<'ns' | 'all'>(config.namespaces.length > 1 ? 'all' : 'ns');
  const [window, setWindow] = useState('1m');
  const [list, setList] = useState<EdgeList>();
  const [layout, setLayout] = useState<MapLayout>();
  const [error, setError] = useState<string>();
  useEffect(() => {
    const ac = new AbortController();
    let timer: ReturnType<typeof setTimeout> | undefined;
    const namespaces = scope === 'all' ? config.namespaces : [state.ns];
    const p = new URLSearchParams({ window });
    for (const n of namespaces) p.append('ns', n);
    const load = () =>
      getJson<EdgeList>(`/api/edges?${p}`, ac.signal)
        .then(async (l) => {
          const lay = await layoutMap(l.items);
          if (ac.signal.aborted) return;
          setList(l);
          setLayout(lay);
          setError(undefined);
        })
        .catch((e: Error) => !ac.signal.aborted && setError(e.message))
        .finally(() => {
          if (!ac.signal.aborted) timer = setTimeout(load, REFRESH_MS);
        });
    void load();
    return () => {
      ac.abort();
      if (timer) clearTimeout(timer);
    };
  }, [scope, window, state.ns, config.namespaces.join(',')]);

  const openNode = (n: MapNode) => {
    if (n.end.meshed && n.end.workload) setUrlState({ view: 'traffic', ns: n.end.namespace!, target: n.end.workload, q: '' });
  };
  const openEdge = (e: Edge) => {
    if (e.src.meshed && e.src.workload && e.dst.workload) {
      const q = ['--to', e.dst.workload, ...(e.dst.namespace && e.dst.namespace !== e.src.namespace ? ['--to-namespace', e.dst.namespace] : [])];
      setUrlState({ view: 'traffic', ns: e.src.namespace!, target: e.src.workload, q: joinQuery(q) });
    } else if (e.dst.meshed && e.dst.workload) setUrlState({ view: 'traffic', ns: e.dst.namespace!, target: e.dst.workload, q: '' });
  };

  return (
    <div class="map-view">
      <div class="toolbar">
        <div class="seg" role="group" aria-label="Namespaces">
          <button type="button" class={scope === 'ns' ? 'seg-btn on' : 'seg-btn'} aria-pressed={scope === 'ns'} onClick={() => setScope('ns')}>
            {state.ns}
          </button>
          <button type="button" class={scope === 'all' ? 'seg-btn on' : 'seg-btn'} aria-pressed={scope === 'all'} onClick={() => setScope('all')} title={config.namespaces.join(', ')}>
            All namespaces ({config.namespaces.length})
          </button>
        </div>
        <label class="field compact">
          <span>window</span>
          <select value={window} onChange={(ev) => setWindow((ev.target as HTMLSelectElement).value)}>
            {WINDOWS.map((w) => (
              <option value={w}>{w}</option>
            ))}
          </select>
        </label>
        <span class="legend">
          <span class="swatch sr-good" /> ≥ 99%
          <span class="swatch sr-warn" /> ≥ 95%
          <span class="swatch sr-bad" /> &lt; 95% success
        </span>
        <div class="spacer" />
        {list && (
          <span class="muted">
            {list.items.length} edges · numbers over {Math.round(list.windowMs / 1000)}s from {list.source}
            {list.unreachable?.length ? ` · unreachable: ${list.unreachable.join(', ')}` : ''}
          </span>
        )}
      </div>
      {error && (
        <div class="banner error" role="alert">
          {error}
        </div>
      )}
      {!layout && !error && <p class="muted pad">Loading the map…</p>}
      {layout && layout.nodes.length === 0 && <p class="muted pad">No traffic between workloads in the window.</p>}
      {layout && layout.nodes.length > 0 && (
        <div class="map-canvas">
          <svg
            class="map"
            data-testid="service-map"
            viewBox={`0 0 ${layout.width} ${layout.height}`}
            width={layout.width}
            height={layout.height}
            role="group"
            aria-label="Service map"
          >
            <defs>
              {['sr-good', 'sr-warn', 'sr-bad', 'sr-none'].map((c) => (
                <marker id={`arrow-${c}`} viewBox="0 0 10 10" refX="9" refY="5" markerWidth="7" markerHeight="7" orient="auto-start-reverse">
                  <path d="M0,0 L10,5 L0,10 z" class={`arrowhead ${c}`} />
                </marker>
              ))}
            </defs>
            {layout.groups.map((g) => (
              <g class="ns-group">
                <rect x={g.x} y={g.y} width={g.width} height={g.height} rx={10} />
                <text x={g.x + 14} y={g.y + 22}>
                  {g.label}
                </text>
              </g>
            ))}
            {layout.edges.map((e) => {
              const c = successClass(e.edge.successRate);
              const width = Math.min(6, 1.5 + Math.log10(1 + e.edge.rps) * 2);
              return (
                <g
                  class={`edge ${c}`}
                  tabIndex={0}
                  role="button"
                  data-from={e.from}
                  data-to={e.to}
                  aria-label={`${e.from} to ${e.to}: ${e.label}`}
                  onClick={() => openEdge(e.edge)}
                  onKeyDown={(ev) => ev.key === 'Enter' && openEdge(e.edge)}
                >
                  <title>{`${e.from} → ${e.to}\n${e.label}\n${e.edge.requests} requests · ${e.edge.protocols.join(', ')}`}</title>
                  <path d={e.d} class="edge-hit" />
                  <path d={e.d} class="edge-line" style={{ strokeWidth: `${width}px` }} marker-end={`url(#arrow-${c})`} />
                  <rect x={e.labelX} y={e.labelY} width={e.labelWidth} height={18} rx={4} class="edge-label-bg" />
                  <text x={e.labelX + e.labelWidth / 2} y={e.labelY + 13} class="edge-label">
                    {e.label}
                  </text>
                </g>
              );
            })}
            {layout.nodes.map((n) => (
              <g
                class={`node ${n.end.meshed ? 'meshed' : 'unmeshed'}`}
                tabIndex={n.end.meshed ? 0 : -1}
                role="button"
                data-node={n.id}
                aria-label={`${n.label}${n.end.meshed ? `, tap it` : ''}`}
                onClick={() => openNode(n)}
                onKeyDown={(ev) => ev.key === 'Enter' && openNode(n)}
              >
                <title>{n.end.meshed ? `${n.end.workload} in ${n.end.namespace}: click to tap` : `${n.label} (not meshed)`}</title>
                <rect x={n.x} y={n.y} width={n.width} height={n.height} rx={8} />
                <text x={n.x + 12} y={n.y + 19} class="node-name">
                  {n.label}
                </text>
                <text x={n.x + 12} y={n.y + 36} class="node-stat">
                  {n.rpsIn > 0 ? `${fmtRps(n.rpsIn)} rps in` : n.end.meshed ? 'no requests in' : 'outside the mesh'}
                </text>
              </g>
            ))}
          </svg>
        </div>
      )}
    </div>
  );
}
