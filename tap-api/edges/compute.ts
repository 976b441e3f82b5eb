/**
 * Edges and routes from the sidecars' route and TCP series over a window (DESIGN §11). Input:
 * each series' increase over the window (counters) or its last value (gauges), labelled as the
 * sidecars expose them (docs/edges-api.md), whether they were scraped or came from PromQL.
 *
 * Each request is counted once: by the caller's sidecar (outbound series) whenever the caller is
 * meshed, by the callee's (inbound series) only for callers no sidecar owns. A sidecar's own
 * workload comes from its default labels (`namespace`, `deployment`/…/`pod`); a peer's from the
 * series' `dst_*`/`src_*` labels, else from `resolve` (the tap API's registry or pod IPs), else it
 * is unmeshed and named by its address.
 */
import type { PromSample } from '../cli/stat-metrics.js';
import { histogramQuantile } from '../cli/stat-metrics.js';
import type { Edge, EdgeEnd, EdgeProtocol, LatencyPercentiles, RouteStats } from '../server/edges-wire.js';
import { UNMESHED_ADDRESS } from '../server/edges-wire.js';

export interface PeerName {
  namespace: string;
  /** `deploy/web`; a bare pod: `pod/NAME`. */
  workload: string;
}

/** Names an address (`ip:port` of a destination, or a caller's IP); undefined = unmeshed. */
export type AddressResolver = (address: string) => PeerName | undefined;

/** The label naming a sidecar's own workload, by kind, and the TYPE the CLI writes. */
const OWN_WORKLOAD_LABELS: ReadonlyArray<[label: string, short: string]> = [
  ['deployment', 'deploy'],
  ['statefulset', 'sts'],
  ['daemonset', 'ds'],
  ['job', 'job'],
  ['cronjob', 'cronjob'],
  ['replicaset', 'rs'],
  ['pod', 'pod'],
];

/** The workload a series' sidecar belongs to, from its default labels. */
export function ownWorkload(labels: Record<string, string>): PeerName | undefined {
  const namespace = labels.namespace;
  if (!namespace) return undefined;
  for (const [label, short] of OWN_WORKLOAD_LABELS) if (labels[label]) return { namespace, workload: `${short}/${labels[label]}` };
  return undefined;
}

interface Accumulator {
  src: EdgeEnd;
  dst: EdgeEnd;
  protocols: Set<EdgeProtocol>;
  ports: Set<number>;
  success: number;
  failure: number;
  buckets: Map<number, number>;
  tcpOpen?: number;
  bytes?: { sent: number; received: number };
  observedBy: 'outbound' | 'inbound';
}

const endKey = (e: EdgeEnd): string => (e.meshed ? `${e.namespace}/${e.workload}` : `@${e.address}`);
const meshedEnd = (p: PeerName): EdgeEnd => ({ namespace: p.namespace, workload: p.workload, meshed: true });
const unmeshedEnd = (address: string, expand: boolean): EdgeEnd => ({ address: expand ? address : UNMESHED_ADDRESS, meshed: false });

function labelledPeer(labels: Record<string, string>, side: 'dst' | 'src'): PeerName | undefined {
  const namespace = labels[`${side}_namespace`];
  const workload = labels[`${side}_workload`];
  return namespace && workload ? { namespace, workload } : undefined;
}

function percentiles(buckets: Map<number, number>): LatencyPercentiles {
  const b = [...buckets].map(([le, count]) => ({ le, count }));
  const out: LatencyPercentiles = {};
  const p50 = histogramQuantile(0.5, b);
  const p95 = histogramQuantile(0.95, b);
  const p99 = histogramQuantile(0.99, b);
  if (p50 !== undefined) out.p50 = p50;
  if (p95 !== undefined) out.p95 = p95;
  if (p99 !== undefined) out.p99 = p99;
  return out;
}

/** The port of a `target_addr` (`ip:port`, `[v6]:port`). */
function addPort(ports: Set<number>, targetAddr: string | undefined): void {
  const port = Number(targetAddr?.slice(targetAddr.lastIndexOf(':') + 1));
  if (Number.isInteger(port) && port > 0 && port < 65536) ports.add(port);
}

