/**
 * Renders BenchResults as the markdown report (`bench/results/<ts>.md`, `bench/REPORT.md`):
 * machine facts first, then one table per scenario and load, then the goal checks.
 */
import { checkGoals, summarize, verdict, type SummaryRow } from './report.js';
import type { BenchResults } from './results.js';

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
  if (r.tap) n.push(`tap got ${r.tap.events} events${r.tap.withBodies !== undefined ? ` (${r.tap.withBodies} with a response body)` : ''}, ${r.tap.dropped} dropped`);
  return n.join('; ').replace(/\|/g, '/');
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
  out.push('## Goals (js: issue 3; native: issues 13 and 14), each against a peer of this run', '');
  out.push('| goal | this run | verdict |', '|---|---:|---|');
  for (const g of checkGoals(rows)) out.push(`| ${g.goal} | ${g.display} | ${verdict(g)} |`);
  out.push('');
  out.push('## Targets', '');
  for (const t of results.targets) out.push(`- \`${t.id}\`: ${t.description}`);
  out.push('');
  return out.join('\n');
}
