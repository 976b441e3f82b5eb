/**
 * `meshtap edges` and `meshtap routes`: ask the tap API (or kube-apiserver's aggregated API, or
 * a Prometheus directly) and print Linkerd-shaped tables (`linkerd viz edges`, `viz routes`).
 */
import { MeshtapError } from '../../common/index.js';
import { escapeForTerminal } from './format.js';
import { computeEdges, computeRoutes, edgeInScope } from '../edges/compute.js';
import { prometheusWindow } from '../edges/prometheus.js';
import { fetchEdges, fetchRoutes, type EdgesConnection } from './edges-client.js';
import { formatTarget, parseTarget } from '../server/targets.js';
import {
  type Edge,
  type EdgeEnd,
  type EdgeList,
  type LatencyPercentiles,
  type RouteList,
} from '../server/index.js';

/** Where the numbers come from: the tap API / cluster (under RBAC), or a Prometheus directly. */
export type EdgesSource = { connection: EdgesConnection } | { prometheus: string };

export interface EdgesRequest {
  /** Undefined with `allNamespaces`. */
  namespace?: string;
  allNamespaces?: boolean;
  window: string;
  windowMs: number;
  workload?: string;
  expandUnmeshed?: boolean;
}

/** The edges of a namespace (or all), from the tap API or Prometheus. */
export async function getEdges(source: EdgesSource, q: EdgesRequest): Promise<EdgeList> {
  if ('connection' in source) {
    return fetchEdges(source.connection, {
      ...(q.namespace ? { namespace: q.namespace } : {}),
      ...(q.allNamespaces ? { allNamespaces: true } : {}),
      window: q.window,
      ...(q.workload ? { workload: q.workload } : {}),
      ...(q.expandUnmeshed ? { expandUnmeshed: true } : {}),
    });
  }
  const data = await prometheusWindow(source.prometheus, q.windowMs);
  const namespace = q.allNamespaces ? undefined : (q.namespace ?? 'default');
  const items = computeEdges(data.samples, { windowMs: data.windowMs, resolve: () => undefined, expandUnmeshed: q.expandUnmeshed === true }).filter((e) =>
    edgeInScope(e, namespace, q.workload),
  );
  return { kind: 'EdgeList', apiVersion: 'tap.meshtap.dev/v1alpha1', window: q.window, windowMs: data.windowMs, ...(namespace ? { namespace } : {}), source: 'prometheus', items };
}

export interface RoutesRequest {
  namespace: string;
  workload: string;
  to?: string;
  toNamespace?: string;
  window: string;
  windowMs: number;
}

/** The routes a workload served (or called on `to`), from the tap API or Prometheus. */
export async function getRoutes(source: EdgesSource, q: RoutesRequest): Promise<RouteList> {
  if ('connection' in source) {
    return fetchRoutes(source.connection, { namespace: q.namespace, workload: q.workload, window: q.window, ...(q.to ? { to: q.to } : {}), ...(q.toNamespace ? { toNamespace: q.toNamespace } : {}) });
  }
  const canonical = (text: string): string => {
    const t = parseTarget(text);
    if (!t.ok) throw new MeshtapError('MT_USAGE', t.error);
    return formatTarget(t.value);
  };
  const workload = canonical(q.workload);
  const to = q.to ? { namespace: q.toNamespace ?? q.namespace, workload: canonical(q.to) } : undefined;
  const data = await prometheusWindow(source.prometheus, q.windowMs);
  const items = computeRoutes(data.samples, { self: { namespace: q.namespace, workload }, ...(to ? { to } : {}), windowMs: data.windowMs, resolve: () => undefined });
  return {
    kind: 'RouteList',
    apiVersion: 'tap.meshtap.dev/v1alpha1',
    window: q.window,
    windowMs: data.windowMs,
    namespace: q.namespace,
    workload,
    direction: to ? 'outbound' : 'inbound',
    ...(to ? { to: { ...to, meshed: true } } : {}),
    source: 'prometheus',
    items,
  };
}

