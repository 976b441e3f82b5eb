/**
 * The report's arithmetic and the tools' output parsers, on fixed inputs: medians, ratios
 * to direct and haproxy of the same run, goal verdicts, and the text wrk/h2load/iperf3 print.
 */
import { describe, expect, it } from 'vitest';
import { parseH2load, parseH2loadLog, parseIperf3, parseWrk, percentile } from './loads.js';
import { renderMarkdown } from './markdown.js';
import { checkGoals, median, summarize, verdict } from './report.js';
import type { BenchResults, RunRecord } from './results.js';
import { tapCosts } from './tap-cost.js';
import { countTapNotes } from './targets.js';

const WRK = `Running 3s test @ http://127.0.0.1:40000/
  1 threads and 32 connections
  Thread Stats   Avg      Stdev     Max   +/- Stdev
    Latency     1.10ms  300.00us   9.00ms   90.00%
    Req/Sec    29.00k     1.00k   31.00k    70.00%
  87000 requests in 3.00s, 18.00MB read
  Non-2xx or 3xx responses: 5
Requests/sec:  29000.00
Transfer/sec:      6.00MB
`;

const H2LOAD = `finished in 3.00s, 12000.00 req/s, 1.35MB/s
requests: 36000 total, 36128 started, 36000 done, 35990 succeeded, 10 failed, 0 errored, 0 timeout
status codes: 35990 2xx, 0 3xx, 0 4xx, 10 5xx
`;

describe('tool output parsers', () => {
  it('reads wrk totals and counts non-2xx as errors', () => {
    expect(parseWrk(WRK)).toEqual({ units: 87000, durationS: 3, perSecond: 29000, errors: 5 });
    expect(parseWrk('Socket errors: connect 1, read 2, write 0, timeout 3\n  10 requests in 500.00ms, 1KB read').errors).toBe(6);
  });

  it('reads h2load succeeded requests and counts failures plus 4xx/5xx as errors', () => {
    expect(parseH2load(H2LOAD)).toEqual({ units: 35990, durationS: 3, perSecond: 35990 / 3, errors: 20 });
  });

  it('fails with the tool output when the format is not recognised', () => {
    expect(() => parseWrk('unable to connect to 127.0.0.1:1 Connection refused')).toThrow(/Connection refused/);
    expect(() => parseH2load('')).toThrow(/cannot read h2load output/);
    expect(() => parseIperf3('{"error":"unable to connect to server"}')).toThrow(/unable to connect/);
  });

  it('takes latency percentiles from the per-request log in µs', () => {
    const lines = Array.from({ length: 1000 }, (_, i) => `1795405091041060\t200\t${(i + 1) * 10}`);
    const l = parseH2loadLog(lines.reverse().join('\n') + '\n');
    expect(l).toEqual({ p50: 5, p99: 9.9, p999: 9.99, samples: 1000 });
  });

  it('reads iperf3 JSON as MiB and seconds', () => {
    const r = parseIperf3(JSON.stringify({ end: { sum_received: { bytes: 3 * 1024 * 1024 * 1024, seconds: 3 } } }));
    expect(r).toEqual({ units: 3072, durationS: 3, perSecond: 1024, errors: 0 });
  });

  it('uses nearest-rank percentiles and true medians', () => {
    expect(percentile([1, 2, 3, 4], 50)).toBe(2);
    expect(percentile([], 50)).toBeNaN();
    expect(median([3, 1, 2])).toBe(2);
    expect(median([4, 1, 2, 3])).toBe(2.5);
  });
});

function results(runs: Partial<RunRecord>[]): BenchResults {
  return {
    format: 'meshtap-bench',
    version: 1,
    startedAt: '2026-01-01T00:00:00.000Z',
    quick: false,
    shape: { repeats: 3, durationS: 3, warmupS: 1, rateRps: 2000 },
    machine: { cores: 2, cpuModel: 'x', kernel: 'k', node: 'v20', loadAvgStart: [0, 0, 0], tools: {} },
    pinning: { note: 'off' },
    scenarios: [{ name: 'h1-small', title: 't', protocol: 'h1', loads: ['max'] }],
    targets: ['direct', 'meshtap-js', 'meshtap-js-fwd', 'meshtap-js-tap', 'haproxy'].map((id) => ({ id, description: id })),
    skipped: [],
    idleRss: [],
    runs: runs.map((r, i) => ({ scenario: 'h1-small', load: 'max', repeat: i, ...r }) as RunRecord),
  };
}

