/**
 * `--until-narrow`'s statistics and verdicts on fixed inputs: the order-statistic bracket of the
 * median (exact binomial coverage), met / missed / undecided against a goal's bound, per-round
 * pairing of two targets' runs, which goals stay open, how a round is ordered, and how the
 * report shows it. The rounds of "h2 small vs direct" below are real: a run of
 * `node dist/bench/run.js --until-narrow --only h2-small,direct,meshtap-native --duration 1
 * --max-minutes 1.2` at load 8 (20:00 UTC, session 7). No timing assertions.
 */
import { describe, expect, it } from 'vitest';
import { renderMarkdown } from './markdown.js';
import { binomialHalfCdf, median, medianBracket, minRoundsFor, narrowVerdict } from './median-bracket.js';
import { openGoals, roundPlan } from './narrow.js';
import { describePaired, judgePaired, PAIRED_GOALS, perRoundValues, type PairedGoal } from './paired-goals.js';
import type { BenchResults, RunRecord } from './results.js';
import { SCENARIOS } from './scenarios.js';

/** [direct, meshtap-native] h2 small max req/s per round, in round order (the run named above). */
const H2_ROUNDS: [number, number][] = [
  [6368, 6558], [5988, 4436], [11406, 7616], [10139, 6944], [8896, 4246], [10240, 6016], [8640, 12000], [6368, 5600], [10016, 10752], [21228, 14432],
  [15616, 14131], [12185, 12704], [10144, 12103], [23392, 13792], [23776, 15584], [12356, 11104], [15232, 10624], [13846, 11712], [15040, 12064], [16320, 13920],
];

const goal = (id: string): PairedGoal => PAIRED_GOALS.find((g) => g.id === id)!;

function run(scenario: string, load: RunRecord['load'], target: string, repeat: number, perSecond: number, extra: Partial<RunRecord> = {}): RunRecord {
  return { scenario, load, target, repeat, result: { tool: 'h2load', units: perSecond * 3, durationS: 3, perSecond, errors: 0 }, ...extra };
}

const h2Runs = (rounds: [number, number][]): RunRecord[] =>
  rounds.flatMap(([direct, native], i) => [run('h2-small', 'max', 'direct', i, direct), run('h2-small', 'max', 'meshtap-native', i, native)]);

describe('the bracket of the median', () => {
  it('computes binomial(n, ½) tails exactly', () => {
    expect(binomialHalfCdf(6, 0)).toBeCloseTo(1 / 64, 12);
    expect(binomialHalfCdf(20, 5)).toBeCloseTo((1 + 20 + 190 + 1140 + 4845 + 15504) / 2 ** 20, 12);
    expect(binomialHalfCdf(7, 3)).toBeCloseTo(0.5, 12);
    expect(binomialHalfCdf(5, -1)).toBe(0);
    expect(binomialHalfCdf(5, 5)).toBe(1);
    expect(binomialHalfCdf(2000, 1000)).toBeGreaterThan(0.5); // no overflow for long runs
  });

  it('needs 6 rounds for 95 % (min–max of 5 covers 93.75 %) and 5 for 90 %', () => {
    expect(minRoundsFor(0.95)).toBe(6);
    expect(minRoundsFor(0.9)).toBe(5);
    expect(medianBracket([1, 2, 3, 4, 5], 0.95)).toBeUndefined();
    const six = medianBracket([0.9, 1.1, 0.95, 1.0, 1.2, 0.97], 0.95)!;
    expect([six.lo, six.hi, six.k, six.n]).toEqual([0.9, 1.2, 1, 6]);
    expect(six.coverage).toBeCloseTo(1 - 2 / 64, 12);
  });

  it('narrows with rounds: 20 real h2 rounds give ranks 6 and 15 (95.9 %)', () => {
    const ratios = H2_ROUNDS.map(([d, n]) => n / d);
    const b = medianBracket(ratios, 0.95)!;
    const sorted = [...ratios].sort((a, z) => a - z);
    expect(b.k).toBe(6);
    expect([b.lo, b.hi]).toEqual([sorted[5], sorted[14]]);
    expect(b.coverage).toBeCloseTo(1 - 2 * binomialHalfCdf(20, 5), 12);
    expect(b.lo).toBeCloseTo(14432 / 21228, 6); // 0.68×, round 10
    expect(b.hi).toBeCloseTo(14131 / 15616, 6); // 0.90×, round 11
    // the first 6 rounds only allow min–max: wider than 20 rounds' bracket
    const early = medianBracket(ratios.slice(0, 6), 0.95)!;
    expect(early.hi - early.lo).toBeGreaterThan(b.hi - b.lo);
  });

  it('leaves NaNs out and takes true medians', () => {
    expect(medianBracket([NaN, 1, 2, 3, 4, 5, 6], 0.95)!.n).toBe(6);
    expect(median([3, 1, 2])).toBe(2);
    expect(median([4, 1, 2, 3])).toBe(2.5);
    expect(median([])).toBeNaN();
  });
});

