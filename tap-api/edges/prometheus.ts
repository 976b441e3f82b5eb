/**
 * Edges and routes from a Prometheus that scrapes the sidecars (`--prometheus URL`): the same
 * series as the tap API's own history (history.ts), as PromQL `increase()` over the window, so
 * computeEdges/computeRoutes read one shape whichever the source. Prometheus extrapolates
 * `increase()` to the window's edges, so counts are estimates there (exact from the sidecars).
 */
import { promQuery, type PromVector } from '../cli/stat.js';
import type { PromSample } from '../cli/stat-metrics.js';
import type { WindowSamples } from './history.js';

const toSamples = (name: string, vectors: PromVector[]): PromSample[] =>
  vectors.map((v) => {
    const { __name__: _n, ...labels } = v.metric;
    return { name, labels, value: Number(v.value[1]) };
  }).filter((s) => Number.isFinite(s.value) && (s.value > 0 || name.endsWith('_bucket'))); // empty buckets place the quantiles

/** The window's samples from Prometheus at `base`. */
export async function prometheusWindow(base: string, windowMs: number): Promise<WindowSamples> {
  const range = `${Math.max(1, Math.round(windowMs / 1000))}s`;
  const upstream = `direction="outbound",peer="dst"`;
  const [responses, buckets, open, written, read] = await Promise.all([
    promQuery(base, `increase(route_response_total[${range}])`),
    promQuery(base, `increase(route_response_latency_ms_bucket[${range}])`),
    promQuery(base, `tcp_open_connections{${upstream}}`),
    promQuery(base, `increase(tcp_write_bytes_total{${upstream}}[${range}])`),
    promQuery(base, `increase(tcp_read_bytes_total{${upstream}}[${range}])`),
  ]);
  return {
    samples: [
      ...toSamples('route_response_total', responses),
      ...toSamples('route_response_latency_ms_bucket', buckets),
      ...toSamples('tcp_open_connections', open),
      ...toSamples('tcp_write_bytes_total', written),
      ...toSamples('tcp_read_bytes_total', read),
    ],
    windowMs,
    unreachable: [],
  };
}