const ok = (target: string, perSecond: number, cpuUsPerUnit?: number, peakRssBytes?: number): Partial<RunRecord> => ({
  target,
  result: { tool: 'wrk', units: perSecond * 3, durationS: 3, perSecond, errors: 0 },
  cpuUsPerUnit,
  peakRssBytes,
});

describe('summary and goals', () => {
  const r = results([
    ok('direct', 60000), ok('direct', 40000), ok('direct', 50000),
    ok('haproxy', 30000, 13), ok('haproxy', 20000, 14), ok('haproxy', 25000, 12),
    ok('meshtap-js', 20000, 20, 50 * 1024 * 1024), ok('meshtap-js', 18000, 21, 70 * 1024 * 1024), { target: 'meshtap-js', error: 'wrk exited with code 1' },
    ok('meshtap-js-fwd', 24000, 15), ok('meshtap-js-tap', 15000, 30),
  ]);
  const rows = summarize(r);

  it('takes medians over repeats with min–max and ratios to direct and haproxy of the same run', () => {
    const js = rows.find((x) => x.target === 'meshtap-js')!;
    expect(js.perSecond).toEqual({ median: 19000, min: 18000, max: 20000 });
    expect(js.okRuns).toBe(2);
    expect(js.failedRuns).toBe(1);
    expect(js.firstError).toBe('wrk exited with code 1');
    expect(js.ratioDirect).toBeCloseTo(19000 / 50000);
    expect(js.ratioHaproxy).toBeCloseTo(19000 / 25000);
    expect(js.cpuUsPerUnit).toBe(20.5);
    expect(js.peakRssMB).toBe(70);
    expect(rows.map((x) => x.target)).toEqual(['direct', 'meshtap-js', 'meshtap-js-fwd', 'meshtap-js-tap', 'haproxy']);
  });

  it('evaluates the js goals and leaves unmeasured ones open', () => {
    const goals = new Map(checkGoals(rows).map((g) => [g.goal, g]));
    expect(goals.get('meshtap-js: HTTP/1 small max rps ≥ 0.7× haproxy')!.pass).toBe(true);
    expect(goals.get("meshtap-js: proxy CPU per small HTTP/1 request ≤ 1.5× haproxy's")!.value).toBeCloseTo(20.5 / 13); // against haproxy of the same run
    expect(goals.get('meshtap-js: as shipped ≥ 0.75× forwarding only (HTTP/1 small)')!.value).toBeCloseTo(19000 / 24000);
    expect(goals.get('meshtap-js: live tap with bodies at the default 100/s costs ≤ 20% throughput (HTTP/1 small)')!.pass).toBe(false);
    expect(goals.get('meshtap-js: RSS under load ≤ 80 MB (absolute, as the issues state it)')!.pass).toBe(true);
    expect(goals.get('meshtap-js: h2 small max rps ≥ 0.8× direct')!.pass).toBeUndefined();
    expect(goals.get('meshtap-native: HTTP/1 small max rps ≥ 1.0× haproxy (13)')!.display).toBe('not measured');
    expect(goals.get('meshtap-native: RSS under load ≤ 60 MB, every scenario (13, 14)')!.display).toBe('not measured');
  });

  it('says by how much each goal is met or missed, relative to its bound', () => {
    const goals = new Map(checkGoals(rows).map((g) => [g.goal, g]));
    const cpu = goals.get("meshtap-js: proxy CPU per small HTTP/1 request ≤ 1.5× haproxy's")!; // 20.5 / 13 = 1.577×
    expect(cpu.margin).toBeCloseTo(1 - 20.5 / 13 / 1.5);
    expect(verdict(cpu)).toBe('MISSED by 5 %');
    const rps = goals.get('meshtap-js: HTTP/1 small max rps ≥ 0.7× haproxy')!; // 19000 / 25000 = 0.76×
    expect(verdict(rps)).toBe('met, 9 % to spare');
    expect(verdict(goals.get('meshtap-native: HTTP/1 small max rps ≥ 1.0× haproxy (13)')!)).toBe('n/a');
  });
});

