/**
 * A recorded value with `[redacted]` in it (a header, a JSON string, a text body whose secret the
 * recording tap's grant did not reveal) against what a target answered: each `[redacted]` stands
 * for any text, so `Bearer [redacted]` matches `Bearer abc` and `/next?token=[redacted]` matches
 * `/next?token=xyz`. All a replay can know; the rest of the value is still compared exactly.
 */
import { REDACTED } from '../tap-protocol/index.js';

/** Whether `actual` fits `expected`, reading each `[redacted]` in `expected` as any text (none included). */
export function matchesRedacted(expected: string, actual: string): boolean {
  if (expected === actual) return true;
  if (expected.indexOf(REDACTED) < 0) return false;
  const parts = expected.split(REDACTED);
  const first = parts[0]!;
  const last = parts[parts.length - 1]!;
  if (!actual.startsWith(first) || actual.length < first.length + last.length || !actual.endsWith(last)) return false;
  let at = first.length;
  const end = actual.length - last.length;
  for (let i = 1; i < parts.length - 1; i++) {
    const found = actual.indexOf(parts[i]!, at);
    if (found < 0 || found + parts[i]!.length > end) return false;
    at = found + parts[i]!.length;
  }
  return true;
}
