/** `meshtap check` output: one line per check, ✔/✖, and on failure a hint on how to fix it. */
import type { CheckResult } from '../../common/index.js';

/** Text lines for a group of results under a heading. */
export function formatCheckResults(heading: string, results: CheckResult[]): string {
  const lines = [heading, '-'.repeat(heading.length)];
  for (const r of results) {
    lines.push(`${r.ok ? '✔' : '✖'} ${r.name}${r.detail ? (r.ok ? ` (${r.detail})` : `: ${r.detail}`) : ''}`);
    if (!r.ok && r.hint) lines.push(`    hint: ${r.hint}`);
  }
  return lines.join('\n') + '\n';
}
