import { describe, expect, it } from 'vitest';
import { createProxyMetrics, LATENCY_BUCKETS_MS } from './metrics.js';

/** Parses Prometheus text into `name{labels} -> value`. */
async function scrape(m: ReturnType<typeof createProxyMetrics>): Promise<Map<string, number>> {
  const out = new Map<string, number>();
  for (const line of (await m.registry.metrics()).split('\n')) {
    if (!line || line.startsWith('#')) continue;
    const i = line.lastIndexOf(' ');
    out.set(line.slice(0, i), Number(line.slice(i + 1)));
  }
  return out;
}
const find = (s: Map<string, number>, name: string, ...parts: string[]) =>
  [...s.entries()].filter(([k]) => k.startsWith(name + '{') && parts.every((p) => k.includes(p)));

describe('proxy metrics', () => {
  const workload = { namespace: 'emojivoto', workloadKind: 'deployment', workloadName: 'web', pod: 'web-1' };
  /** One finished exchange through the path the engines use (route cursor and all); status 0: no response. */
  const exchange = (m: ReturnType<typeof createProxyMetrics>, status: number, latencyMs: number, grpcStatus?: number): void =>
    m.httpRoute('in', 'web:80', '10.0.0.1:80').exchange(m.routes.cursor('inbound', '10.0.0.1:80'), 'GET', '/', grpcStatus === undefined ? 'http/1.1' : 'grpc', status, grpcStatus, status === 0 ? undefined : latencyMs, false);

  it('counts requests and classifies responses the Linkerd way, with workload labels', async () => {
    const m = createProxyMetrics(workload);
    for (let i = 0; i < 3; i++) m.request('in', 'web:80', '10.0.0.1:80');
    exchange(m, 200, 4);
    exchange(m, 503, 4);
    exchange(m, 200, 4, 14);
    exchange(m, 200, 4, 5);
    exchange(m, 0, 0);
    const s = await scrape(m);
    expect(find(s, 'request_total', 'deployment="web"', 'namespace="emojivoto"', 'pod="web-1"')[0][1]).toBe(3);
    const total = (...p: string[]) => find(s, 'response_total', ...p).reduce((a, [, v]) => a + v, 0);
    expect(total('classification="success"')).toBe(2); // 200, and gRPC NOT_FOUND (not a failure code)
    expect(total('classification="failure"')).toBe(3); // 503, gRPC UNAVAILABLE, no response
    expect(total('grpc_status="14"', 'classification="failure"')).toBe(1);
  });

  it('keeps a cumulative latency histogram with Linkerd buckets, leaving out exchanges with no response', async () => {
    const m = createProxyMetrics(workload);
    for (const ms of [0.5, 1, 7, 7, 45, 60000]) exchange(m, 200, ms);
    exchange(m, 0, 0);
    const s = await scrape(m);
    const bucket = (le: string) => find(s, 'response_latency_ms_bucket', `le="${le}"`, 'status_code="200"')[0][1];
    expect(find(s, 'response_latency_ms_bucket', 'status_code="200"').length).toBe(LATENCY_BUCKETS_MS.length + 1);
    expect(bucket('1')).toBe(2);
    expect(bucket('5')).toBe(2);
    expect(bucket('10')).toBe(4);
    expect(bucket('50')).toBe(5);
    expect(bucket('50000')).toBe(5);
    expect(bucket('+Inf')).toBe(6);
    expect(find(s, 'response_latency_ms_count', 'status_code="200"')[0][1]).toBe(6);
    expect(find(s, 'response_latency_ms_sum', 'status_code="200"')[0][1]).toBeCloseTo(60060.5);
    expect(find(s, 'response_latency_ms_count', 'status_code=""')).toEqual([]);
  });

  it('bounds authority label values and counts when the bound is hit', async () => {
    const m = createProxyMetrics(workload, { maxAuthorities: 3 });
    for (let i = 0; i < 10; i++) m.request('in', `evil-${i}.example`, '10.0.0.1:80');
    const s = await scrape(m);
    expect(find(s, 'request_total').length).toBe(4); // three authorities and `overflow`
    expect(find(s, 'request_total', 'authority="overflow"')[0][1]).toBe(7);
    expect(find(s, 'meshtap_bound_hit_total', 'bound="metric-authorities"')[0][1]).toBe(7);
  });

  // Regression: with the TCP label bound reached and no `overflow` series yet, tcpStats called
  // itself forever (stack overflow on the js engine's accept path).
  it('bounds TCP target labels: past the bound, connections count under target_addr="overflow"', async () => {
    const m = createProxyMetrics(workload, { maxAuthorities: 3 });
    for (let i = 0; i < 10; i++) m.tcpStats('out', `10.0.0.${i}:80`, 'dst').opened++;
    const s = await scrape(m);
    expect(find(s, 'tcp_open_total', 'target_addr="overflow"')[0][1]).toBe(7);
    expect(find(s, 'meshtap_bound_hit_total', 'bound="metric-targets"')[0][1]).toBe(7);
  });
});
