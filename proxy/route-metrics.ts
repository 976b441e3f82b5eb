/**
 * Per-route, per-peer HTTP statistics (DESIGN §11), the data behind `meshtap edges` and
 * `meshtap routes`: `route_response_total` and `route_response_latency_ms` by direction, peer
 * (`target_addr`; inbound also the caller's IP, `src_addr`), method, route template and protocol.
 *
 * Costs per request what http-metrics.ts costs: additions on a record found through a
 * per-connection cursor that remembers its last route, so a keep-alive connection repeating a
 * path (every gRPC client) does no template work, and a new path costs one pass over its
 * characters (route-template.ts) plus a Map lookup. Peer names (`dst_workload`, `src_workload`)
 * are resolved when /metrics is read, never per request, and so name traffic of connections
 * opened before the peer was known (issue 10 item 7c).
 *
 * Bounded: at most `maxRoutes` route records per sidecar and `maxPeers` peers; past either,
 * requests count under route `[other]` (or peer `overflow`) and `meshtap_bound_hit_total` moves.
 */
import type * as prom from 'prom-client';
import type { Protocol } from '../tap-protocol/index.js';
import { latencyBucket } from './http-metrics.js';
import { OTHER_ROUTE, routeTemplate } from './route-template.js';

export type RouteDirection = 'inbound' | 'outbound';

interface RouteRecord {
  readonly method: string;
  readonly route: string;
  readonly protocol: Protocol;
  success: number;
  failure: number;
  readonly buckets: Float64Array;
  sum: number;
  count: number;
}

interface PeerRoutes {
  readonly direction: RouteDirection;
  /** Where the connections went (`target_addr`: outbound, the destination; inbound, the port the pod was reached on). */
  readonly target: string;
  /** Inbound: the caller's IP (`src_addr`). */
  readonly source: string | undefined;
  readonly byRoute: Map<string, RouteRecord[]>;
}

/** One connection's handle on its peer's routes; remembers the last route it hit. */
export interface RouteCursor {
  readonly peer: PeerRoutes;
  lastPath: string | undefined;
  lastMethod: string;
  lastProtocol: Protocol | undefined;
  lastRecord: RouteRecord | undefined;
}

/**
 * Labels naming a peer, resolved at scrape time: `dst_namespace`/`dst_workload` for an outbound
 * `target_addr`, `src_namespace`/`src_workload` for an inbound caller's IP.
 */
export type PeerLabeler = (direction: RouteDirection, address: string) => Record<string, string> | undefined;

/**
 * Route statistics counted elsewhere (the native engine's, in C++), read at scrape and shown
 * merged with these (a series both hold is one series, its counts summed).
 */
export interface ExternalRouteStats {
  peers: ReadonlyArray<{
    direction: RouteDirection;
    target: string;
    source?: string;
    records: ReadonlyArray<{ method: string; route: string; protocol: string; success: number; failure: number; buckets: readonly number[]; sum: number; count: number }>;
  }>;
}

export interface RouteMetrics {
  /** `target`: the connection's destination (`ip:port`); `source`: inbound only, the caller's IP. */
  cursor(direction: RouteDirection, target: string, source?: string): RouteCursor;
  record(cursor: RouteCursor, method: string, path: string, protocol: Protocol, failure: boolean, latencyMs: number | undefined): void;
  /** The same with the latency's bucket (http-metrics.ts `latencyBucket`) already found (one search per exchange for every histogram). */
  recordAt(cursor: RouteCursor, method: string, path: string, protocol: Protocol, failure: boolean, latencyMs: number | undefined, bucket: number): void;
  setPeerLabeler(labeler: PeerLabeler): void;
  /** Another source of the same statistics, merged in at scrape (`read` is called once per metric per scrape). */
  setSource(read: () => ExternalRouteStats | undefined): void;
  /** Route records held (for tests and the bound). */
  readonly size: number;
}

