/**
 * Renders BenchResults as the markdown report (`bench/results/<ts>.md`, `bench/REPORT.md`):
 * machine facts first, then one table per scenario and load, then the goal checks (with each
 * paired goal's per-repeat range), what a live tap costs, and `--until-narrow`'s verdicts.
 */
import { narrowVerdict } from './median-bracket.js';
import { formatPaired, PAIRED_GOALS, pairedVerdicts, type PairedVerdict } from './paired-goals.js';
import { checkGoals, summarize, verdict, type SummaryRow } from './report.js';
import type { BenchResults, NarrowInfo } from './results.js';
import { tapCosts } from './tap-cost.js';

const f = (v: number | undefined, digits = 0): string => (v === undefined || Number.isNaN(v) ? '—' : v.toFixed(digits));
const ratio = (v: number | undefined): string => (v === undefined || Number.isNaN(v) ? '—' : `${v.toFixed(2)}×`);

function rate(r: SummaryRow, unit: string): string {
  if (!r.perSecond) return `failed: ${r.firstError ?? 'no data'}`;
  const digits = unit === 'MiB/s' ? 0 : 0;
  const range = r.okRuns > 1 ? ` (${f(r.perSecond.min, digits)}–${f(r.perSecond.max, digits)})` : '';
  return `${f(r.perSecond.median, digits)}${range}`;
}

function notes(r: SummaryRow): string {
  const n: string[] = [];
  if (r.errors) n.push(`${r.errors} errors`);
  if (r.failedRuns) n.push(`${r.failedRuns} failed runs: ${r.firstError ?? ''}`);
  if (r.tap) {
    const limited = r.tap.rateLimited ? `, ${r.tap.rateLimited} left out by its --max-rps` : '';
    n.push(`tap got ${r.tap.events} events${r.tap.withBodies !== undefined ? ` (${r.tap.withBodies} with a response body)` : ''}${limited}, ${r.tap.dropped} dropped`);
  }
  return n.join('; ').replace(/\|/g, '/');
}

/** "0.90× … 0.97× (3), crosses the goal" for a paired goal's per-repeat values. */
function perRepeat(v: PairedVerdict | undefined): string {
  if (!v || v.values.length === 0) return '';
  const lo = Math.min(...v.values);
  const hi = Math.max(...v.values);
  const crosses = narrowVerdict({ lo, hi }, v.goal) === 'undecided';
  return `${formatPaired(v.goal, lo)} … ${formatPaired(v.goal, hi)} (${v.values.length})${crosses ? ', crosses the goal' : ''}`;
}

const pct = (v: number | undefined): string => (v === undefined ? '—' : `${(v * 100).toFixed(0)} %`);

/** The informational tap rows: max-load cost (both variants), CPU per request at the fixed rate, RSS. */
function renderTapCosts(rows: SummaryRow[]): string[] {
  const tc = tapCosts(rows);
  if (tc.length === 0) return [];
  const cpu = (v: number | undefined, base: number | undefined) => (v === undefined ? '—' : `${v.toFixed(1)}${base ? ` (${(v / base).toFixed(2)}×)` : ''}`);
  const events = (t: SummaryRow['tap']) => (t ? `${t.events}${t.rateLimited ? ` (+${t.rateLimited} over --max-rps)` : ''}${t.dropped ? `, ${t.dropped} dropped` : ''}` : '—');
  const out = [
    '### What a live tap with bodies costs (informational, not goals)',
    '',
    '`-tap`: the tap as users get it (--max-rps 100, the tap API\'s default); `-tap-all`: no limit, the firehose (`record`, a raised --max-rps). At max load a JS thread that falls behind sheds events, so the throughput cost flatters the firehose; CPU per request at the fixed rate, where nothing is shed, is the honest cost.',
    '',
    '| engine · scenario | max-load cost: tap / firehose | proxy CPU µs/req at the fixed rate: shipped · tap · firehose | RSS peak MB: shipped · tap · firehose | tap events at max load: tap · firehose |',
    '|---|---:|---:|---:|---|',
  ];
  for (const r of tc) {
    const base = r.rateCpuUs.shipped;
    out.push(
      `| ${r.engine} · ${r.scenario} | ${pct(r.maxCost.tap)} / ${pct(r.maxCost.all)} | ${cpu(base, undefined)} · ${cpu(r.rateCpuUs.tap, base)} · ${cpu(r.rateCpuUs.all, base)} | ` +
        `${f(r.peakRssMB.shipped)} · ${f(r.peakRssMB.tap)} · ${f(r.peakRssMB.all)} | ${events(r.maxLoadTap.tap)} · ${events(r.maxLoadTap.all)} |`,
    );
  }
  out.push('');
  return out;
}

