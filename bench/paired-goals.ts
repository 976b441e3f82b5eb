/**
 * The goals that compare two targets of one scenario (issue 14's throughput, CPU, tap-cost and
 * p99 rows), as data: the Goals table computes them from medians over repeats, and
 * `--until-narrow` from each round's own pair — two targets measured seconds apart in one round
 * share the machine's drift, so their ratio swings less than either figure.
 */
import { median, medianBracket, narrowVerdict, type MedianBracket, type NarrowVerdict } from './median-bracket.js';
import type { BenchResults, RunRecord } from './results.js';
import type { LoadKind } from './scenarios.js';

/** What is read from each target's run: throughput, proxy CPU per request, or p99 latency. */
export type PairedMeasure = 'rps' | 'cpu' | 'p99';

export interface PairedGoal {
  /** Short name for --goals and logs. */
  id: string;
  /** The line in the report's Goals table. */
  goal: string;
  scenario: string;
  load: LoadKind;
  measure: PairedMeasure;
  /** The target judged (numerator; for a cost: the tapped one). */
  a: string;
  /** The target it is compared with (denominator; for a cost: as shipped). */
  b: string;
  /** `ratio`: a / b; `cost`: 1 − a / b (the share of b's throughput that a loses). */
  value: 'ratio' | 'cost';
  kind: 'atLeast' | 'atMost';
  bound: number;
  /** How the value reads: `0.93×`, `0.93× haproxy's`, `12% cost`. */
  format: 'x' | 'xHaproxy' | 'cost';
}

const NT = 'meshtap-native';

/**
 * The native engine's paired goals (issue 14; HTTP/1 p99 is issue 13's and 14's), in the Goals
 * table's order. The tap goals use `-tap`: the tap at the rate users get by default.
 */
export const PAIRED_GOALS: PairedGoal[] = [
  { id: 'h2-max-vs-direct', goal: `${NT}: h2 small max rps ≥ 0.95× direct (14)`, scenario: 'h2-small', load: 'max', measure: 'rps', a: NT, b: 'direct', value: 'ratio', kind: 'atLeast', bound: 0.95, format: 'x' },
  { id: 'h2-cpu-vs-haproxy', goal: `${NT}: proxy CPU per small h2 request ≤ 1.0× haproxy's (14)`, scenario: 'h2-small', load: 'max', measure: 'cpu', a: NT, b: 'haproxy', value: 'ratio', kind: 'atMost', bound: 1.0, format: 'xHaproxy' },
  { id: 'grpc-max-vs-haproxy', goal: `${NT}: gRPC unary max rps ≥ 1.2× haproxy (14)`, scenario: 'grpc', load: 'max', measure: 'rps', a: NT, b: 'haproxy', value: 'ratio', kind: 'atLeast', bound: 1.2, format: 'x' },
  { id: 'grpc-cpu-vs-haproxy', goal: `${NT}: proxy CPU per gRPC unary call ≤ 1.0× haproxy's (14)`, scenario: 'grpc', load: 'max', measure: 'cpu', a: NT, b: 'haproxy', value: 'ratio', kind: 'atMost', bound: 1.0, format: 'xHaproxy' },
  { id: 'h1-tap-cost', goal: `${NT}: live tap with bodies at the default 100/s costs ≤ 20% throughput (HTTP/1 small) (14)`, scenario: 'h1-small', load: 'max', measure: 'rps', a: `${NT}-tap`, b: NT, value: 'cost', kind: 'atMost', bound: 0.2, format: 'cost' },
  { id: 'grpc-tap-cost', goal: `${NT}: live tap with bodies at the default 100/s costs ≤ 20% throughput (gRPC unary) (14)`, scenario: 'grpc', load: 'max', measure: 'rps', a: `${NT}-tap`, b: NT, value: 'cost', kind: 'atMost', bound: 0.2, format: 'cost' },
  { id: 'h1-p99-vs-haproxy', goal: `${NT}: p99 at a fixed rate ≤ 1.0× haproxy's (HTTP/1 small) (13)`, scenario: 'h1-small', load: 'rate', measure: 'p99', a: NT, b: 'haproxy', value: 'ratio', kind: 'atMost', bound: 1.0, format: 'xHaproxy' },
  { id: 'h2-p99-vs-haproxy', goal: `${NT}: p99 at a fixed rate ≤ 1.0× haproxy's (h2 small) (14)`, scenario: 'h2-small', load: 'rate', measure: 'p99', a: NT, b: 'haproxy', value: 'ratio', kind: 'atMost', bound: 1.0, format: 'xHaproxy' },
  { id: 'grpc-p99-vs-haproxy', goal: `${NT}: p99 at a fixed rate ≤ 1.0× haproxy's (gRPC unary) (14)`, scenario: 'grpc', load: 'rate', measure: 'p99', a: NT, b: 'haproxy', value: 'ratio', kind: 'atMost', bound: 1.0, format: 'xHaproxy' },
];