/** Methods kept as label values; any other (clients choose them) reads `OTHER`. */
const METHODS = new Set(['GET', 'HEAD', 'POST', 'PUT', 'DELETE', 'PATCH', 'OPTIONS', 'CONNECT', 'TRACE']);

export const ROUTE_DEFAULTS = { maxRoutes: 200, maxPeers: 1000 };

type MetricValue = { labels: Record<string, string>; value: number; metricName?: string };

function customMetric(name: string, help: string, type: 'counter' | 'histogram', values: () => MetricValue[]): prom.Metric {
  return { name, help, type, aggregator: 'sum', get: async () => ({ name, help, type, aggregator: 'sum', values: values() }), reset() {} } as unknown as prom.Metric;
}

export function createRouteMetrics(
  registry: prom.Registry,
  bucketsMs: readonly number[],
  options: { maxRoutes?: number; maxPeers?: number; onBoundHit(bound: string): void },
): RouteMetrics {
  const maxRoutes = options.maxRoutes ?? ROUTE_DEFAULTS.maxRoutes;
  const maxPeers = options.maxPeers ?? ROUTE_DEFAULTS.maxPeers;
  const bounds = Float64Array.from(bucketsMs);
  const leLabels = [...bucketsMs.map(String), '+Inf'];
  const peers = new Map<string, PeerRoutes>();
  let records = 0;
  let labeler: PeerLabeler = () => undefined;
  let source: (() => ExternalRouteStats | undefined) | undefined;

  /** `peers` with the external source's added (copies where both hold a record: `peers` is never changed). */
  const allPeers = (): Iterable<PeerRoutes> => {
    const ext = source?.();
    if (ext === undefined || ext.peers.length === 0) return peers.values();
    const out = new Map(peers);
    for (const x of ext.peers) {
      const key = x.direction === 'inbound' ? `i|${x.source}|${x.target}` : `o|${x.target}`;
      const own = out.get(key);
      const p: PeerRoutes = { direction: x.direction, target: x.target, source: x.direction === 'inbound' ? x.source : undefined, byRoute: new Map() };
      for (const [route, list] of own?.byRoute ?? []) p.byRoute.set(route, list.map((r) => ({ ...r, buckets: Float64Array.from(r.buckets) })));
      for (const e of x.records) {
        const protocol = e.protocol as Protocol;
        let list = p.byRoute.get(e.route);
        let r = list?.find((y) => y.method === e.method && y.protocol === protocol);
        if (!r) {
          r = { method: e.method, route: e.route, protocol, success: 0, failure: 0, buckets: new Float64Array(bounds.length + 1), sum: 0, count: 0 };
          if (list) list.push(r);
          else p.byRoute.set(e.route, (list = [r]));
        }
        r.success += e.success;
        r.failure += e.failure;
        for (let i = 0; i <= bounds.length; i++) r.buckets[i]! += e.buckets[i] ?? 0;
        r.sum += e.sum;
        r.count += e.count;
      }
      out.set(key, p);
    }
    return out.values();
  };

  const peerOf = (direction: RouteDirection, target: string, source: string | undefined): PeerRoutes => {
    const key = direction === 'inbound' ? `i|${source}|${target}` : `o|${target}`;
    let p = peers.get(key);
    if (p) return p;
    if (peers.size >= maxPeers && target !== 'overflow') {
      options.onBoundHit('route-peers');
      return peerOf(direction, 'overflow', direction === 'inbound' ? 'overflow' : undefined); // one `overflow` peer per direction, past the bound
    }
    p = { direction, target, source, byRoute: new Map() };
    peers.set(key, p);
    return p;
  };

  const recordOf = (p: PeerRoutes, method: string, path: string, protocol: Protocol): RouteRecord => {
    const m = METHODS.has(method) ? method : 'OTHER';
    let route = routeTemplate(path, protocol === 'grpc');
    let list = p.byRoute.get(route);
    let r = list?.find((x) => x.method === m && x.protocol === protocol);
    if (r) return r;
    if (records >= maxRoutes && route !== OTHER_ROUTE) {
      options.onBoundHit('routes');
      route = OTHER_ROUTE;
      list = p.byRoute.get(route);
      r = list?.find((x) => x.method === m && x.protocol === protocol);
      if (r) return r;
    }
    r = { method: m, route, protocol, success: 0, failure: 0, buckets: new Float64Array(bounds.length + 1), sum: 0, count: 0 };
    if (list) list.push(r);
    else p.byRoute.set(route, [r]);
    records++;
    return r;
  };

  const labelsOf = (p: PeerRoutes): Record<string, string> => {
    let named: Record<string, string> | undefined;
    try {
      named = labeler(p.direction, p.direction === 'outbound' ? p.target : p.source!);
    } catch {
      named = undefined; // a naming problem never costs the scrape
    }
    const base: Record<string, string> = p.direction === 'outbound' ? { direction: p.direction, target_addr: p.target } : { direction: p.direction, target_addr: p.target, src_addr: p.source! };
    return named ? { ...base, ...named } : base;
  };

  registry.registerMetric(
    customMetric('route_response_total', 'HTTP/gRPC exchanges per route template and peer, by classification (no response, or one cut short, = failure)', 'counter', () => {
      const out: MetricValue[] = [];
      for (const p of allPeers()) {
        const peerLabels = labelsOf(p);
        for (const list of p.byRoute.values()) {
          for (const r of list) {
            const labels = { ...peerLabels, method: r.method, route: r.route, protocol: r.protocol };
            if (r.success > 0) out.push({ labels: { ...labels, classification: 'success' }, value: r.success });
            if (r.failure > 0) out.push({ labels: { ...labels, classification: 'failure' }, value: r.failure });
          }
        }
      }
      return out;
    }),
  );
  registry.registerMetric(
    customMetric('route_response_latency_ms', 'Request start to response headers per route template and peer, in milliseconds', 'histogram', () => {
      const out: MetricValue[] = [];
      for (const p of allPeers()) {
        const peerLabels = labelsOf(p);
        for (const list of p.byRoute.values()) {
          for (const r of list) {
            if (r.count === 0) continue;
            const labels = { ...peerLabels, method: r.method, route: r.route, protocol: r.protocol };
            let cumulative = 0;
            for (let i = 0; i < leLabels.length; i++) {
              cumulative += r.buckets[i]!;
              out.push({ metricName: 'route_response_latency_ms_bucket', labels: { ...labels, le: leLabels[i]! }, value: cumulative });
            }
            out.push({ metricName: 'route_response_latency_ms_sum', labels, value: r.sum });
            out.push({ metricName: 'route_response_latency_ms_count', labels, value: r.count });
          }
        }
      }
      return out;
    }),
  );

  const recordAt: RouteMetrics['recordAt'] = (c, method, path, protocol, failure, latencyMs, bucket) => {
    let r = c.lastRecord;
    if (r === undefined || path !== c.lastPath || method !== c.lastMethod || protocol !== c.lastProtocol) {
      r = recordOf(c.peer, method, path, protocol);
      c.lastRecord = r;
      c.lastPath = path;
      c.lastMethod = method;
      c.lastProtocol = protocol;
    }
    if (failure) r.failure++;
    else r.success++;
    if (latencyMs === undefined) return;
    r.buckets[bucket]!++;
    r.sum += latencyMs;
    r.count++;
  };

  return {
    cursor: (direction, target, source) => ({ peer: peerOf(direction, target, source), lastPath: undefined, lastMethod: '', lastProtocol: undefined, lastRecord: undefined }),
    record(c, method, path, protocol, failure, latencyMs) {
      recordAt(c, method, path, protocol, failure, latencyMs, latencyMs === undefined ? -1 : latencyBucket(bounds, latencyMs));
    },
    recordAt,
    setPeerLabeler(l) {
      labeler = l;
    },
    setSource(read) {
      source = read;
    },
    get size() {
      return records;
    },
  };
}
