/**
 * Turns raw runs into the report: per scenario and load, each target's median with min–max,
 * ratios to `direct` and to haproxy from the same run, proxy CPU per request (the most
 * stable figure on a shared machine), RSS, latency percentiles, and the targets as
 * pass/fail lines. Pure functions over BenchResults, so any results file can be re-rendered.
 */
import type { BenchResults, RunRecord } from './results.js';
import type { LoadKind, Protocol } from './scenarios.js';

/** One row of the report: a target under one load of one scenario, over its repeats. */
export interface SummaryRow {
  scenario: string;
  load: LoadKind;
  target: string;
  okRuns: number;
  failedRuns: number;
  firstError?: string;
  perSecond?: { median: number; min: number; max: number };
  ratioDirect?: number;
  ratioHaproxy?: number;
  cpuUsPerUnit?: number;
  peakRssMB?: number;
  idleRssMB?: number;
  latencyMs?: { p50: number; p99: number; p999: number };
  addedP50Ms?: number;
  errors: number;
  tap?: { events: number; dropped: number };
}

export function median(xs: number[]): number {
  if (xs.length === 0) return NaN;
  const s = [...xs].sort((a, b) => a - b);
  const mid = Math.floor(s.length / 2);
  return s.length % 2 ? s[mid] : (s[mid - 1] + s[mid]) / 2;
}

const MB = 1024 * 1024;

/** The haproxy target ratios are taken against, by protocol. */
export function haproxyTargetFor(p: Protocol): string {
  return p === 'tcp' ? 'haproxy-tcp' : 'haproxy';
}

/** Summarises every (scenario, load, target) that has at least one run. */
export function summarize(results: BenchResults): SummaryRow[] {
  const rows: SummaryRow[] = [];
  for (const sc of results.scenarios) {
    for (const load of sc.loads) {
      const byTarget = new Map<string, RunRecord[]>();
      for (const r of results.runs) {
        if (r.scenario !== sc.name || r.load !== load) continue;
        byTarget.set(r.target, [...(byTarget.get(r.target) ?? []), r]);
      }
      const scRows: SummaryRow[] = [];
      for (const [target, runs] of byTarget) {
        const ok = runs.filter((r) => !r.error && r.result);
        const rates = ok.map((r) => r.result!.perSecond);
        const cpu = ok.map((r) => r.cpuUsPerUnit).filter((x): x is number => x !== undefined);
        const rss = ok.map((r) => r.peakRssBytes).filter((x): x is number => x !== undefined);
        const lat = ok.map((r) => r.result!.latencyMs).filter((x) => x !== undefined);
        const idle = results.idleRss.find((i) => i.scenario === sc.name && i.target === target);
        const taps = runs.map((r) => r.tap).filter((x) => x !== undefined);
        scRows.push({
          scenario: sc.name,
          load,
          target,
          okRuns: ok.length,
          failedRuns: runs.length - ok.length,
          firstError: runs.find((r) => r.error)?.error,
          perSecond: rates.length ? { median: median(rates), min: Math.min(...rates), max: Math.max(...rates) } : undefined,
          cpuUsPerUnit: cpu.length ? median(cpu) : undefined,
          peakRssMB: rss.length ? Math.max(...rss) / MB : undefined,
          idleRssMB: idle ? idle.rssBytes / MB : undefined,
          latencyMs: lat.length ? { p50: median(lat.map((l) => l.p50)), p99: median(lat.map((l) => l.p99)), p999: median(lat.map((l) => l.p999)) } : undefined,
          errors: ok.reduce((n, r) => n + r.result!.errors, 0),
          tap: taps.length ? { events: taps.reduce((n, t) => n + t.events, 0), dropped: taps.reduce((n, t) => n + t.dropped, 0) } : undefined,
        });
      }
      const direct = scRows.find((r) => r.target === 'direct');
      const hap = scRows.find((r) => r.target === haproxyTargetFor(sc.protocol));
      for (const r of scRows) {
        if (r.perSecond && direct?.perSecond) r.ratioDirect = r.perSecond.median / direct.perSecond.median;
        if (r.perSecond && hap?.perSecond) r.ratioHaproxy = r.perSecond.median / hap.perSecond.median;
        if (r.latencyMs && direct?.latencyMs) r.addedP50Ms = r.latencyMs.p50 - direct.latencyMs.p50;
      }
      const order = results.targets.map((t) => t.id);
      scRows.sort((a, b) => order.indexOf(a.target) - order.indexOf(b.target));
      rows.push(...scRows);
    }
  }
  return rows;
}

/** One of the goals, evaluated on this run. `value` undefined = could not be checked. */
export interface GoalCheck {
  goal: string;
  value?: number;
  display: string;
  pass?: boolean;
  /**
   * How far the value is from the goal's bound, relative to the bound: > 0 met with that much
   * to spare, < 0 missed by that much (1.10× against "≤ 1.0×" is -0.10: missed by 10 %).
   */
  margin?: number;
}

