/**
 * Turns raw runs into the report: per scenario and load, each target's median with min–max,
 * ratios to `direct` and to haproxy from the same run, proxy CPU per request (the most
 * stable figure on a shared machine), RSS, latency percentiles, and the targets as
 * pass/fail lines. Pure functions over BenchResults, so any results file can be re-rendered.
 */
import { median } from './median-bracket.js';
import { formatPaired, PAIRED_GOALS, pairedValue, type PairedMeasure } from './paired-goals.js';
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
  tap?: { events: number; dropped: number; rateLimited?: number; withBodies?: number };
}

export { median };

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
          tap: taps.length
            ? {
                events: taps.reduce((n, t) => n + t.events, 0),
                dropped: taps.reduce((n, t) => n + t.dropped, 0),
                rateLimited: taps.some((t) => t.rateLimited !== undefined) ? taps.reduce((n, t) => n + (t.rateLimited ?? 0), 0) : undefined,
                withBodies: taps.some((t) => t.withBodies !== undefined) ? taps.reduce((n, t) => n + (t.withBodies ?? 0), 0) : undefined,
              }
            : undefined,
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

/** A summary row's figure for a paired goal's measure (medians over repeats). */
function measureFromRow(r: SummaryRow | undefined, measure: PairedMeasure): number | undefined {
  if (!r) return undefined;
  if (measure === 'rps') return r.perSecond?.median;
  if (measure === 'cpu') return r.cpuUsPerUnit;
  return r.latencyMs?.p99;
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

/** A goal check builder: `value ≥ bound` (`atLeast`) or `value ≤ bound` (`atMost`). */
function goalList() {
  const out: GoalCheck[] = [];
  const add = (goal: string, value: number | undefined, fmt: (v: number) => string, kind: 'atLeast' | 'atMost', bound: number) => {
    if (value === undefined || Number.isNaN(value)) {
      out.push({ goal, value, display: 'not measured' });
      return;
    }
    const margin = kind === 'atLeast' ? value / bound - 1 : 1 - value / bound;
    out.push({ goal, value, display: fmt(value), pass: kind === 'atLeast' ? value >= bound : value <= bound, margin });
  };
  return { out, add };
}

/** `a / b` of the same measure of two targets, when both were measured. */
const per = (a: number | undefined, b: number | undefined) => (a !== undefined && b !== undefined && b > 0 ? a / b : undefined);
const x = (v: number) => `${v.toFixed(2)}×`;
const xHaproxy = (v: number) => `${v.toFixed(2)}× haproxy's`;
const cost = (v: number) => `${(v * 100).toFixed(0)}% cost`;

/** The scenarios' names in words, for goal lines. */
const SCENARIO_WORDS: Record<string, string> = { 'h1-small': 'HTTP/1 small', 'h1-64k': 'HTTP/1 64 KiB', 'h2-small': 'h2 small', 'h2-64k': 'h2 64 KiB', grpc: 'gRPC unary', tcp: 'opaque TCP' };

/**
 * The engines' goals (js: issue 3; native: issues 13 and 14), each a ratio to a peer measured
 * in the same run (absolute µs move ±20-30 % between runs and machines here), except RSS, which
 * the issues state in MB.
 */
export function checkGoals(rows: SummaryRow[]): GoalCheck[] {
  const { out, add } = goalList();
  const get = (scenario: string, load: LoadKind, target: string) => row(rows, scenario, load, target);
  const cpuVsHaproxy = (id: string, scenario: string) => per(get(scenario, 'max', id)?.cpuUsPerUnit, get(scenario, 'max', 'haproxy')?.cpuUsPerUnit);
  /** 1 − (with a live tap with bodies at the users' default rate) / (as shipped), max load. */
  const tapCost = (id: string, scenario: string) => {
    const shipped = get(scenario, 'max', id)?.perSecond;
    const tapped = get(scenario, 'max', `${id}-tap`)?.perSecond;
    return shipped && tapped ? 1 - tapped.median / shipped.median : undefined;
  };
  const shippedVsFwd = (id: string) => {
    const shipped = get('h1-small', 'max', id)?.perSecond;
    const fwd = get('h1-small', 'max', `${id}-fwd`)?.perSecond;
    return shipped && fwd ? shipped.median / fwd.median : undefined;
  };
  const peakRss = (id: string, scenario?: string) => {
    const rss = rows.filter((r) => r.target === id && (scenario === undefined || r.scenario === scenario) && r.peakRssMB !== undefined).map((r) => r.peakRssMB!);
    return rss.length ? Math.max(...rss) : undefined;
  };
  const mb = (v: number) => `${v.toFixed(0)} MB peak`;

  // js engine: issue 3.
  const js = 'meshtap-js';
  add(`${js}: HTTP/1 small max rps ≥ 0.7× haproxy`, get('h1-small', 'max', js)?.ratioHaproxy, x, 'atLeast', 0.7);
  add(`${js}: proxy CPU per small HTTP/1 request ≤ 1.5× haproxy's`, cpuVsHaproxy(js, 'h1-small'), xHaproxy, 'atMost', 1.5);
  add(`${js}: h2 small max rps ≥ 0.8× direct`, get('h2-small', 'max', js)?.ratioDirect, x, 'atLeast', 0.8);
  add(`${js}: as shipped ≥ 0.75× forwarding only (HTTP/1 small)`, shippedVsFwd(js), x, 'atLeast', 0.75);
  add(`${js}: RSS under load ≤ 80 MB (absolute, as the issues state it)`, peakRss(js), mb, 'atMost', 80);
  add(`${js}: live tap with bodies at the default 100/s costs ≤ 20% throughput (HTTP/1 small)`, tapCost(js, 'h1-small'), cost, 'atMost', 0.2);

  // native engine, part 1: issue 13.
  const nt = 'meshtap-native';
  add(`${nt}: HTTP/1 small max rps ≥ 1.0× haproxy (13)`, get('h1-small', 'max', nt)?.ratioHaproxy, x, 'atLeast', 1.0);
  add(`${nt}: proxy CPU per small HTTP/1 request ≤ 1.0× haproxy's (13)`, cpuVsHaproxy(nt, 'h1-small'), xHaproxy, 'atMost', 1.0);
  add(`${nt}: as shipped ≥ 0.95× forwarding only (HTTP/1 small) (13)`, shippedVsFwd(nt), x, 'atLeast', 0.95);
  add(`${nt}: proxy CPU per 64 KiB HTTP/1 request ≤ 0.8× haproxy's (13)`, cpuVsHaproxy(nt, 'h1-64k'), xHaproxy, 'atMost', 0.8);
  add(`${nt}: opaque TCP MiB/s ≥ 1.0× haproxy (TCP mode) (13)`, get('tcp', 'stream', nt)?.ratioHaproxy, x, 'atLeast', 1.0);

  // native engine, part 2: issue 14 (and HTTP/1 p99, 13's): two targets of one scenario each, from their medians.
  for (const g of PAIRED_GOALS) {
    const value = pairedValue(g, measureFromRow(get(g.scenario, g.load, g.a), g.measure), measureFromRow(get(g.scenario, g.load, g.b), g.measure));
    add(g.goal, value, (v) => formatPaired(g, v), g.kind, g.bound);
  }

  // both parts: RSS on every scenario.
  const measured = [...new Set(rows.filter((r) => r.target === nt && r.peakRssMB !== undefined).map((r) => r.scenario))];
  if (measured.length === 0) add(`${nt}: RSS under load ≤ 60 MB, every scenario (13, 14)`, undefined, mb, 'atMost', 60);
  for (const scenario of measured) add(`${nt}: RSS under load ≤ 60 MB (${SCENARIO_WORDS[scenario] ?? scenario}) (13, 14)`, peakRss(nt, scenario), mb, 'atMost', 60);
  return out;
}
