#!/usr/bin/env node
/**
 * `npm run bench` — side-by-side benchmark of meshtap against direct and its peers, on
 * loopback, in one run. Writes bench/results/<timestamp>.json (raw runs) and .md (the
 * report), prints the report, and (full runs over everything) refreshes bench/REPORT.md.
 * `--until-narrow` instead judges the goals that compare two targets in rounds until each
 * verdict's bracket is decided (narrow.ts). See bench/README.md for what is measured and how to
 * read it.
 */
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { MeshtapError, UsageError } from '../common/index.js';
import { hasCommand } from './lib/machine.js';
import { stopAll } from './lib/procs.js';
import { renderMarkdown } from './markdown.js';
import { runUntilNarrow } from './narrow.js';
import { PAIRED_GOALS, type PairedGoal } from './paired-goals.js';
import { runBench, type RunPlan } from './runner.js';
import { FULL_SHAPE, QUICK_SHAPE, SCENARIOS, type RunShape, type Scenario } from './scenarios.js';
import { TARGETS, type TargetDef } from './targets.js';

const DEFAULT_NARROW_MINUTES = 20;
const NARROW_LEVEL = 0.95;

const HELP = `Usage: npm run bench -- [flags]      (or: node dist/bench/run.js [flags])

Runs every scenario through every target on loopback and reports medians, min–max, ratios
to direct and haproxy, proxy CPU µs per request and RSS.

Flags:
  --quick              1 repeat, 1 s per measurement (a couple of minutes in all)
  --only NAMES         comma list of scenario names and/or target ids to run, e.g.
                       --only h1-small,grpc,direct,meshtap-js,haproxy
                       scenarios: ${SCENARIOS.map((s) => s.name).join(', ')}
                       targets:   ${TARGETS.map((t) => t.id).join(', ')}
  --repeats N          repeats per measurement (default 3; quick 1)
  --duration SECONDS   whole seconds per measurement (default 3; quick 1)
  --out DIR            where <timestamp>.json/.md go (default bench/results)
  --no-pin             do not pin processes to CPUs
  --until-narrow       judge the goals that compare two targets (h2 vs direct, gRPC vs haproxy,
                       tap cost, p99 vs haproxy) in rounds until each one's 95 % bracket of the
                       median per-round ratio is on one side of the goal, or the budget ends;
                       --only keeps the goals whose scenario and targets it names
  --goals IDS          with --until-narrow: only these goals (comma list)
                       ${PAIRED_GOALS.map((g) => g.id).join(', ')}
  --max-minutes M      with --until-narrow: time budget (default ${DEFAULT_NARROW_MINUTES})
  -h, --help           this text
`;

const REPO = fileURLToPath(new URL('../../', import.meta.url));
const REQUIRED_TOOLS = ['wrk', 'h2load', 'iperf3', 'haproxy', 'nginx'];

function positiveNumber(text: string, flag: string): number {
  const n = Number(text);
  if (!Number.isFinite(n) || n <= 0) throw new UsageError(`bench: ${flag} takes a positive number, not '${text}'`);
  return n;
}

/**
 * The paired goals `--until-narrow` judges: all, or those `--goals` names; then only those whose
 * scenario and both targets survive `--only`.
 */
function selectGoals(ids: string | undefined, scenarios: Scenario[], targets: TargetDef[]): PairedGoal[] {
  let goals = PAIRED_GOALS;
  if (ids) {
    const names = ids.split(',').map((s) => s.trim()).filter(Boolean);
    const unknown = names.filter((n) => !PAIRED_GOALS.some((g) => g.id === n));
    if (unknown.length) throw new UsageError(`bench: --goals: unknown goal '${unknown.join(', ')}' (known: ${PAIRED_GOALS.map((g) => g.id).join(', ')})`);
    goals = PAIRED_GOALS.filter((g) => names.includes(g.id));
  }
  const kept = goals.filter((g) => scenarios.some((s) => s.name === g.scenario) && [g.a, g.b].every((id) => targets.some((t) => t.id === id)));
  if (kept.length === 0) {
    throw new UsageError('bench: --until-narrow: no goal has its scenario and both targets in --only (e.g. --only h2-small,direct,meshtap-native; see --help for the goals)');
  }
  return kept;
}

