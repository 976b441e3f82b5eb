/**
 * `--until-narrow`: the goals that swing with noise (a ratio of two targets: h2 vs direct, gRPC
 * vs haproxy, tap cost, p99) measured in rounds until each verdict is decided or the time budget
 * ends. A round measures, per scenario and load, the targets of every goal still undecided, back
 * to back, the order reversed every other round (A B, B A, …) so drift and a position effect
 * (the first run after a pause) fall on both sides alike. Every scenario's backend and targets
 * stay up for the whole run, so rounds interleave scenarios too and a budget is spent where
 * verdicts are still open. The statistics are in median-bracket.ts; the report recomputes the
 * verdicts from the runs (repeat = round).
 */
import { minRoundsFor } from './median-bracket.js';
import { describePaired, judgePaired, type PairedGoal } from './paired-goals.js';
import type { BenchResults, NarrowInfo, RunRecord } from './results.js';
import { finishResults, logRun, measure, newResults, startBackend, startTargets, warmUp, type RunPlan, type StartedTarget } from './runner.js';
import type { LoadKind, Scenario } from './scenarios.js';
import { stopAll, type BenchProcess } from './lib/procs.js';

export interface NarrowPlan extends RunPlan {
  goals: PairedGoal[];
  /** Wall-clock budget for the rounds (start-up and warm-up included). */
  budgetS: number;
  /** Coverage of each bracket (0.95). */
  level: number;
}

/** Seconds a measurement costs beyond its duration (start, sampling, teardown), until measured. */
const FIRST_GUESS_OVERHEAD_S = 0.7;

/**
 * The measurements of round `round` for the goals still open: per scenario (plan order) and
 * load (scenario order), the union of their targets in report order, reversed on odd rounds.
 */
export function roundPlan(open: PairedGoal[], scenarios: Scenario[], targetOrder: string[], round: number): { scenario: Scenario; load: LoadKind; targets: string[] }[] {
  const out: { scenario: Scenario; load: LoadKind; targets: string[] }[] = [];
  for (const scenario of scenarios) {
    for (const load of scenario.loads) {
      const gs = open.filter((g) => g.scenario === scenario.name && g.load === load);
      if (gs.length === 0) continue;
      const wanted = new Set(gs.flatMap((g) => [g.a, g.b]));
      const targets = targetOrder.filter((id) => wanted.has(id));
      out.push({ scenario, load, targets: round % 2 ? targets.reverse() : targets });
    }
  }
  return out;
}

/**
 * The goals that still need rounds: fewer than `minRounds` values, or a bracket that crosses the
 * bound. A goal whose targets did not both start is left out (it would never get a value).
 */
export function openGoals(goals: PairedGoal[], runs: RunRecord[], level: number, minRounds: number, canRun: (g: PairedGoal) => boolean): PairedGoal[] {
  return goals.filter((g) => {
    if (!canRun(g)) return false;
    const v = judgePaired(g, runs, level);
    return v.values.length < minRounds || v.verdict === 'undecided';
  });
}

/** Runs rounds until every goal's verdict is decided or the budget ends; always stops what it started. */
export async function runUntilNarrow(plan: NarrowPlan): Promise<BenchResults> {
  const t0 = Date.now();
  const elapsedS = () => (Date.now() - t0) / 1000;
  const scenarios = plan.scenarios
    .filter((s) => plan.goals.some((g) => g.scenario === s.name))
    .map((s) => ({ ...s, loads: s.loads.filter((l) => plan.goals.some((g) => g.scenario === s.name && g.load === l)) }));
  const wanted = new Set(plan.goals.flatMap((g) => [g.a, g.b]));
  const targets = plan.targets.filter((t) => wanted.has(t.id));
  const minRounds = minRoundsFor(plan.level);
  const results = newResults({ ...plan, scenarios, targets });
  const narrow: NarrowInfo = { level: plan.level, minRounds, budgetS: plan.budgetS, goals: plan.goals.map((g) => g.id), rounds: 0, elapsedS: 0, stopped: '' };
  results.narrow = narrow;

  const live = new Map<string, { running: StartedTarget[]; backend: BenchProcess[] }>();
  try {
    for (const s of scenarios) {
      plan.log(`== ${s.name}: ${s.title} (start)`);
      const backend = await startBackend(s, plan);
      live.set(s.name, { running: [], backend: backend.procs });
      const running = await startTargets(plan, s, targets.filter((d) => d.supports(s.protocol)), backend.addrs, results);
      live.get(s.name)!.running = running;
      await warmUp(plan, s, s.loads[0], running);
    }
    const isUp = (scenario: string, id: string) => live.get(scenario)?.running.some((r) => r.id === id) ?? false;
    const canRun = (g: PairedGoal) => isUp(g.scenario, g.a) && isUp(g.scenario, g.b);
    const order = targets.map((t) => t.id);
    let perMeasurementS = plan.shape.durationS + FIRST_GUESS_OVERHEAD_S;
    let measured = 0;
    let measuredS = 0;
    for (let round = 0; ; round++) {
      const open = openGoals(plan.goals, results.runs, plan.level, minRounds, canRun);
      if (open.length === 0) {
        narrow.stopped = plan.goals.some((g) => !canRun(g)) ? 'every goal that could run is decided' : 'every verdict decided';
        break;
      }
      const steps = roundPlan(open, scenarios, order, round);
      const estimateS = steps.reduce((n, st) => n + st.targets.length, 0) * perMeasurementS;
      if (elapsedS() + estimateS > plan.budgetS) {
        narrow.stopped = `time budget (${open.length} goal(s) open; the next round needed ~${Math.ceil(estimateS)} s)`;
        break;
      }
      plan.log(`-- round ${round + 1} (${open.length} goal(s) open, ${Math.floor(elapsedS())} of ${plan.budgetS} s)`);
      for (const st of steps) {
        const running = live.get(st.scenario.name)!.running;
        for (const id of st.targets) {
          const t = running.find((r) => r.id === id)!.t;
          const started = Date.now();
          const rec = await measure(plan, st.scenario, st.load, id, t, round, plan.shape.durationS);
          measured++;
          measuredS += (Date.now() - started) / 1000;
          perMeasurementS = measuredS / measured;
          results.runs.push(rec);
          logRun(plan, rec, `${st.scenario.name} r${round + 1}`);
        }
      }
      narrow.rounds = round + 1;
      for (const g of open) plan.log(`   ${g.id}: ${describePaired(judgePaired(g, results.runs, plan.level), plan.level)}`);
    }
  } finally {
    for (const { running, backend } of live.values()) {
      await Promise.all(running.map(({ t }) => t.stop()));
      await Promise.all(backend.map((p) => p.stop()));
    }
    await stopAll();
    narrow.elapsedS = Math.round(elapsedS());
    results.shape = { ...results.shape, repeats: narrow.rounds };
    finishResults(results);
  }
  return results;
}
