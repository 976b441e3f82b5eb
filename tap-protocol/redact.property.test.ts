/**
 * redactUrlCredentials over generated values: exactly what the regular expressions it replaced
 * gave (kept here as the reference), and done in one pass. The regex rescanned a run of scheme
 * letters from each of them: a 60 KiB request path of letters after an `@` took ~5 s of the JS
 * thread, and a js sidecar sizes every exchange's path with it (exchange-events.ts). The pass is
 * run under a vm timeout, so a return of that fails the test instead of stalling the worker.
 */
import * as vm from 'node:vm';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { REDACTED } from './events.js';
import { redactUrlCredentials } from './redact.js';

/** The regular expressions redactUrlCredentials was (up to 2026-12 session 6): the reference. */
function byRegex(value: string): string {
  if (value.indexOf('@') < 0) return value;
  let out = value.replace(/([A-Za-z][A-Za-z0-9+.-]*:\/\/)[^/?#\s]*@/g, `$1${REDACTED}@`);
  if (out.startsWith('//')) out = out.replace(/^\/\/[^/?#\s]*@/, `//${REDACTED}@`);
  return out;
}

const sandbox = vm.createContext({ redact: redactUrlCredentials, value: '' });
function redactWithin(value: string): string {
  sandbox.value = value;
  return vm.runInContext('redact(value)', sandbox, { timeout: 2_000 }) as string;
}

describe('URL credential redaction (properties)', () => {
  it('gives exactly what the regex gave, on URL-ish text of any shape', () => {
    const piece = fc.oneof(
      { weight: 3, arbitrary: fc.constantFrom('http', 'a', 'B1', '+', '-', '.', '9', ':', '/', '//', '://', '@', 'u:p@', '?', '#', ' ', '\t', '\v', '\u00a0', '\u2028', '\ufeff', '\0', '\x1f', '%40', 'é', '[redacted]') },
      { weight: 1, arbitrary: fc.string({ unit: 'grapheme', maxLength: 4 }) },
    );
    fc.assert(
      fc.property(fc.array(piece, { maxLength: 30 }), (pieces) => {
        const value = pieces.join('');
        expect(redactWithin(value), JSON.stringify(value)).toBe(byRegex(value));
      }),
      { numRuns: 2_000 },
    );
  });

  it('one pass over long runs of scheme letters, colons and authorities (the regex took seconds)', () => {
    const long = 60_000;
    const cases: Array<[string, string]> = [
      ['/@' + 'a'.repeat(long), '/@' + 'a'.repeat(long)],
      ['@a://' + 'b'.repeat(long), '@a://' + 'b'.repeat(long)],
      ['a1'.repeat(long / 2) + '@', 'a1'.repeat(long / 2) + '@'],
      ['//' + 'a@'.repeat(long / 2), `//${REDACTED}@`],
      ['x://'.repeat(long / 4) + '@', 'x://'.repeat(long / 4) + `${REDACTED}@`],
    ];
    for (const [value, redacted] of cases) expect(redactWithin(value)).toBe(redacted);
  });
});