async function main(argv: string[]): Promise<number> {
  let parsed;
  try {
    parsed = parseArgs({
      args: argv,
      options: {
        quick: { type: 'boolean' },
        only: { type: 'string' },
        repeats: { type: 'string' },
        duration: { type: 'string' },
        out: { type: 'string' },
        'no-pin': { type: 'boolean' },
        'until-narrow': { type: 'boolean' },
        goals: { type: 'string' },
        'max-minutes': { type: 'string' },
        help: { type: 'boolean', short: 'h' },
      },
    });
  } catch (err) {
    throw new UsageError(`bench: ${(err as Error).message.split('\n')[0]} (see --help)`);
  }
  const v = parsed.values;
  if (v.help) {
    process.stdout.write(HELP);
    return 0;
  }
  const quick = v.quick === true;
  const shape: RunShape = { ...(quick ? QUICK_SHAPE : FULL_SHAPE) };
  if (v.repeats) shape.repeats = Math.round(positiveNumber(v.repeats, '--repeats'));
  if (v.duration) shape.durationS = Math.max(1, Math.round(positiveNumber(v.duration, '--duration')));

  let scenarios = SCENARIOS;
  let targets = TARGETS;
  if (v.only) {
    const names = v.only.split(',').map((s) => s.trim()).filter(Boolean);
    const unknown = names.filter((n) => !SCENARIOS.some((s) => s.name === n) && !TARGETS.some((t) => t.id === n));
    if (unknown.length) throw new UsageError(`bench: --only: unknown scenario or target '${unknown.join(', ')}' (see --help for the names)`);
    if (names.some((n) => SCENARIOS.some((s) => s.name === n))) scenarios = SCENARIOS.filter((s) => names.includes(s.name));
    if (names.some((n) => TARGETS.some((t) => t.id === n))) targets = TARGETS.filter((t) => names.includes(t.id));
  }
  const untilNarrow = v['until-narrow'] === true;
  if (!untilNarrow && (v.goals || v['max-minutes'])) throw new UsageError(`bench: ${v.goals ? '--goals' : '--max-minutes'} works with --until-narrow only (see --help)`);
  if (untilNarrow && v.repeats) throw new UsageError('bench: --until-narrow runs rounds until the verdicts are decided or --max-minutes ends; drop --repeats');
  const goals = untilNarrow ? selectGoals(v.goals, scenarios, targets) : [];
  const budgetS = Math.round(60 * (v['max-minutes'] ? positiveNumber(v['max-minutes'], '--max-minutes') : DEFAULT_NARROW_MINUTES));

  if (!existsSync(join(REPO, 'dist/bin/meshtap.js'))) throw new MeshtapError('MT_BENCH_BUILD', 'bench: dist/bin/meshtap.js is missing; run `npm run build` first');
  const missing = REQUIRED_TOOLS.filter((t) => !hasCommand(t));
  if (missing.length) process.stderr.write(`bench: missing tools (their runs will fail or be skipped): ${missing.join(', ')}; run 'bash scripts/setup.sh' as root\n`);

  const cores = cpus().length;
  const canPin = v['no-pin'] !== true && cores >= 2 && hasCommand('taskset');
  const pinningNote = canPin
    ? 'each proxy alone on CPU 1 (taskset -c 1; haproxy 1 thread, nginx 1 worker, Node single-threaded); load generators, backends and tap clients on CPU 0 (taskset -c 0) for every target, direct included — so every proxy gets exactly one core and the client side is the same for all'
    : v['no-pin']
      ? 'off (--no-pin)'
      : `off (${cores < 2 ? 'fewer than 2 cores' : 'taskset missing'})`;

  const outDir = v.out ?? join(REPO, 'bench/results');
  mkdirSync(outDir, { recursive: true });
  const scratchDir = mkdtempSync(join(tmpdir(), 'meshtap-bench-'));
  if (untilNarrow) {
    process.stderr.write(`bench: --until-narrow: ${goals.length} goal(s) (${goals.map((g) => g.id).join(', ')}), rounds of ${shape.durationS} s per measurement, at most ${(budgetS / 60).toFixed(0)} min\n`);
  }
  const measurements = scenarios.reduce((n, s) => n + s.loads.length * targets.filter((t) => t.supports(s.protocol)).length, 0);
  if (!untilNarrow) process.stderr.write(
    `bench: ${scenarios.length} scenario(s), ${targets.length} target(s), ~${measurements} measurements × ${shape.repeats} × ${shape.durationS} s ` +
      `(≈ ${Math.ceil((measurements * shape.repeats * (shape.durationS + 0.6)) / 60)} min)\n`,
  );
  try {
    const plan: RunPlan = {
      scenarios,
      targets,
      shape,
      quick,
      scratchDir,
      proxyCpus: canPin ? '1' : undefined,
      clientCpus: canPin ? '0' : undefined,
      pinningNote,
      log: (line) => process.stderr.write(line + '\n'),
    };
    const results = untilNarrow ? await runUntilNarrow({ ...plan, goals, budgetS, level: NARROW_LEVEL }) : await runBench(plan);
    const stamp = results.startedAt.replace(/[:.]/g, '-');
    const md = renderMarkdown(results);
    writeFileSync(join(outDir, `${stamp}.json`), JSON.stringify(results, null, 2) + '\n');
    writeFileSync(join(outDir, `${stamp}.md`), md);
    if (!quick && !v.only && !v.out && !untilNarrow) writeFileSync(join(REPO, 'bench/REPORT.md'), md);
    process.stdout.write(md);
    process.stderr.write(`bench: wrote ${join(outDir, `${stamp}.json`)} and .md\n`);
    return 0;
  } finally {
    await stopAll();
    rmSync(scratchDir, { recursive: true, force: true });
  }
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (err: unknown) => {
    const msg = err instanceof Error ? err.message.split('\n')[0] : String(err);
    process.stderr.write(`${msg}\n`);
    void stopAll().finally(() => process.exit(err instanceof UsageError ? 2 : 1));
  },
);