/** "met, 12 % to spare" / "missed by 10 %" / "n/a". */
export function verdict(g: GoalCheck): string {
  if (g.pass === undefined || g.margin === undefined) return 'n/a';
  const pct = `${Math.abs(g.margin * 100).toFixed(0)} %`;
  return g.pass ? `met, ${pct} to spare` : `MISSED by ${pct}`;
}

function row(rows: SummaryRow[], scenario: string, load: LoadKind, target: string): SummaryRow | undefined {
  return rows.find((r) => r.scenario === scenario && r.load === load && r.target === target);
}

/**
 * The engines' goals (js: issue 3; native: issue 13), each a ratio to a peer measured in the
 * same run (absolute µs move ±20-30 % between runs and machines here), except RSS.
 */
export function checkGoals(rows: SummaryRow[]): GoalCheck[] {
  const out: GoalCheck[] = [];
  /** A goal `value ≥ bound` (`atLeast`) or `value ≤ bound` (`atMost`). */
  const add = (goal: string, value: number | undefined, fmt: (v: number) => string, kind: 'atLeast' | 'atMost', bound: number) => {
    if (value === undefined || Number.isNaN(value)) {
      out.push({ goal, value, display: 'not measured' });
      return;
    }
    const margin = kind === 'atLeast' ? value / bound - 1 : 1 - value / bound;
    out.push({ goal, value, display: fmt(value), pass: kind === 'atLeast' ? value >= bound : value <= bound, margin });
  };
  const x = (v: number) => `${v.toFixed(2)}×`;
  for (const engine of ['js', 'native'] as const) {
    const id = `meshtap-${engine}`;
    const strict = engine === 'native';
    const h1 = row(rows, 'h1-small', 'max', id);
    add(`${id}: HTTP/1 small max rps ≥ ${strict ? '1.0' : '0.7'}× haproxy`, h1?.ratioHaproxy, x, 'atLeast', strict ? 1.0 : 0.7);
    /** `a / b` of the same measure of two targets, when both were measured. */
    const per = (a: number | undefined, b: number | undefined) => (a !== undefined && b !== undefined && b > 0 ? a / b : undefined);
    const cpuVsHaproxy = (scenario: string) => per(row(rows, scenario, 'max', id)?.cpuUsPerUnit, row(rows, scenario, 'max', 'haproxy')?.cpuUsPerUnit);
    const cpuX = (v: number) => `${v.toFixed(2)}× haproxy's`;
    add(`${id}: proxy CPU per small HTTP/1 request ≤ ${strict ? '1.0' : '1.5'}× haproxy's`, cpuVsHaproxy('h1-small'), cpuX, 'atMost', strict ? 1.0 : 1.5);
    if (strict) {
      add(`${id}: proxy CPU per 64 KiB HTTP/1 request ≤ 0.8× haproxy's`, cpuVsHaproxy('h1-64k'), cpuX, 'atMost', 0.8);
      add(`${id}: opaque TCP MiB/s ≥ 1.0× haproxy (TCP mode)`, row(rows, 'tcp', 'stream', id)?.ratioHaproxy, x, 'atLeast', 1.0);
      add(`${id}: gRPC unary max rps ≥ 1.0× haproxy (part 2)`, row(rows, 'grpc', 'max', id)?.ratioHaproxy, x, 'atLeast', 1.0);
      const p99 = per(row(rows, 'h1-small', 'rate', id)?.latencyMs?.p99, row(rows, 'h1-small', 'rate', 'haproxy')?.latencyMs?.p99);
      add(`${id}: p99 at a fixed rate ≤ 1.0× haproxy's (HTTP/1 small)`, p99, (v) => `${v.toFixed(2)}× haproxy's`, 'atMost', 1.0);
    }
    add(`${id}: h2 small max rps ≥ ${strict ? '0.95' : '0.8'}× direct${strict ? ' (part 2)' : ''}`, row(rows, 'h2-small', 'max', id)?.ratioDirect, x, 'atLeast', strict ? 0.95 : 0.8);
    const fwd = row(rows, 'h1-small', 'max', `${id}-fwd`);
    add(
      `${id}: as shipped ≥ ${strict ? '0.95' : '0.75'}× forwarding only (HTTP/1 small)`,
      h1?.perSecond && fwd?.perSecond ? h1.perSecond.median / fwd.perSecond.median : undefined,
      x,
      'atLeast',
      strict ? 0.95 : 0.75,
    );
    const rss = rows.filter((r) => r.target === id && r.peakRssMB !== undefined).map((r) => r.peakRssMB!);
    add(`${id}: RSS under load ≤ ${strict ? 60 : 80} MB (absolute, as the issues state it)`, rss.length ? Math.max(...rss) : undefined, (v) => `${v.toFixed(0)} MB peak`, 'atMost', strict ? 60 : 80);
    const tap = row(rows, 'h1-small', 'max', `${id}-tap`);
    add(
      `${id}: live tap with bodies costs ≤ 20% throughput (HTTP/1 small)`,
      h1?.perSecond && tap?.perSecond ? 1 - tap.perSecond.median / h1.perSecond.median : undefined,
      (v) => `${(v * 100).toFixed(0)}% cost`,
      'atMost',
      0.2,
    );
  }
  return out;
}
