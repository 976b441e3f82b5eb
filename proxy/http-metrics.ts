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

export interface HttpRouteStats {
  requests: number;
  /** By a number packing status, gRPC status and classification (no string built per response). */
  responses: Map<number, { labels: Record<string, string>; count: number }>;
  /** By status code (0 for none). */
  latency: Map<number, { labels: Record<string, string>; buckets: Float64Array; sum: number; count: number }>;
  readonly labels: Record<string, string>;
}

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

export interface HttpMetrics {
  /** The stats of one (direction, authority, target) route, created on first use. */
  route(direction: string, authority: string, targetAddr: string): HttpRouteStats;
  observeResponse(route: HttpRouteStats, status: number, classification: 'success' | 'failure', grpcStatus: number | undefined, latencyMs: number | undefined): void;
}

export function createHttpMetrics(registry: prom.Registry, bucketsMs: readonly number[]): HttpMetrics {
  const routes = new Map<string, HttpRouteStats>();
  const bounds = Float64Array.from(bucketsMs);
  const leLabels = [...bucketsMs.map(String), '+Inf'];

  registry.registerMetric(
    customMetric('request_total', 'Total count of HTTP requests', 'counter', () => [...routes.values()].filter((r) => r.requests > 0).map((r) => ({ labels: r.labels, value: r.requests }))),
  );
  registry.registerMetric(
    customMetric('response_total', 'Total count of HTTP responses', 'counter', () => {
      const out: MetricValue[] = [];
      for (const r of routes.values()) for (const v of r.responses.values()) out.push({ labels: v.labels, value: v.count });
      return out;
    }),
  );
  registry.registerMetric(
    customMetric('response_latency_ms', 'Elapsed times between a request being sent and its response headers being received, in milliseconds', 'histogram', () => {
      const out: MetricValue[] = [];
      for (const r of routes.values()) {
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

  return {
    route(direction, authority, targetAddr) {
      const key = `${direction}|${authority}|${targetAddr}`;
      let r = routes.get(key);
      if (!r) {
        r = { requests: 0, responses: new Map(), latency: new Map(), labels: { direction, authority, target_addr: targetAddr } };
        routes.set(key, r);
      }
      return r;
    },
    observeResponse(r, status, classification, grpcStatus, latencyMs) {
      const key = ((status * 32 + (grpcStatus ?? -1) + 1) << 1) | (classification === 'failure' ? 1 : 0);
      let c = r.responses.get(key);
      if (!c) {
        const grpc = grpcStatus === undefined ? '' : String(grpcStatus);
        c = { labels: { ...r.labels, status_code: status ? String(status) : '', classification, grpc_status: grpc }, count: 0 };
        r.responses.set(key, c);
      }
      c.count++;
      if (latencyMs === undefined) return;
      let h = r.latency.get(status);
      if (!h) {
        h = { labels: { ...r.labels, status_code: status ? String(status) : '' }, buckets: new Float64Array(bounds.length + 1), sum: 0, count: 0 };
        r.latency.set(status, h);
      }
      let i = 0;
      while (i < bounds.length && latencyMs > bounds[i]) i++;
      h.buckets[i]++;
      h.sum += latencyMs;
      h.count++;
    },
  };
}