/** The `--until-narrow` verdicts: per paired goal, rounds, the median and its bracket, met / missed / undecided. */
function renderNarrow(results: BenchResults, n: NarrowInfo): string[] {
  const goals = PAIRED_GOALS.filter((g) => n.goals.includes(g.id));
  const level = `${(n.level * 100).toFixed(0)} %`;
  const out = [
    `## Verdicts over repeated rounds (--until-narrow)`,
    '',
    `Each round measures a goal's two targets back to back (the order reversed every other round, so drift and position hit both); the round's value is their ratio. ` +
      `The bracket is the ${level} confidence interval of the median value from order statistics (distribution-free: exact binomial coverage, robust to a round another tenant slowed). ` +
      `met / MISSED: the whole bracket is on one side of the goal; undecided: it crosses the goal. At least ${n.minRounds} rounds before a verdict. ` +
      `${n.rounds} round(s) in ${(n.elapsedS / 60).toFixed(1)} of ${(n.budgetS / 60).toFixed(0)} min; stopped: ${n.stopped}.`,
    '',
    `| goal | rounds | median | ${level} bracket | verdict |`,
    '|---|---:|---:|---:|---|',
  ];
  for (const v of pairedVerdicts(results, goals, n.level)) {
    const fmt = (x: number) => formatPaired(v.goal, x);
    const bracket = v.bracket ? `${fmt(v.bracket.lo)} … ${fmt(v.bracket.hi)}` : v.values.length ? `— (rounds: ${fmt(Math.min(...v.values))} … ${fmt(Math.max(...v.values))})` : '—';
    const word = v.verdict === 'n/a' ? 'n/a' : v.verdict === 'met' ? 'met' : v.verdict === 'missed' ? 'MISSED' : v.bracket ? 'undecided (bracket crosses the goal)' : 'undecided (too few rounds)';
    out.push(`| ${v.goal.goal} | ${v.values.length} | ${v.values.length ? fmt(v.median) : '—'} | ${bracket} | ${word} |`);
  }
  out.push('');
  return out;
}

