/**
 * Properties of query-secret redaction and value scrubbing over generated text (they run on the
 * sidecar's JS thread for every tapped event, as body redaction does: a scan that does not end
 * would stop a js sidecar's forwarding, see proxy/body-redact.property.test.ts):
 * - every call ends, on any text (under a vm timeout, so a loop fails instead of hanging);
 * - only values change: the output is the input with some spans replaced by `[redacted]`;
 * - no secret-named parameter keeps a value: after redaction, `NAME=` (after a separator) is
 *   followed by `[redacted]`, a separator or the end of the URL.
 */
import * as vm from 'node:vm';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { DEFAULT_SECRET_QUERY_PARAMS, queryNames, redactQuerySecrets } from './redact-query.js';
import { scrubSecrets } from './redact-values.js';
import { onlySpansReplaced } from '../test/support/redacted-spans.js';

const names = queryNames(DEFAULT_SECRET_QUERY_PARAMS);
const sandbox = vm.createContext({ redactQuerySecrets, scrubSecrets, names, text: '', secrets: [] as string[] });
function within(code: string, text: string, secrets: string[] = []): string {
  sandbox.text = text;
  sandbox.secrets = secrets;
  return vm.runInContext(code, sandbox, { timeout: 2_000 }) as string;
}

/** Pieces a URL with secrets is made of, in any order. */
const PIECE = fc.constantFrom('?', '&', ';', '=', '%3F', '%3f', '%26', '%3D', '%', '%3', '#', '>', ' ', '"', '/', 'token', 'Access_Token', 'sig', 'X-Amz-Signature', 'api%5Fkey', 'page', 'v', '[redacted]', 'http://h/p', 'é', '\u2028');
const TEXT = fc.oneof(fc.array(PIECE, { maxLength: 40 }).map((p) => p.join('')), fc.string({ maxLength: 80 }));


describe('query secret redaction (properties)', () => {
  it('ends on any text and only replaces values', () => {
    fc.assert(
      fc.property(TEXT, (text) => {
        const out = within('redactQuerySecrets(text, names)', text);
        expect(onlySpansReplaced(text, out), JSON.stringify({ text, out })).toBe(true);
      }),
      { numRuns: 3000 },
    );
  });

  it('leaves no value after a literal secret name in a literal query', () => {
    const value = fc.stringMatching(/^[A-Za-z0-9._~-]{1,12}$/).filter((v) => v !== '[redacted]');
    fc.assert(
      fc.property(fc.array(fc.tuple(fc.constantFrom('token', 'API_KEY', 'page', 'sig', 'q'), value), { minLength: 1, maxLength: 6 }), fc.constantFrom('&', ';'), (params, sep) => {
        const text = `/p?${params.map(([n, v]) => `${n}=${v}`).join(sep)}`;
        const out = within('redactQuerySecrets(text, names)', text);
        const expected = `/p?${params.map(([n, v]) => `${n}=${['token', 'api_key', 'sig'].includes(n.toLowerCase()) ? '[redacted]' : v}`).join(sep)}`;
        expect(out).toBe(expected);
      }),
      { numRuns: 1000 },
    );
  });

  it('scrubbing ends and removes every secret', () => {
    // Upper-case secrets: no occurrence can be made of the lower-case `[redacted]` put in its place.
    const secret = fc.stringMatching(/^[A-Z0-9]{8,12}$/);
    fc.assert(
      fc.property(TEXT, fc.array(secret, { maxLength: 3 }), (text, secrets) => {
        const withSecrets = secrets.length > 0 ? `${text}${secrets.join(text)}${text}` : text;
        const sorted = [...secrets].sort((a, b) => b.length - a.length);
        const out = within('scrubSecrets(text, secrets)', withSecrets, sorted);
        for (const s of sorted) expect(out, s).not.toContain(s);
        expect(onlySpansReplaced(withSecrets, out)).toBe(true);
      }),
      { numRuns: 1000 },
    );
  });
});