describe('verdicts against a bound', () => {
  const atLeast = { kind: 'atLeast' as const, bound: 0.95 };
  const atMost = { kind: 'atMost' as const, bound: 0.2 };

  it('is met or missed only when the whole bracket is on one side, with the single-run rule at the edge', () => {
    expect(narrowVerdict({ lo: 0.96, hi: 1.02 }, atLeast)).toBe('met');
    expect(narrowVerdict({ lo: 0.95, hi: 1.02 }, atLeast)).toBe('met'); // ≥ passes
    expect(narrowVerdict({ lo: 0.88, hi: 0.94 }, atLeast)).toBe('missed');
    expect(narrowVerdict({ lo: 0.9, hi: 0.97 }, atLeast)).toBe('undecided');
    expect(narrowVerdict({ lo: 0.05, hi: 0.12 }, atMost)).toBe('met');
    expect(narrowVerdict({ lo: 0.1, hi: 0.2 }, atMost)).toBe('met'); // ≤ passes
    expect(narrowVerdict({ lo: 0.21, hi: 0.3 }, atMost)).toBe('missed');
    expect(narrowVerdict({ lo: 0.15, hi: 0.25 }, atMost)).toBe('undecided');
    expect(narrowVerdict(undefined, atMost)).toBe('undecided');
  });

  it('judges the real h2 rounds: undecided after 6, missed after 20', () => {
    const g = goal('h2-max-vs-direct');
    const six = judgePaired(g, h2Runs(H2_ROUNDS.slice(0, 6)), 0.95);
    expect(six.verdict).toBe('undecided'); // 0.48× … 1.03×
    expect(six.bracket!.lo).toBeCloseTo(4246 / 8896, 6);
    expect(six.bracket!.hi).toBeCloseTo(6558 / 6368, 6);
    const all = judgePaired(g, h2Runs(H2_ROUNDS), 0.95);
    expect(all.verdict).toBe('missed');
    expect(all.values).toHaveLength(20);
    expect(describePaired(all, 0.95)).toBe('MISSED: 0.68× … 0.90×, median 0.82× over 20 rounds (bracket: rounds 6 and 15 of 20 sorted, 95.9 % coverage)');
    expect(describePaired(judgePaired(g, h2Runs(H2_ROUNDS.slice(0, 3)), 0.95), 0.95)).toBe('undecided: 3 round(s) (0.67× … 1.03×), too few for a 95 % bracket');
    expect(judgePaired(goal('grpc-max-vs-haproxy'), h2Runs(H2_ROUNDS), 0.95).verdict).toBe('n/a');
  });
});

describe('pairing runs by round', () => {
  it('takes each round’s two runs, skips a round where either failed, and reads CPU, p99 and cost', () => {
    const lat = (p99: number): Partial<RunRecord> => ({ result: { tool: 'h2load', units: 6000, durationS: 3, perSecond: 2000, errors: 0, latencyMs: { p50: 0.2, p99, p999: p99 * 2, samples: 6000 } } });
    const runs: RunRecord[] = [
      run('grpc', 'max', 'meshtap-native', 0, 13611, { cpuUsPerUnit: 30.1 }),
      run('grpc', 'max', 'meshtap-native-tap', 0, 12000, { cpuUsPerUnit: 40 }),
      run('grpc', 'max', 'haproxy', 0, 11000, { cpuUsPerUnit: 35 }),
      run('grpc', 'max', 'meshtap-native', 1, 12500, { cpuUsPerUnit: 31 }),
      { scenario: 'grpc', load: 'max', target: 'haproxy', repeat: 1, error: 'h2load exited with code 1' },
      run('grpc', 'max', 'meshtap-native-tap', 1, 10000),
      run('grpc', 'max', 'meshtap-native', -1, 1, { cpuUsPerUnit: 1 }), // warm-up: never a round
      run('grpc', 'rate', 'meshtap-native', 0, 2000, lat(0.9)),
      run('grpc', 'rate', 'haproxy', 0, 2000, lat(1.2)),
    ];
    expect(perRoundValues(goal('grpc-max-vs-haproxy'), runs)).toEqual([{ round: 0, value: 13611 / 11000 }]);
    expect(perRoundValues(goal('grpc-cpu-vs-haproxy'), runs)).toEqual([{ round: 0, value: 30.1 / 35 }]);
    const cost = perRoundValues(goal('grpc-tap-cost'), runs);
    expect(cost.map((c) => c.round)).toEqual([0, 1]);
    expect(cost[0].value).toBeCloseTo(1 - 12000 / 13611, 12);
    expect(cost[1].value).toBeCloseTo(0.2, 12);
    expect(perRoundValues(goal('grpc-p99-vs-haproxy'), runs)[0].value).toBeCloseTo(0.75, 12);
  });
});