/** The full markdown report. */
export function renderMarkdown(results: BenchResults): string {
  const rows = summarize(results);
  const m = results.machine;
  const out: string[] = [];
  out.push(`# meshtap bench — ${results.startedAt}${results.quick ? ' (quick)' : ''}`, '');
  out.push(`- machine: ${m.cores} cores (${m.cpuModel}), kernel ${m.kernel}, Node ${m.node}`);
  out.push(`- load average at start ${m.loadAvgStart.join(' ')}, at end ${(m.loadAvgEnd ?? []).join(' ')} (other work on the machine makes absolute figures noisy; proxy CPU µs per request is the steadiest figure)`);
  out.push(`- tools: ${Object.entries(m.tools).map(([k, v]) => `${k}: ${v}`).join('; ')}`);
  out.push(`- pinning: ${results.pinning.note}`);
  out.push(`- shape: ${results.shape.repeats} repeat(s) × ${results.shape.durationS} s per measurement, interleaved across targets; ${results.shape.warmupS} s warm-up per target; fixed rate ${results.shape.rateRps} req/s`);
  out.push(`- figures: medians over repeats (min–max in brackets); ratios to \`direct\` and to haproxy of the same run; proxy CPU = utime+stime of the proxy's process group during the run, divided by completed requests (TCP: per MiB); RSS = peak of the group, sampled every 250 ms (idle = after start, before load)`);
  out.push('');
  for (const sc of results.scenarios) {
    out.push(`## ${sc.name}: ${sc.title}`, '');
    for (const load of sc.loads) {
      const lr = rows.filter((r) => r.scenario === sc.name && r.load === load);
      if (lr.length === 0) continue;
      const tool = results.runs.find((r) => r.scenario === sc.name && r.load === load && r.result)?.result?.tool ?? '';
      const unit = load === 'stream' ? 'MiB/s' : 'req/s';
      const perUnit = load === 'stream' ? 'µs/MiB' : 'µs/req';
      if (load === 'rate') {
        out.push(`### latency at a fixed ${results.shape.rateRps} req/s (${tool})`, '');
        out.push(`| target | p50 ms | p99 ms | p99.9 ms | added p50 ms | proxy CPU ${perUnit} | RSS peak MB | notes |`);
        out.push('|---|---:|---:|---:|---:|---:|---:|---|');
        for (const r of lr) {
          out.push(`| ${r.target} | ${f(r.latencyMs?.p50, 3)} | ${f(r.latencyMs?.p99, 3)} | ${f(r.latencyMs?.p999, 3)} | ${r.target === 'direct' ? '—' : f(r.addedP50Ms, 3)} | ${f(r.cpuUsPerUnit, 1)} | ${f(r.peakRssMB, 0)} | ${notes(r)} |`);
        }
      } else {
        out.push(`### ${load === 'stream' ? 'throughput' : 'max throughput'} (${tool})`, '');
        out.push(`| target | ${unit} | × direct | × haproxy | proxy CPU ${perUnit} | RSS idle → peak MB | notes |`);
        out.push('|---|---:|---:|---:|---:|---:|---|');
        for (const r of lr) {
          out.push(`| ${r.target} | ${rate(r, unit)} | ${ratio(r.ratioDirect)} | ${ratio(r.ratioHaproxy)} | ${f(r.cpuUsPerUnit, 1)} | ${f(r.idleRssMB, 0)} → ${f(r.peakRssMB, 0)} | ${notes(r)} |`);
        }
      }
      out.push('');
    }
  }
  if (results.skipped.length) {
    out.push('## Not run', '');
    const seen = new Map<string, string[]>();
    for (const s of results.skipped) {
      const key = `${s.target}: ${s.reason}`;
      seen.set(key, [...(seen.get(key) ?? []), s.scenario]);
    }
    for (const [key, scs] of seen) out.push(`- ${key} (${scs.join(', ')})`);
    out.push('');
  }
  if (results.narrow) out.push(...renderNarrow(results, results.narrow));
  out.push('## Goals (js: issue 3; native: issues 13 and 14), each against a peer of this run', '');
  out.push(
    'Value and verdict from the medians over repeats; for goals comparing two targets, "per repeat" is the same ratio within each repeat (its two runs back to back), lowest … highest: when that range crosses the goal, one run cannot decide it (`--until-narrow` can).' +
      (results.narrow ? ' The goals judged in rounds above take their verdict from there: a ratio of medians pairs runs taken minutes apart, the median of per-round ratios pairs runs taken together.' : ''),
    '',
  );
  out.push('| goal | this run | verdict | per repeat |', '|---|---:|---|---|');
  const level = results.narrow?.level ?? 0.95;
  const paired = new Map(pairedVerdicts(results, PAIRED_GOALS, level).map((v) => [v.goal.goal, v]));
  for (const g of checkGoals(rows)) out.push(`| ${g.goal} | ${g.display} | ${verdict(g)} | ${perRepeat(paired.get(g.goal))} |`);
  out.push('');
  out.push(...renderTapCosts(rows));
  out.push('## Targets', '');
  for (const t of results.targets) out.push(`- \`${t.id}\`: ${t.description}`);
  out.push('');
  return out.join('\n');
}
