/**
 * Properties of body redaction over generated bodies (it runs on the JS thread of both engines for
 * every captured body a tap with bodies sees, so a scan that does not end stops a js sidecar's
 * forwarding: the `{\v\0` loop found by test/differential-http1.test.ts, seed -518561582):
 * - every call ends, on any text (each call runs under a vm timeout, so a loop fails the test
 *   instead of hanging the worker);
 * - only redacted values change: the output is the input with some spans replaced by `[redacted]`;
 * - a secret field's value never shows, whatever whitespace (every `\s` character) sits between
 *   the tokens and wherever the capture limit cut the body.
 */
import * as vm from 'node:vm';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { TapBody } from '../tap-protocol/index.js';
import { bodyRedactionRules, redactBody } from './body-redact.js';
import { onlySpansReplaced } from '../test/support/redacted-spans.js';

const rules = bodyRedactionRules(['ssn', '$.items[*].note']);

/** Every character JavaScript's `\s` matches (JSON allows only the first four between tokens). */
const WHITESPACE = [' ', '\t', '\n', '\r', '\v', '\f', '\u00a0', '\u1680', '\u2000', '\u2005', '\u200a', '\u2028', '\u2029', '\u202f', '\u205f', '\u3000', '\ufeff'];
const CONTENT_TYPES = [undefined, 'application/json', 'application/x-www-form-urlencoded', 'text/plain'];

const sandbox = vm.createContext({ redactBody, rules, body: undefined, contentType: undefined });
/** A JSON scalar's replacement brings its own quotes. */
const JSON_MARKER = /"?\[redacted\]"?/;

/** redactBody, stopped (and failing) after 2 s instead of looping forever. */
function redactWithin(data: string, contentType: string | undefined): string {
  const body: TapBody = { size: data.length, truncated: false, encoding: 'utf8', data };
  sandbox.body = body;
  sandbox.contentType = contentType;
  return (vm.runInContext('redactBody(body, contentType, rules)', sandbox, { timeout: 2_000 }) as TapBody).data;
}


const ws = fc.array(fc.constantFrom(...WHITESPACE), { maxLength: 2 }).map((a) => a.join(''));
/** Secret values carry SECRET; nothing else in these documents has a capital S, so one visible S is a leak (cut values included). */
const SECRET = 'S3CR3T';
const secretKey = fc.constantFrom('password', 'Token', 'api_key', 'client_secret', 'ssn');
const plainKey = fc.constantFrom('user', 'items', 'note', 'n', 'list', 'a');
const scalar = fc.oneof(fc.constantFrom('1', '-2.5e3', 'true', 'null', '4111111111111111'), fc.stringMatching(/^[a-z0-9 ]{0,8}$/).map((s) => JSON.stringify(s)));
const secretValue = fc.oneof(
  fc.nat().map((n) => `"${SECRET}${n}"`),
  fc.nat().map((n) => `{"x":"${SECRET}${n}"}`),
  fc.nat().map((n) => `["${SECRET}${n}"]`),
);
const { object } = fc.letrec<{ json: string; object: string; array: string }>((tie) => ({
  json: fc.oneof({ depthSize: 'small', withCrossShrink: true }, scalar, tie('object'), tie('array')),
  object: fc
    .array(
      fc.oneof(
        fc.tuple(ws, secretKey, ws, ws, secretValue, ws),
        fc.tuple(ws, plainKey, ws, ws, tie('json'), ws),
      ),
      { maxLength: 4 },
    )
    .map((members) => `{${members.map(([a, k, b, c, v, d]) => `${a}"${k}"${b}:${c}${v}${d}`).join(',')}}`),
  array: fc.array(fc.tuple(ws, tie('json'), ws), { maxLength: 4 }).map((items) => `[${items.map(([a, v, b]) => `${a}${v}${b}`).join(',')}]`),
}));

describe('body redaction (properties)', () => {
  it('any text, any content type: the scan ends and changes nothing but redacted spans', () => {
    const piece = fc.oneof(
      fc.constantFrom('{', '}', '[', ']', ',', ':', '"', '\\', '=', '&', '"password"', 'token=', '4111 1111 1111 1111', '1', 'null', ...WHITESPACE, '\0'),
      fc.string({ unit: 'grapheme', maxLength: 4 }),
    );
    fc.assert(
      fc.property(fc.array(piece, { maxLength: 40 }), fc.constantFrom(...CONTENT_TYPES), (pieces, contentType) => {
        const text = pieces.join('');
        const out = redactWithin(text, contentType);
        expect(onlySpansReplaced(text, out, JSON_MARKER), `${JSON.stringify(text)} -> ${JSON.stringify(out)}`).toBe(true);
      }),
      { numRuns: 400 },
    );
  });

  it('deeply nested bodies up to the default 64 KiB limit: one pass (finding each container\'s end made it quadratic: 16 s for `[` x 64 Ki)', () => {
    const n = 64 * 1024;
    expect(redactWithin('['.repeat(n), undefined)).toBe('['.repeat(n));
    const nested = '{"a":'.repeat(n / 5) + '{"password":"S3CR3T","b":[1,{"c":2}]}';
    expect(redactWithin(nested, 'application/json')).toBe('{"a":'.repeat(n / 5) + '{"password":"[redacted]","b":[1,{"c":2}]}');
  });

  it('JSON with any whitespace between tokens, cut at any length: no secret value shows, the rest is unchanged', () => {
    fc.assert(
      fc.property(fc.constantFrom('', '\ufeff', ' ', '\v'), object, fc.nat(), fc.constantFrom(undefined, 'application/json'), (lead, doc, cutAt, contentType) => {
        const whole = lead + doc;
        const text = whole.slice(0, cutAt % (whole.length + 1));
        const out = redactWithin(text, contentType);
        expect(onlySpansReplaced(text, out, JSON_MARKER), `${JSON.stringify(text)} -> ${JSON.stringify(out)}`).toBe(true);
        expect(out, JSON.stringify(text)).not.toContain('S');
      }),
      { numRuns: 400 },
    );
  });
});
