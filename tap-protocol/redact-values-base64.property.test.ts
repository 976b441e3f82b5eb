/**
 * review16: a hidden value echoed base64-encoded inside a body (a JWT-like state, a cursor, a data:
 * URL) is found at any place in the blob, in the standard and the URL-safe alphabet, and the blob's
 * other bytes are left as written.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { REDACTED } from './events.js';
import { scrubEscapedSecrets, SecretSet } from './redact-values.js';

function secretsOf(...values: string[]): readonly string[] {
  const set = new SecretSet();
  for (const v of values) set.add(v);
  return set.values;
}

const TOKEN = 'Tok/en+ab=c d9QZ';

/** Every run of 8+ bytes of `value` that `data` still holds once each base64 run in it is decoded. */
function decodesToValue(text: string, value: string): boolean {
  const bytes = Buffer.from(value, 'utf8');
  for (const run of text.match(/[A-Za-z0-9+/_-]{4,}/g) ?? []) {
    for (let skip = 0; skip < 4; skip++) {
      const decoded = Buffer.from(run.slice(skip).replace(/-/g, '+').replace(/_/g, '/'), 'base64');
      if (decoded.indexOf(bytes) >= 0) return true;
    }
  }
  return false;
}

describe('scrubEscapedSecrets: a hidden value base64-encoded in a body', () => {
  it.each([
    ['aligned, standard', `{"state":"${Buffer.from(TOKEN).toString('base64')}"}`],
    ['one byte in', `{"state":"${Buffer.from(`x${TOKEN}`).toString('base64')}"}`],
    ['two bytes in, URL-safe', `{"state":"${Buffer.from(`xy${TOKEN}:tail`).toString('base64url')}"}`],
    ['inside a JWT-like payload', `eyJhbGciOiJub25lIn0.${Buffer.from(JSON.stringify({ sub: 'u1', tok: TOKEN })).toString('base64url')}.`],
  ])('%s: read [redacted], and no base64 run decodes to the value', (_name, body) => {
    const out = scrubEscapedSecrets(body, secretsOf(TOKEN));
    expect(out).toContain(REDACTED);
    expect(decodesToValue(body, TOKEN)).toBe(true);
    expect(decodesToValue(out, TOKEN)).toBe(false);
  });

  it('a blob without the value, and a value shorter than 8 bytes, are left as written', () => {
    const blob = `{"data":"${Buffer.from('an innocent payload of some length').toString('base64')}"}`;
    expect(scrubEscapedSecrets(blob, secretsOf(TOKEN))).toBe(blob);
    const short = `{"data":"${Buffer.from('xxshort7xx').toString('base64')}"}`;
    expect(scrubEscapedSecrets(short, secretsOf('short7'))).toBe(short);
  });

  it('any value at any place in random bytes: the value no longer decodes from the output', () => {
    fc.assert(
      fc.property(
        fc.string({ minLength: 8, maxLength: 40 }).filter((s) => s.trim() === s && Buffer.byteLength(s) >= 8),
        fc.uint8Array({ maxLength: 40 }),
        fc.uint8Array({ maxLength: 40 }),
        fc.boolean(),
        (value, before, after, urlSafe) => {
          const blob = Buffer.concat([before, Buffer.from(value, 'utf8'), after]).toString(urlSafe ? 'base64url' : 'base64');
          const out = scrubEscapedSecrets(`x=${blob}&y=1`, secretsOf(value));
          expect(out.endsWith('&y=1')).toBe(true);
          expect(decodesToValue(out, value)).toBe(false);
        },
      ),
      { numRuns: 300 },
    );
  });
});
