/**
 * Linkerd's HTTP metrics (`request_total`, `response_total`, `response_latency_ms`) kept as
 * plain numbers per label set and rendered only when scraped.
 *
 * Why not prom-client's Counter/Histogram here: their children hash the label object on every
 * `inc`/`observe` (~2 µs per request on this machine), and these run once per exchange on the
 * data path. Here a request costs a Map lookup and a few additions; the cost moves to the scrape.
 * The objects still live in the prom-client registry (as custom metrics), so /metrics is one
 * exposition with the default labels applied.
 */
import type * as prom from 'prom-client';
import type { UnprocessedReason } from '../tap-protocol/index.js';

/** Requests the server never processed, by reason (counted in `requests`, never in `responses`). */
export type UnprocessedCounts = Record<UnprocessedReason, number>;

export interface HttpRouteStats {
  requests: number;
  unprocessed: UnprocessedCounts;
  /** By a number packing status, gRPC status and classification (no string built per response). */
  responses: Map<number, { labels: Record<string, string>; count: number }>;
  /** By status code (0 for none). */
  latency: Map<number, { labels: Record<string, string>; buckets: Float64Array; sum: number; count: number }>;
  readonly labels: Record<string, string>;
  /** The last response counter and latency histogram used: a connection repeating one outcome skips both Map lookups. */
  lastKey: number;
  lastResponse: { labels: Record<string, string>; count: number } | undefined;
  lastStatus: number;
  lastLatency: { labels: Record<string, string>; buckets: Float64Array; sum: number; count: number } | undefined;
}

/** The histogram bucket of `latencyMs` (index into `bounds`, or `bounds.length` for +Inf): found once per exchange, used by every histogram it lands in. */
export function latencyBucket(bounds: Float64Array, latencyMs: number): number {
  let i = 0;
  while (i < bounds.length && latencyMs > bounds[i]!) i++;
  return i;
}

const UNPROCESSED_REASONS: readonly UnprocessedReason[] = ['refused', 'goaway'];

type MetricValue = { labels: Record<string, string>; value: number; metricName?: string };

/** A metric object the prom-client registry renders (it calls `get()` at scrape time). */
function customMetric(name: string, help: string, type: 'counter' | 'histogram', values: () => MetricValue[]): prom.Metric {
  return {
    name,
    help,
    type,
    aggregator: 'sum',
    get: async () => ({ name, help, type, aggregator: 'sum', values: values() }),
    reset() {},
  } as unknown as prom.Metric;
}

/**
 * HTTP metrics counted elsewhere (the native engine's, in C++), read at scrape and shown merged
 * with these: a series both hold is one series, its counts summed.
 */
export interface ExternalHttpRoutes {
  routes: ReadonlyArray<{
    direction: string;
    authority: string;
    target: string;
    requests: number;
    /** Absent: none. */
    unprocessed?: Readonly<UnprocessedCounts>;
    responses: ReadonlyArray<{ status: number; grpcStatus?: number; failure: boolean; count: number }>;
    latency: ReadonlyArray<{ status: number; buckets: readonly number[]; sum: number; count: number }>;
  }>;
}

export interface HttpMetrics {
  /** The stats of one (direction, authority, target) route, created on first use. */
  route(direction: string, authority: string, targetAddr: string): HttpRouteStats;
  /** Another source of the same metrics, merged in at scrape (`read` is called once per metric per scrape). */
  setSource(read: () => ExternalHttpRoutes | undefined): void;
  /** The same with the classification and the latency's bucket (`latencyBucket`) already known. */
  countResponse(route: HttpRouteStats, status: number, failure: boolean, grpcStatus: number | undefined, latencyMs: number | undefined, bucket: number): void;
  /** The latency buckets' upper bounds. */
  readonly bounds: Float64Array;
}

/**
 * One number per (status, grpc-status, classification), distinct for every value the observers
 * give: a status has 3 digits (0-999) and a grpc-status up to 10 (proxy/h2/grpc-status.ts; -1 for
 * none: grpc + 1 <= 1e10 < 2^34), so `(status * 2^34 + grpc + 1) * 2 + failure` stays below 2^53 and
 * no two triples meet.
 * (It was `(status * 32 + grpc + 1) << 1`: codes of 31 or more met another status's key and the
 * 32-bit shift wrapped large codes onto small ones; the first to come named the series.)
 */
const responseKey = (status: number, grpcStatus: number | undefined, failure: boolean): number => (status * 0x400000000 + (grpcStatus ?? -1) + 1) * 2 + (failure ? 1 : 0);