describe('rounds', () => {
  const h2 = SCENARIOS.find((s) => s.name === 'h2-small')!;
  const grpc = SCENARIOS.find((s) => s.name === 'grpc')!;
  const order = ['direct', 'meshtap-native', 'meshtap-native-tap', 'haproxy'];

  it('measures the union of the open goals’ targets per scenario and load, reversed every other round', () => {
    const open = [goal('h2-max-vs-direct'), goal('h2-cpu-vs-haproxy'), goal('grpc-tap-cost'), goal('grpc-p99-vs-haproxy')];
    const r0 = roundPlan(open, [h2, grpc], order, 0).map((s) => [s.scenario.name, s.load, s.targets]);
    expect(r0).toEqual([
      ['h2-small', 'max', ['direct', 'meshtap-native', 'haproxy']],
      ['grpc', 'max', ['meshtap-native', 'meshtap-native-tap']],
      ['grpc', 'rate', ['meshtap-native', 'haproxy']],
    ]);
    const r1 = roundPlan(open, [h2, grpc], order, 1).map((s) => s.targets);
    expect(r1).toEqual([['haproxy', 'meshtap-native', 'direct'], ['meshtap-native-tap', 'meshtap-native'], ['haproxy', 'meshtap-native']]);
  });

  it('keeps a goal open until it has the minimum of rounds and a bracket on one side; drops one whose targets did not start', () => {
    const g = goal('h2-max-vs-direct');
    const always = () => true;
    expect(openGoals([g], h2Runs(H2_ROUNDS.slice(0, 5)), 0.95, 6, always)).toEqual([g]); // too few
    expect(openGoals([g], h2Runs(H2_ROUNDS.slice(0, 12)), 0.95, 6, always)).toEqual([g]); // crosses 0.95
    expect(openGoals([g], h2Runs(H2_ROUNDS), 0.95, 6, always)).toEqual([]); // decided: missed
    expect(openGoals([g], [], 0.95, 6, () => false)).toEqual([]);
  });
});

describe('the report of an --until-narrow run', () => {
  const results: BenchResults = {
    format: 'meshtap-bench',
    version: 1,
    startedAt: '2026-12-06T19:59:58.806Z',
    quick: false,
    shape: { repeats: 20, durationS: 1, warmupS: 1, rateRps: 2000 },
    machine: { cores: 2, cpuModel: 'x', kernel: 'k', node: 'v20', loadAvgStart: [8.34, 8.05, 6], tools: {} },
    pinning: { note: 'off' },
    scenarios: [{ name: 'h2-small', title: 't', protocol: 'h2', loads: ['max'] }],
    targets: ['direct', 'meshtap-native'].map((id) => ({ id, description: id })),
    skipped: [],
    idleRss: [],
    runs: h2Runs(H2_ROUNDS),
    narrow: { level: 0.95, minRounds: 6, budgetS: 72, goals: ['h2-max-vs-direct'], rounds: 20, elapsedS: 45, stopped: 'every verdict decided' },
  };
  const md = renderMarkdown(results);

  it('shows each judged goal with its rounds, median, bracket and verdict, before the Goals table', () => {
    expect(md).toContain('## Verdicts over repeated rounds (--until-narrow)');
    expect(md).toContain('20 round(s) in 0.8 of 1 min; stopped: every verdict decided.');
    expect(md).toContain('| meshtap-native: h2 small max rps ≥ 0.95× direct (14) | 20 | 0.82× | 0.68× … 0.90× | MISSED |');
    expect(md.indexOf('## Verdicts over repeated rounds')).toBeLessThan(md.indexOf('## Goals'));
  });

  it('shows the per-repeat range in the Goals table and says when it crosses the goal', () => {
    // the ratio of medians says met (0.97×), the rounds say otherwise: the range crosses 0.95
    expect(md).toContain('| meshtap-native: h2 small max rps ≥ 0.95× direct (14) | 0.97× | met, 2 % to spare | 0.48× … 1.39× (20), crosses the goal |');
  });

  it('says undecided with too few rounds, and undecided when the bracket crosses the goal', () => {
    const few = renderMarkdown({ ...results, runs: h2Runs(H2_ROUNDS.slice(0, 4)), narrow: { ...results.narrow!, rounds: 4, stopped: 'time budget' } });
    expect(few).toContain('| 4 | 0.71× | — (rounds: 0.67× … 1.03×) | undecided (too few rounds) |');
    const crossing = renderMarkdown({ ...results, runs: h2Runs(H2_ROUNDS.slice(0, 12)) });
    expect(crossing).toContain('| 12 | 0.81× | 0.67× … 1.04× | undecided (bracket crosses the goal) |');
  });
});