const isProtocol = (p: string | undefined): p is EdgeProtocol => p === 'http/1.1' || p === 'http/1.0' || p === 'h2' || p === 'grpc';

/** The (src, dst, observer) a route or TCP series belongs to; undefined = counted elsewhere. */
function endsOf(s: PromSample, resolve: AddressResolver, expand: boolean): { src: EdgeEnd; dst: EdgeEnd; observedBy: 'outbound' | 'inbound' } | undefined {
  const self = ownWorkload(s.labels);
  if (!self) return undefined;
  if (s.labels.direction === 'outbound') {
    const target = s.labels.target_addr ?? '';
    const dst = labelledPeer(s.labels, 'dst') ?? resolve(target);
    return { src: meshedEnd(self), dst: dst ? meshedEnd(dst) : unmeshedEnd(target, expand), observedBy: 'outbound' };
  }
  if (s.labels.direction === 'inbound' && s.labels.src_addr !== undefined) {
    const caller = labelledPeer(s.labels, 'src') ?? resolve(s.labels.src_addr);
    if (caller) return undefined; // a meshed caller's sidecar counted it (outbound)
    return { src: unmeshedEnd(s.labels.src_addr, expand), dst: meshedEnd(self), observedBy: 'inbound' };
  }
  return undefined;
}

export interface EdgeOptions {
  windowMs: number;
  resolve: AddressResolver;
  /** List unmeshed peers by address instead of one `unmeshed` end. */
  expandUnmeshed: boolean;
}

/**
 * Edges from window deltas of `route_response_total`, `route_response_latency_ms_bucket`,
 * `tcp_open_connections`, `tcp_write_bytes_total`, `tcp_read_bytes_total` (other samples ignored).
 */
export function computeEdges(samples: PromSample[], o: EdgeOptions): Edge[] {
  const acc = new Map<string, Accumulator>();
  const get = (src: EdgeEnd, dst: EdgeEnd, observedBy: 'outbound' | 'inbound'): Accumulator => {
    const k = `${endKey(src)}\u0000${endKey(dst)}`;
    let a = acc.get(k);
    if (!a) {
      a = { src, dst, protocols: new Set(), ports: new Set(), success: 0, failure: 0, buckets: new Map(), observedBy };
      acc.set(k, a);
    }
    return a;
  };
  for (const s of samples) {
    if (s.name === 'route_response_total' || s.name === 'route_response_latency_ms_bucket') {
      const ends = endsOf(s, o.resolve, o.expandUnmeshed);
      if (!ends) continue;
      const a = get(ends.src, ends.dst, ends.observedBy);
      if (isProtocol(s.labels.protocol) && s.value > 0) a.protocols.add(s.labels.protocol);
      if (s.name === 'route_response_total') {
        if (s.labels.classification === 'success') a.success += s.value;
        else a.failure += s.value;
        addPort(a.ports, s.labels.target_addr);
      } else {
        const le = s.labels.le === '+Inf' ? Infinity : Number(s.labels.le);
        a.buckets.set(le, (a.buckets.get(le) ?? 0) + s.value);
      }
    } else if ((s.name === 'tcp_open_connections' || s.name === 'tcp_write_bytes_total' || s.name === 'tcp_read_bytes_total') && s.labels.direction === 'outbound' && s.labels.peer === 'dst') {
      // The sidecar's upstream leg: written = src → dst, read = dst → src.
      const ends = endsOf(s, o.resolve, o.expandUnmeshed);
      if (!ends) continue;
      const a = get(ends.src, ends.dst, ends.observedBy);
      a.bytes ??= { sent: 0, received: 0 };
      if (s.value > 0) addPort(a.ports, s.labels.target_addr);
      a.tcpOpen ??= 0;
      if (s.name === 'tcp_open_connections') a.tcpOpen += s.value;
      else if (s.name === 'tcp_write_bytes_total') a.bytes.sent += s.value;
      else a.bytes.received += s.value;
    }
  }
  const edges: Edge[] = [];
  for (const a of acc.values()) {
    const requests = a.success + a.failure;
    // A TCP series of a connection that moved nothing and is closed is no edge in this window.
    if (requests === 0 && !a.tcpOpen && !(a.bytes && a.bytes.sent + a.bytes.received > 0)) continue;
    const protocols: EdgeProtocol[] = a.protocols.size > 0 ? [...a.protocols].sort() : ['tcp'];
    const e: Edge = {
      src: a.src,
      dst: a.dst,
      protocols,
      ports: [...a.ports].sort((x, y) => x - y),
      requests,
      rps: o.windowMs > 0 ? requests / (o.windowMs / 1000) : 0,
      latencyMs: percentiles(a.buckets),
      observedBy: a.observedBy,
    };
    if (requests > 0) e.successRate = a.success / requests;
    if (a.tcpOpen !== undefined) e.tcpOpen = a.tcpOpen;
    if (a.bytes) e.bytes = a.bytes;
    edges.push(e);
  }
  const name = (e: EdgeEnd): string => (e.meshed ? `${e.namespace}\u0000${e.workload}` : `\uffff${e.address}`);
  return edges.sort((x, y) => name(x.src).localeCompare(name(y.src)) || name(x.dst).localeCompare(name(y.dst)));
}