describe('native goals of issue 14, against peers of the same run', () => {
  const run = (scenario: string, load: RunRecord['load'], target: string, perSecond: number, extra: Partial<RunRecord> = {}): Partial<RunRecord> => ({
    scenario, load, target, result: { tool: 'h2load', units: perSecond * 3, durationS: 3, perSecond, errors: 0, ...(extra.result ?? {}) }, ...extra,
  });
  const lat = (p99: number) => ({ result: { tool: 'h2load', units: 6000, durationS: 3, perSecond: 2000, errors: 0, latencyMs: { p50: 1, p99, p999: p99 * 2, samples: 6000 } } });
  const r = results([
    run('h2-small', 'max', 'direct', 40000), run('h2-small', 'max', 'meshtap-native', 36000, { cpuUsPerUnit: 9, peakRssBytes: 55 * 2 ** 20 }), run('h2-small', 'max', 'haproxy', 30000, { cpuUsPerUnit: 10 }),
    run('h2-small', 'rate', 'meshtap-native', 2000, lat(4)), run('h2-small', 'rate', 'haproxy', 2000, lat(5)),
    run('grpc', 'max', 'meshtap-native', 24000, { cpuUsPerUnit: 12, peakRssBytes: 64 * 2 ** 20 }), run('grpc', 'max', 'meshtap-native-tap', 18000), run('grpc', 'max', 'haproxy', 21000, { cpuUsPerUnit: 11 }),
    run('grpc', 'rate', 'meshtap-native', 2000, lat(6)), run('grpc', 'rate', 'haproxy', 2000, lat(5)),
  ]);
  r.scenarios = [
    { name: 'h2-small', title: 't', protocol: 'h2', loads: ['max', 'rate'] },
    { name: 'grpc', title: 't', protocol: 'grpc', loads: ['max', 'rate'] },
  ];
  r.targets = ['direct', 'meshtap-native', 'meshtap-native-tap', 'haproxy'].map((id) => ({ id, description: id }));
  const goals = new Map(checkGoals(summarize(r)).map((g) => [g.goal, g]));

  it('checks h2 throughput against direct and h2 CPU per request against haproxy', () => {
    expect(goals.get('meshtap-native: h2 small max rps ≥ 0.95× direct (14)')!.value).toBeCloseTo(0.9);
    expect(goals.get('meshtap-native: h2 small max rps ≥ 0.95× direct (14)')!.pass).toBe(false);
    expect(goals.get("meshtap-native: proxy CPU per small h2 request ≤ 1.0× haproxy's (14)")!.value).toBeCloseTo(0.9);
  });

  it('checks gRPC against haproxy (1.2× its rate, at most its CPU per call) and what a tap with bodies costs', () => {
    const rps = goals.get('meshtap-native: gRPC unary max rps ≥ 1.2× haproxy (14)')!;
    expect(rps.value).toBeCloseTo(24000 / 21000);
    expect(verdict(rps)).toBe('MISSED by 5 %');
    expect(goals.get("meshtap-native: proxy CPU per gRPC unary call ≤ 1.0× haproxy's (14)")!.pass).toBe(false);
    const tap = goals.get('meshtap-native: live tap with bodies at the default 100/s costs ≤ 20% throughput (gRPC unary) (14)')!;
    expect(tap.value).toBeCloseTo(0.25);
    expect(verdict(tap)).toBe('MISSED by 25 %');
    expect(goals.get('meshtap-native: live tap with bodies at the default 100/s costs ≤ 20% throughput (HTTP/1 small) (14)')!.display).toBe('not measured');
  });

  it('checks p99 at the fixed rate per protocol and RSS per scenario', () => {
    expect(goals.get("meshtap-native: p99 at a fixed rate ≤ 1.0× haproxy's (h2 small) (14)")!.pass).toBe(true);
    expect(goals.get("meshtap-native: p99 at a fixed rate ≤ 1.0× haproxy's (gRPC unary) (14)")!.value).toBeCloseTo(1.2);
    expect(goals.get('meshtap-native: RSS under load ≤ 60 MB (h2 small) (13, 14)')!.pass).toBe(true);
    expect(goals.get('meshtap-native: RSS under load ≤ 60 MB (gRPC unary) (13, 14)')!.pass).toBe(false);
  });
});

