/**
 * Edges and routes from a Prometheus that scrapes the sidecars (`--prometheus URL`): the same
 * series as the tap API's own history (history.ts), as PromQL `increase()` over the window, so
 * computeEdges/computeRoutes read one shape whichever the source. Prometheus extrapolates
 * `increase()` to the window's edges, so counts are estimates there (exact from the sidecars).
 *
 * A series that first appears inside the window (a route's first request, a first failure) has no
 * increase of its own: `increase()` starts at its first sample, so the requests that made it were
 * not counted, and the route was missing until it grew again (sec10). The sidecars create a series
 * at its first count, from zero: such a series counts its whole value (`windowIncrease`).
 */
import { promQuery, type PromVector } from '../cli/stat.js';
import type { PromSample } from '../cli/stat-metrics.js';
import type { WindowSamples } from './history.js';

const toSamples = (name: string, vectors: PromVector[]): PromSample[] =>
  vectors.map((v) => {
    const { __name__: _n, ...labels } = v.metric;
    return { name, labels, value: Number(v.value[1]) };
  }).filter((s) => Number.isFinite(s.value) && (s.value > 0 || name.endsWith('_bucket'))); // empty buckets place the quantiles

/**
 * A counter's increase over `range`: `increase()` for the series that existed at the window's start,
 * the whole value for those that did not (created from zero inside the window).
 */
export function windowIncrease(series: string, range: string): string {
  return `(increase(${series}[${range}]) and ${series} offset ${range}) or (${series} unless ${series} offset ${range})`;
}

/** The window's samples from Prometheus at `base`. */
export async function prometheusWindow(base: string, windowMs: number): Promise<WindowSamples> {
  const range = `${Math.max(1, Math.round(windowMs / 1000))}s`;
  const upstream = `direction="outbound",peer="dst"`;
  const [responses, buckets, open, written, read] = await Promise.all([
    promQuery(base, windowIncrease('route_response_total', range)),
    promQuery(base, windowIncrease('route_response_latency_ms_bucket', range)),
    promQuery(base, `tcp_open_connections{${upstream}}`),
    promQuery(base, windowIncrease(`tcp_write_bytes_total{${upstream}}`, range)),
    promQuery(base, windowIncrease(`tcp_read_bytes_total{${upstream}}`, range)),
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
