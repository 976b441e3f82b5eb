/**
 * The report's arithmetic and the tools' output parsers, on fixed inputs: medians, ratios
 * to direct and haproxy of the same run, goal verdicts, and the text wrk/h2load/iperf3 print.
 */
import { describe, expect, it } from 'vitest';
import { parseH2load, parseH2loadLog, parseIperf3, parseWrk, percentile } from './loads.js';
import { checkGoals, median, summarize, verdict } from './report.js';
import type { BenchResults, RunRecord } from './results.js';

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
    expect(goals.get('meshtap-js: live tap with bodies costs ≤ 20% throughput (HTTP/1 small)')!.pass).toBe(false);
    expect(goals.get('meshtap-js: RSS under load ≤ 80 MB (absolute, as the issues state it)')!.pass).toBe(true);
    expect(goals.get('meshtap-js: h2 small max rps ≥ 0.8× direct')!.pass).toBeUndefined();
    expect(goals.get('meshtap-native: HTTP/1 small max rps ≥ 1.0× haproxy')!.display).toBe('not measured');
  });

  it('says by how much each goal is met or missed, relative to its bound', () => {
    const goals = new Map(checkGoals(rows).map((g) => [g.goal, g]));
    const cpu = goals.get("meshtap-js: proxy CPU per small HTTP/1 request ≤ 1.5× haproxy's")!; // 20.5 / 13 = 1.577×
    expect(cpu.margin).toBeCloseTo(1 - 20.5 / 13 / 1.5);
    expect(verdict(cpu)).toBe('MISSED by 5 %');
    const rps = goals.get('meshtap-js: HTTP/1 small max rps ≥ 0.7× haproxy')!; // 19000 / 25000 = 0.76×
    expect(verdict(rps)).toBe('met, 9 % to spare');
    expect(verdict(goals.get('meshtap-native: HTTP/1 small max rps ≥ 1.0× haproxy')!)).toBe('n/a');
  });
});