describe('what a live tap costs (informational rows)', () => {
  // the lead's 19:45 figures (session 7, load 0.6): HTTP/1 small, tap at --max-rps 100: max-load
  // cost 5 %, CPU per request at 2,000 req/s 103.6 µs tapped vs 30.1 as shipped, RSS 111 MB
  const r = results([
    { ...ok('meshtap-native', 20000, 9, 48 * 2 ** 20), repeat: 0 },
    { ...ok('meshtap-native-tap', 19000, 12, 111 * 2 ** 20), repeat: 0 }, // the same repeat: one per-repeat value
    { target: 'meshtap-native-tap', repeat: 1, error: 'wrk exited with code 1' },
    ok('meshtap-native-tap-all', 12000, 30, 130 * 2 ** 20),
    { ...ok('meshtap-native', 2000, 30.1), load: 'rate' },
    { ...ok('meshtap-native-tap', 2000, 103.6), load: 'rate', tap: { events: 600, dropped: 0, rateLimited: 5400, withBodies: 600 } },
    { ...ok('meshtap-native-tap-all', 2000, 160.2), load: 'rate' },
    { ...ok('meshtap-js', 15000), tap: undefined },
  ]);
  r.scenarios = [{ name: 'h1-small', title: 't', protocol: 'h1', loads: ['max', 'rate'] }];
  r.targets = ['meshtap-js', 'meshtap-native', 'meshtap-native-tap', 'meshtap-native-tap-all'].map((id) => ({ id, description: id }));
  const rows = summarize(r);

  it('gives max-load cost of both variants, CPU per request at the fixed rate and RSS per engine and scenario', () => {
    const tc = tapCosts(rows);
    expect(tc).toHaveLength(1); // js: as shipped ran, but no tapped variant
    const n = tc[0];
    expect([n.engine, n.scenario]).toEqual(['native', 'h1-small']);
    expect(n.maxCost.tap).toBeCloseTo(0.05, 12);
    expect(n.maxCost.all).toBeCloseTo(0.4, 12);
    expect(n.rateCpuUs).toEqual({ shipped: 30.1, tap: 103.6, all: 160.2 });
    expect(n.peakRssMB).toEqual({ shipped: 48, tap: 111, all: 130 });
  });

  it('renders them beside the goals, with ratios to as shipped, and counts what --max-rps left out', () => {
    const md = renderMarkdown(r);
    expect(md).toContain('### What a live tap with bodies costs (informational, not goals)');
    expect(md).toContain('| native · h1-small | 5 % / 40 % | 30.1 · 103.6 (3.44×) · 160.2 (5.32×) | 48 · 111 · 130 |');
    expect(md).toContain('tap got 600 events (600 with a response body), 5400 left out by its --max-rps, 0 dropped');
    expect(md).toContain('| meshtap-native: live tap with bodies at the default 100/s costs ≤ 20% throughput (HTTP/1 small) (14) | 5% cost | met, 75 % to spare | 5% cost … 5% cost (1) |');
  });

  it('tells the tap client’s two kinds of drops apart, as tap-view words them', () => {
    const text =
      'meshtap: 5400 exchanges dropped by --max-rps 100 (raise it to see more)\n' +
      'meshtap: 12 events dropped: the tap could not keep up (narrow the filters or lower --max-rps)\n' +
      'meshtap: 3 exchanges dropped by --max-rps 100 (raise it to see more)\n';
    expect(countTapNotes(text)).toEqual({ dropped: 12, rateLimited: 5403 });
    expect(countTapNotes('meshtap: history begins at 20:01:02\n')).toEqual({ dropped: 0, rateLimited: 0 });
  });
});