const ms = (v?: number): string => (v === undefined ? '-' : `${v < 10 ? v.toFixed(1) : Math.round(v)}ms`);
const pct = (v?: number): string => (v === undefined ? '-' : `${(v * 100).toFixed(2)}%`);
const rps = (v: number): string => `${v.toFixed(1)}rps`;
const name = (e: EdgeEnd): string => (e.meshed ? e.workload! : e.address!);
const ns = (e: EdgeEnd): string => (e.meshed ? e.namespace! : '-');
const latency = (l: LatencyPercentiles, which: 'p50' | 'p95' | 'p99'): string => ms(l[which]);

/** Cells come from the wire (a route is a request's path): escaped, never obeyed by the terminal. */
function table(head: string[], cellRows: string[][]): string {
  const rows = cellRows.map((r) => r.map(escapeForTerminal));
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  return [head, ...rows].map((line) => line.map((c, i) => c.padEnd(widths[i]!)).join('   ').trimEnd()).join('\n') + '\n';
}

/**
 * `linkerd viz edges`-shaped table; `wide` adds P95 (between P50 and P99, as Linkerd viz orders
 * latencies), the request count, bytes and which sidecar observed.
 */
export function renderEdgesTable(edges: Edge[], wide: boolean): string {
  const latencies = wide ? (['p50', 'p95', 'p99'] as const) : (['p50', 'p99'] as const);
  const head = ['SRC', 'DST', 'SRC_NS', 'DST_NS', 'PROTO', 'SUCCESS', 'RPS', ...latencies.map((p) => p.toUpperCase()), 'TCP'];
  if (wide) head.push('REQUESTS', 'BYTES_SENT', 'BYTES_RECV', 'OBSERVED_BY');
  const rows = edges.map((e) => {
    const row = [name(e.src), name(e.dst), ns(e.src), ns(e.dst), e.protocols.join(','), pct(e.successRate), rps(e.rps), ...latencies.map((p) => latency(e.latencyMs, p)), e.tcpOpen === undefined ? '-' : String(e.tcpOpen)];
    if (wide) row.push(String(Math.round(e.requests)), e.bytes ? String(Math.round(e.bytes.sent)) : '-', e.bytes ? String(Math.round(e.bytes.received)) : '-', e.observedBy);
    return row;
  });
  return table(head, rows);
}

/** `linkerd viz routes`-shaped table; `wide` adds the protocol and request count. */
export function renderRoutesTable(list: RouteList, wide: boolean): string {
  const head = ['ROUTE', 'METHOD', ...(list.to ? ['DST'] : []), 'SUCCESS', 'RPS', 'P50', 'P95', 'P99'];
  if (wide) head.push('PROTO', 'REQUESTS');
  const rows = list.items.map((r) => {
    const row = [r.route, r.method, ...(list.to ? [r.dst ? name(r.dst) : '-'] : []), pct(r.successRate), rps(r.rps), latency(r.latencyMs, 'p50'), latency(r.latencyMs, 'p95'), latency(r.latencyMs, 'p99')];
    if (wide) row.push(r.protocols.join(','), String(Math.round(r.requests)));
    return row;
  });
  return table(head, rows);
}

/** Keeps edges with a meshed end of this kind (`deploy`, …) and, if given, name, in scope. */
export function edgesOfType(edges: Edge[], kind: string | undefined, nameFilter: string | undefined, namespace: string | undefined): Edge[] {
  if (!kind) return edges;
  const match = (e: EdgeEnd): boolean => e.meshed && (namespace === undefined || e.namespace === namespace) && e.workload!.startsWith(`${kind}/`) && (nameFilter === undefined || e.workload === `${kind}/${nameFilter}`);
  return edges.filter((e) => match(e.src) || match(e.dst));
}