/** `routes` with `ext`'s routes added (copies where both hold a route: `routes` is never changed). */
function mergeRoutes(routes: Map<string, HttpRouteStats>, ext: ExternalHttpRoutes | undefined, buckets: number): Iterable<HttpRouteStats> {
  if (ext === undefined || ext.routes.length === 0) return routes.values();
  const out = new Map(routes);
  for (const x of ext.routes) {
    const key = `${x.direction}|${x.authority}|${x.target}`;
    const own = out.get(key);
    const labels = own?.labels ?? { direction: x.direction, authority: x.authority, target_addr: x.target };
    const unprocessed = { refused: (own?.unprocessed.refused ?? 0) + (x.unprocessed?.refused ?? 0), goaway: (own?.unprocessed.goaway ?? 0) + (x.unprocessed?.goaway ?? 0) };
    const r: HttpRouteStats = { requests: (own?.requests ?? 0) + x.requests, unprocessed, responses: new Map(), latency: new Map(), labels, lastKey: -1, lastResponse: undefined, lastStatus: -1, lastLatency: undefined };
    for (const [k, v] of own?.responses ?? []) r.responses.set(k, { labels: v.labels, count: v.count });
    for (const [k, v] of own?.latency ?? []) r.latency.set(k, { labels: v.labels, buckets: Float64Array.from(v.buckets), sum: v.sum, count: v.count });
    for (const v of x.responses) {
      const k = responseKey(v.status, v.grpcStatus, v.failure);
      const c = r.responses.get(k);
      if (c) c.count += v.count;
      else {
        const grpc = v.grpcStatus === undefined ? '' : String(v.grpcStatus);
        r.responses.set(k, { labels: { ...labels, status_code: v.status ? String(v.status) : '', classification: v.failure ? 'failure' : 'success', grpc_status: grpc }, count: v.count });
      }
    }
    for (const v of x.latency) {
      let h = r.latency.get(v.status);
      if (!h) {
        h = { labels: { ...labels, status_code: v.status ? String(v.status) : '' }, buckets: new Float64Array(buckets), sum: 0, count: 0 };
        r.latency.set(v.status, h);
      }
      for (let i = 0; i < buckets; i++) h.buckets[i]! += v.buckets[i] ?? 0;
      h.sum += v.sum;
      h.count += v.count;
    }
    out.set(key, r);
  }
  return out.values();
}

export function createHttpMetrics(registry: prom.Registry, bucketsMs: readonly number[]): HttpMetrics {
  const routes = new Map<string, HttpRouteStats>();
  const bounds = Float64Array.from(bucketsMs);
  const leLabels = [...bucketsMs.map(String), '+Inf'];
  let source: (() => ExternalHttpRoutes | undefined) | undefined;
  const allRoutes = (): Iterable<HttpRouteStats> => mergeRoutes(routes, source?.(), leLabels.length);

  registry.registerMetric(
    customMetric('request_total', 'Total count of HTTP requests', 'counter', () => [...allRoutes()].filter((r) => r.requests > 0).map((r) => ({ labels: r.labels, value: r.requests }))),
  );
  registry.registerMetric(
    customMetric('response_total', 'Total count of HTTP responses', 'counter', () => {
      const out: MetricValue[] = [];
      for (const r of allRoutes()) for (const v of r.responses.values()) out.push({ labels: v.labels, value: v.count });
      return out;
    }),
  );
  registry.registerMetric(
    customMetric(
      'meshtap_unprocessed_requests_total',
      'HTTP/2 requests the server did not process (reason: refused, RST_STREAM REFUSED_STREAM before a response; goaway, above the last-stream-id of its GOAWAY): in request_total, not in response_total (a client may send them again, RFC 9113 §8.7)',
      'counter',
      () => {
        const out: MetricValue[] = [];
        for (const r of allRoutes()) {
          for (const reason of UNPROCESSED_REASONS) if (r.unprocessed[reason] > 0) out.push({ labels: { ...r.labels, reason }, value: r.unprocessed[reason] });
        }
        return out;
      },
    ),
  );
  registry.registerMetric(
    customMetric('response_latency_ms', 'Elapsed times between a request being sent and its response headers being received, in milliseconds', 'histogram', () => {
      const out: MetricValue[] = [];
      for (const r of allRoutes()) {
        for (const h of r.latency.values()) {
          let cumulative = 0;
          for (let i = 0; i < leLabels.length; i++) {
            cumulative += h.buckets[i];
            out.push({ metricName: 'response_latency_ms_bucket', labels: { ...h.labels, le: leLabels[i] }, value: cumulative });
          }
          out.push({ metricName: 'response_latency_ms_sum', labels: h.labels, value: h.sum });
          out.push({ metricName: 'response_latency_ms_count', labels: h.labels, value: h.count });
        }
      }
      return out;
    }),
  );

  const countResponse: HttpMetrics['countResponse'] = (r, status, failure, grpcStatus, latencyMs, bucket) => {
    const key = responseKey(status, grpcStatus, failure);
    let c = key === r.lastKey ? r.lastResponse : r.responses.get(key);
    if (!c) {
      const grpc = grpcStatus === undefined ? '' : String(grpcStatus);
      c = { labels: { ...r.labels, status_code: status ? String(status) : '', classification: failure ? 'failure' : 'success', grpc_status: grpc }, count: 0 };
      r.responses.set(key, c);
    }
    r.lastKey = key;
    r.lastResponse = c;
    c.count++;
    if (latencyMs === undefined) return;
    let h = status === r.lastStatus ? r.lastLatency : r.latency.get(status);
    if (!h) {
      h = { labels: { ...r.labels, status_code: status ? String(status) : '' }, buckets: new Float64Array(bounds.length + 1), sum: 0, count: 0 };
      r.latency.set(status, h);
    }
    r.lastStatus = status;
    r.lastLatency = h;
    h.buckets[bucket]++;
    h.sum += latencyMs;
    h.count++;
  };

  return {
    route(direction, authority, targetAddr) {
      const key = `${direction}|${authority}|${targetAddr}`;
      let r = routes.get(key);
      if (!r) {
        r = { requests: 0, unprocessed: { refused: 0, goaway: 0 }, responses: new Map(), latency: new Map(), labels: { direction, authority, target_addr: targetAddr }, lastKey: -1, lastResponse: undefined, lastStatus: -1, lastLatency: undefined };
        routes.set(key, r);
      }
      return r;
    },
    countResponse,
    bounds,
    setSource(read) {
      source = read;
    },
  };
}
