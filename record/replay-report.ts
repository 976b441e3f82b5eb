/**
 * Replay results for people and tools: a text summary (counts, target latency percentiles,
 * the first differences of each mismatch), one JSON document, and JUnit XML for CI.
 */
import { escapeForTerminal } from '../common/index.js';
import { podQualifiedId } from '../tap-protocol/index.js';
import type { ExchangeResult } from './replay.js';

export interface ReplaySummary {
  total: number;
  matched: number;
  mismatched: number;
  failed: number;
  /** Target latency (request start -> end of response), ms. */
  latencyMs: { p50: number; p90: number; p99: number; max: number } | null;
}

/** Nearest-rank percentile of sorted values. */
function percentile(sorted: number[], p: number): number {
  const rank = Math.max(1, Math.ceil((p / 100) * sorted.length));
  return sorted[rank - 1]!;
}

export function summarize(results: readonly ExchangeResult[]): ReplaySummary {
  const lat = results.map((r) => r.durationMs).filter((x): x is number => x !== undefined).sort((a, b) => a - b);
  const round = (x: number): number => Math.round(x * 100) / 100;
  return {
    total: results.length,
    matched: results.filter((r) => r.outcome === 'match').length,
    mismatched: results.filter((r) => r.outcome === 'mismatch').length,
    failed: results.filter((r) => r.outcome === 'failed').length,
    latencyMs: lat.length ? { p50: round(percentile(lat, 50)), p90: round(percentile(lat, 90)), p99: round(percentile(lat, 99)), max: round(lat[lat.length - 1]!) } : null,
  };
}

const name = (r: ExchangeResult): string => `${podQualifiedId(r)} ${r.method} ${r.path}${r.loop ? ` (loop ${r.loop + 1})` : ''}`;

/** Human-readable report: mismatches and failures with their differences, then the summary (terminal-safe). */
export function formatText(results: readonly ExchangeResult[], maxDiffsEach = 10): string {
  const lines: string[] = [];
  for (const r of results) {
    if (r.outcome === 'failed') lines.push(`FAILED   ${name(r)}: ${r.error ?? 'unknown error'}`);
    if (r.outcome !== 'mismatch') continue;
    lines.push(`MISMATCH ${name(r)}`);
    for (const d of r.differences.slice(0, maxDiffsEach)) {
      lines.push(`  ${d.field}: expected ${d.expected ?? '(absent)'}, got ${d.actual ?? '(absent)'}`);
    }
    if (r.differences.length > maxDiffsEach) lines.push(`  … ${r.differences.length - maxDiffsEach} more`);
  }
  const s = summarize(results);
  const lat = s.latencyMs ? `; target latency p50 ${s.latencyMs.p50}ms p90 ${s.latencyMs.p90}ms p99 ${s.latencyMs.p99}ms max ${s.latencyMs.max}ms` : '';
  lines.push(`${s.total} exchange${s.total === 1 ? '' : 's'}: ${s.matched} matched, ${s.mismatched} mismatched, ${s.failed} failed${lat}`);
  // Paths, header values and grpc-messages come from the recording and the target: shown, never
  // obeyed by the terminal (nor able to forge a line of the report).
  return lines.map(escapeForTerminal).join('\n') + '\n';
}

/** `-o json`: summary plus every result. */
export function formatJson(results: readonly ExchangeResult[]): string {
  return JSON.stringify({ summary: summarize(results), results }, null, 2) + '\n';
}

const xml = (s: string): string =>
  s.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&apos;' })[c]!)
    // XML 1.0 forbids most control characters even escaped.
    .replace(/[\u0000-\u0008\u000b\u000c\u000e-\u001f]/g, '');

/** JUnit XML: one testcase per exchange; mismatch = failure, send error = error. */
export function formatJunit(results: readonly ExchangeResult[], suiteName = 'meshtap replay'): string {
  const s = summarize(results);
  const cases = results.map((r) => {
    const time = ((r.durationMs ?? 0) / 1000).toFixed(3);
    const open = `  <testcase classname="${xml(`${r.protocol}`)}" name="${xml(name(r))}" time="${time}"`;
    if (r.outcome === 'match') return `${open}/>`;
    if (r.outcome === 'failed') return `${open}>\n    <error message="${xml(r.error ?? 'failed')}"/>\n  </testcase>`;
    const body = r.differences.map((d) => `${d.field}: expected ${d.expected ?? '(absent)'}, got ${d.actual ?? '(absent)'}`).join('\n');
    return `${open}>\n    <failure message="${xml(`${r.differences.length} differences`)}">${xml(body)}</failure>\n  </testcase>`;
  });
  return [
    '<?xml version="1.0" encoding="UTF-8"?>',
    `<testsuite name="${xml(suiteName)}" tests="${s.total}" failures="${s.mismatched}" errors="${s.failed}">`,
    ...cases,
    '</testsuite>',
    '',
  ].join('\n');
}
