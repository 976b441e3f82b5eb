import { describe, expect, it } from 'vitest';
import { computeStats, histogramQuantile, parsePromText, renderStatTable, type SidecarScrape } from './stat-metrics.js';

const BUCKETS = [1, 2, 3, 4, 5, 10, 20, 30, 40, 50, 100, 200, 300, 400, 500, 1000, 2000, 3000, 4000, 5000, 10000, 20000, 30000, 40000, 50000];

/** Renders a sidecar's /metrics text like the Linkerd-named exposition (inbound only). */
function exposition(o: { success: number; failure: number; latencies: number[]; tcp: number; extraOutbound?: number }): string {
  const l = 'direction="inbound",authority="web",namespace="shop",deployment="web",pod="web-1"';
  const lines = [
    '# HELP response_total Responses',
    '# TYPE response_total counter',
    `response_total{${l},status_code="200",classification="success",grpc_status=""} ${o.success}`,
    `response_total{${l},status_code="503",classification="failure",grpc_status=""} ${o.failure}`,
    `response_total{direction="outbound",authority="x",classification="failure"} ${o.extraOutbound ?? 0}`,
  ];
  for (const le of [...BUCKETS.map(String), '+Inf']) {
    const n = o.latencies.filter((v) => le === '+Inf' || v <= Number(le)).length;
    lines.push(`response_latency_ms_bucket{le="${le}",${l}} ${n}`);
  }
  lines.push(`tcp_open_connections{${l},peer="src"} ${o.tcp}`, `tcp_open_connections{${l},peer="dst"} 99`);
  return lines.join('\n') + '\n';
}

describe('Prometheus text parsing', () => {
  it('reads names, labels with escapes, +Inf and skips comments/timestamps', () => {
    const s = parsePromText('# HELP x y\nx_total{a="1",b="q\\"uote\\\\",c="l\\nf"} 3 1700000000000\nbucket{le="+Inf"} +Inf\nnolabels 4.5\ngarbage line here\n');
    expect(s).toEqual([
      { name: 'x_total', labels: { a: '1', b: 'q"uote\\', c: 'l\nf' }, value: 3 },
      { name: 'bucket', labels: { le: '+Inf' }, value: Infinity },
      { name: 'nolabels', labels: {}, value: 4.5 },
    ]);
  });
});

describe('histogram_quantile', () => {
  it('interpolates within the bucket like PromQL', () => {
    // 10 observations in (0,10], 10 in (10,20]
    const b = [
      { le: 10, count: 10 },
      { le: 20, count: 20 },
      { le: Infinity, count: 20 },
    ];
    expect(histogramQuantile(0.5, b)).toBe(10);
    expect(histogramQuantile(0.75, b)).toBe(15);
    expect(histogramQuantile(0.25, b)).toBe(5);
  });
  it('answers the highest finite bound when the rank falls in +Inf, undefined without data', () => {
    expect(histogramQuantile(0.99, [{ le: 10, count: 1 }, { le: Infinity, count: 10 }])).toBe(10);
    expect(histogramQuantile(0.5, [{ le: 10, count: 0 }, { le: Infinity, count: 0 }])).toBeUndefined();
  });
});

describe('computeStats over two scrapes', () => {
  it('uses deltas: success rate, RPS, percentiles, TCP gauge; outbound ignored', () => {
    const before = parsePromText(exposition({ success: 100, failure: 10, latencies: Array(110).fill(3), tcp: 1 }));
    // +30 successes, +10 failures in 10 s; new latencies: 20 at 3 ms... all within (2,3], 20 at (40,50]
    const after = parsePromText(exposition({ success: 130, failure: 20, latencies: [...Array(130).fill(3), ...Array(20).fill(45)], tcp: 4, extraOutbound: 500 }));
    const scrapes: SidecarScrape[] = [{ namespace: 'shop', group: 'deploy/web', before, after }];
    const [row] = computeStats(scrapes, 10_000);
    expect(row).toMatchObject({ namespace: 'shop', name: 'deploy/web', meshed: { ok: 1, total: 1 }, successRate: 0.75, rps: 4, tcpConnections: 4 });
    expect(row!.latencyMsP50).toBeCloseTo(2 + (3 - 2) * (20 / 20), 5); // rank 20 of 40 -> top of (2,3]
    expect(row!.latencyMsP95).toBeCloseTo(40 + (50 - 40) * ((38 - 20) / 20), 5);
  });

  it('a counter that went down (sidecar restarted) counts from zero; a failed scrape lowers MESHED', () => {
    const before = parsePromText(exposition({ success: 1000, failure: 0, latencies: [], tcp: 0 }));
    const after = parsePromText(exposition({ success: 5, failure: 5, latencies: [], tcp: 0 }));
    const rows = computeStats(
      [
        { namespace: 'shop', group: 'deploy/web', before, after },
        { namespace: 'shop', group: 'deploy/web', before },
      ],
      1000,
    );
    expect(rows[0]).toMatchObject({ meshed: { ok: 1, total: 2 }, successRate: 0.5, rps: 10 });
  });

  it('no requests: success and latency unknown, shown as -', () => {
    const m = parsePromText(exposition({ success: 1, failure: 0, latencies: [1], tcp: 2 }));
    const rows = computeStats([{ namespace: 'shop', group: 'deploy/api', before: m, after: m }], 1000);
    expect(rows[0]!.successRate).toBeUndefined();
    const table = renderStatTable(rows);
    expect(table.split('\n')[0]).toMatch(/^NAMESPACE\s+NAME\s+MESHED\s+SUCCESS\s+RPS\s+LATENCY_P50\s+LATENCY_P95\s+LATENCY_P99\s+TCP_CONN$/);
    expect(table.split('\n')[1]).toMatch(/^shop\s+deploy\/api\s+1\/1\s+-\s+0\.0rps\s+-\s+-\s+-\s+2$/);
  });
});