/** A run's figure for `measure`, when the run succeeded and has it. */
export function measureOf(rec: RunRecord | undefined, measure: PairedMeasure): number | undefined {
  if (!rec || rec.error || !rec.result) return undefined;
  if (measure === 'rps') return rec.result.perSecond;
  if (measure === 'cpu') return rec.cpuUsPerUnit;
  return rec.result.latencyMs?.p99;
}

/** The goal's value from the two targets' figures (undefined when either is missing or b is 0). */
export function pairedValue(g: Pick<PairedGoal, 'value'>, a: number | undefined, b: number | undefined): number | undefined {
  if (a === undefined || b === undefined || !(b > 0)) return undefined;
  return g.value === 'cost' ? 1 - a / b : a / b;
}

/** The value as the report writes it. */
export function formatPaired(g: Pick<PairedGoal, 'format'>, v: number): string {
  if (g.format === 'cost') return `${(v * 100).toFixed(0)}% cost`;
  return g.format === 'xHaproxy' ? `${v.toFixed(2)}× haproxy's` : `${v.toFixed(2)}×`;
}

/**
 * The goal's value in every round (repeat) where both targets were measured, in round order:
 * the two runs of one round were taken back to back, so each value compares like with like.
 */
export function perRoundValues(g: PairedGoal, runs: RunRecord[]): { round: number; value: number }[] {
  const byRound = new Map<number, { a?: RunRecord; b?: RunRecord }>();
  for (const r of runs) {
    if (r.scenario !== g.scenario || r.load !== g.load || r.repeat < 0) continue;
    if (r.target !== g.a && r.target !== g.b) continue;
    const slot = byRound.get(r.repeat) ?? {};
    if (r.target === g.a) slot.a ??= r;
    else slot.b ??= r;
    byRound.set(r.repeat, slot);
  }
  const out: { round: number; value: number }[] = [];
  for (const [round, { a, b }] of [...byRound].sort((x, y) => x[0] - y[0])) {
    const v = pairedValue(g, measureOf(a, g.measure), measureOf(b, g.measure));
    if (v !== undefined) out.push({ round, value: v });
  }
  return out;
}

/** A paired goal judged over rounds: the bracket of the median per-round value, and what it allows. */
export interface PairedVerdict {
  goal: PairedGoal;
  values: number[];
  /** Median of the per-round values (NaN when none). */
  median: number;
  /** Undefined until there are enough rounds for `level`. */
  bracket?: MedianBracket;
  /** `n/a`: no round measured both targets. */
  verdict: NarrowVerdict | 'n/a';
}

export function judgePaired(g: PairedGoal, runs: RunRecord[], level: number): PairedVerdict {
  const values = perRoundValues(g, runs).map((x) => x.value);
  const bracket = medianBracket(values, level);
  return { goal: g, values, median: median(values), bracket, verdict: values.length === 0 ? 'n/a' : narrowVerdict(bracket, g) };
}

/** Every paired goal of `goals` judged on the results' rounds. */
export function pairedVerdicts(results: Pick<BenchResults, 'runs'>, goals: PairedGoal[] = PAIRED_GOALS, level = 0.95): PairedVerdict[] {
  return goals.map((g) => judgePaired(g, results.runs, level));
}

/**
 * One line for the report: "met: bracket 0.96–0.99× (95 % bracket of the median over 14 rounds;
 * median 0.97×)", or, with too few rounds for a bracket, the range of the rounds.
 */
export function describePaired(v: PairedVerdict, level: number): string {
  const g = v.goal;
  const fmt = (x: number) => formatPaired(g, x);
  const n = v.values.length;
  if (n === 0) return 'n/a: no round measured both targets';
  if (!v.bracket) {
    return `undecided: ${n} round(s) (${fmt(Math.min(...v.values))} … ${fmt(Math.max(...v.values))}), too few for a ${(level * 100).toFixed(0)} % bracket`;
  }
  const b = v.bracket;
  const word = v.verdict === 'met' ? 'met' : v.verdict === 'missed' ? 'MISSED' : 'undecided (the bracket crosses the goal)';
  return `${word}: ${fmt(b.lo)} … ${fmt(b.hi)}, median ${fmt(v.median)} over ${n} rounds (bracket: rounds ${b.k} and ${n - b.k + 1} of ${n} sorted, ${(b.coverage * 100).toFixed(1)} % coverage)`;
}