/** Which routes: those `workload` served (inbound), or those it called on `to` (outbound). */
export interface RouteQuery {
  self: PeerName;
  to?: PeerName;
  windowMs: number;
  resolve: AddressResolver;
}

/** Routes from window deltas of `route_response_total` and `route_response_latency_ms_bucket`. */
export function computeRoutes(samples: PromSample[], q: RouteQuery): RouteStats[] {
  const acc = new Map<string, { method: string; route: string; protocols: Set<EdgeProtocol>; dst?: EdgeEnd; success: number; failure: number; buckets: Map<number, number> }>();
  for (const s of samples) {
    if (s.name !== 'route_response_total' && s.name !== 'route_response_latency_ms_bucket') continue;
    const own = ownWorkload(s.labels);
    if (!own || own.namespace !== q.self.namespace || own.workload !== q.self.workload) continue;
    let dst: EdgeEnd | undefined;
    if (q.to) {
      if (s.labels.direction !== 'outbound') continue;
      const d = labelledPeer(s.labels, 'dst') ?? q.resolve(s.labels.target_addr ?? '');
      if (!d || d.namespace !== q.to.namespace || d.workload !== q.to.workload) continue;
      dst = meshedEnd(d);
    } else if (s.labels.direction !== 'inbound') continue;
    const method = s.labels.method ?? '';
    const route = s.labels.route ?? '';
    const k = `${method} ${route}`;
    let a = acc.get(k);
    if (!a) {
      a = { method, route, protocols: new Set(), success: 0, failure: 0, buckets: new Map(), ...(dst ? { dst } : {}) };
      acc.set(k, a);
    }
    if (isProtocol(s.labels.protocol) && s.value > 0) a.protocols.add(s.labels.protocol);
    if (s.name === 'route_response_total') {
      if (s.labels.classification === 'success') a.success += s.value;
      else a.failure += s.value;
    } else {
      const le = s.labels.le === '+Inf' ? Infinity : Number(s.labels.le);
      a.buckets.set(le, (a.buckets.get(le) ?? 0) + s.value);
    }
  }
  const out: RouteStats[] = [];
  for (const a of acc.values()) {
    const requests = a.success + a.failure;
    if (requests === 0) continue;
    out.push({
      method: a.method,
      route: a.route,
      protocols: [...a.protocols].sort(),
      ...(a.dst ? { dst: a.dst } : {}),
      requests,
      rps: q.windowMs > 0 ? requests / (q.windowMs / 1000) : 0,
      successRate: a.success / requests,
      latencyMs: percentiles(a.buckets),
    });
  }
  return out.sort((x, y) => y.requests - x.requests || x.method.localeCompare(y.method) || x.route.localeCompare(y.route));
}

/** Whether an edge belongs to a namespace scope (either end in it) and, if given, touches a workload. */
export function edgeInScope(e: Edge, namespace: string | undefined, workload: string | undefined): boolean {
  const touches = (end: EdgeEnd): boolean => end.meshed && (namespace === undefined || end.namespace === namespace) && (workload === undefined || end.workload === workload);
  return touches(e.src) || touches(e.dst);
}
