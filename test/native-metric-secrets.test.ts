/**
 * Metric labels hide what the tap hides, the same in both engines: the C++ port that makes a
 * request's `authority` label and the path its `route` label is made from
 * (native/src/core/metrics-secrets.cc) against proxy/metric-labels.ts `shownRequest` (itself the
 * tap's own functions: redact.ts, redact-query.ts, redact-values.ts, redact-event.ts), on random
 * requests built from what the rules look at (sensitive headers in any case, cookies, Basic and
 * Bearer credentials, secret query parameters in the path and in header values, percent-encoding,
 * URL credentials, non-ASCII, bytes that are not UTF-8 as events show them: `\xE9` in a header,
 * `%E9` in a path), and the JS built-ins the port reproduces (Buffer's base64 and utf8 decoding,
 * encodeURIComponent, decodeURIComponent) on random strings.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { isNativeAvailable, loadNativeMetricsTools } from '../native/index.js';
import { decodeFieldText } from '../proxy/field-text.js';
import { DEFAULT_LABEL_SECRETS, shownRequest, type LabelSecrets } from '../proxy/metric-labels.js';
import { redactAuthority, redactUrlCredentials, secretPolicy } from '../tap-protocol/index.js';
import { reportBpfSkip } from './bpf-skip.js';

const available = isNativeAvailable();
if (!available) reportBpfSkip('test/native-metric-secrets.test.ts', 'the addon is not built (bash scripts/build-native.sh)');

const KEY = 'tenantKey-7f3a9c21';
const PASS = 's3cr3t-p4ss';
const SPELLED = 'k3y+9x/Qz é'; // a value with characters clients escape differently (review10's spellings pass)
const PIECES = [KEY, PASS, SPELLED, 'k3y%2b9x%2fQz', 'k3y+9x%2FQz', 'k3y%2B9x/Qz+%c3%a9', 'a', 'é', '😀', '%2F', '%2f', '%3F', '%3D', '%3d', '%26', '%E2%84%AA', '%C3%A9', '%c3%a9', '%ZZ', '%', '?', '&', ';', '=', '@', ':', '/', '//', 'http://', 'u:p@', ' ', '\u00a0', '"', '+', '#', '.api.example', 'token', 'TOKEN', 'api_key', 'access%5Ftoken', 'to+ken', 'x'.repeat(9), '[redacted]', '\\xE9', '\\xe9', '\\xC3', '\\x7F', '\\x', '%E9', '%e9', '%FF', '%C3', '%ED%A0%80', '%25', '%252F', '%252b', '%25252F', '%2525', 'k3y%252B9x%252FQz', '#', '#access_token=', '%23', '%23token%3D', ',', ', ', 'ü', 'ÿ', 'Ā'];
const text = fc.array(fc.constantFrom(...PIECES), { maxLength: 8 }).map((p) => p.join(''));
const NAMES = ['X-Api-Key', 'x-api-key', 'Authorization', 'authorization', 'Cookie', 'cookie', 'Set-Cookie', 'Referer', 'host', ':authority', ':path', 'x-trace', 'X-Custom-Secret', 'Proxy-Authorization'];
const basic = (user: string, pass: string) => `Basic ${Buffer.from(`${user}:${pass}`).toString('base64')}`;
const value = fc.oneof(
  text,
  fc.tuple(text, text).map(([u, p]) => basic(u, p)),
  fc.constant(basic('user', PASS)),
  fc.constant(`Bearer ${SPELLED}`),
  text.map((t) => `Bearer ${t}`),
  // review11: a tab (or other white space) between the scheme and the credential.
  fc.tuple(fc.constantFrom('\t', ' \t', '\u00a0', '\u2003'), text).map(([ws, t]) => `Bearer${ws}${t}`),
  fc.constantFrom('\t', '\u3000').map((ws) => `Basic${ws}${Buffer.from(`user:${PASS}`).toString('base64')}`),
  fc.array(fc.tuple(fc.constantFrom('sid', 'lang', 'n'), text), { maxLength: 3 }).map((c) => c.map(([k, v]) => `${k}=${v}`).join('; ')),
  // sec12: cookies joined with `,` (review11), a Basic credential with an empty or placeholder password (F6).
  fc.tuple(fc.array(fc.tuple(fc.constantFrom('sid', 'lang', 'n'), text), { maxLength: 3 }), fc.constantFrom(', ', ',', '; ,')).map(([c, sep]) => c.map(([k, v]) => `${k}=${v}`).join(sep)),
  fc.constantFrom(basic(KEY, ''), basic(KEY, 'X'), basic(SPELLED, ''), basic('clé-LATIN7secret', '')),
  text.map((t) => `https://x.example/cb?token=${t}&a=1`),
);
const headers = fc.array(fc.tuple(fc.constantFrom(...NAMES), value), { maxLength: 6 });
const authority = fc.oneof(fc.constant(`${KEY}.api.example`), fc.constant(`${PASS}.example:8080`), fc.constant(`u:${PASS}@${KEY}.x`), text);
const path = fc.oneof(fc.constant(`/v1/t/${KEY}/items`), fc.constant(`/cb?token=${KEY}`), fc.constant(`/cb#access_token=${KEY}`), fc.constant('/x?s=cl%E9-LATIN7secret'), text.map((t) => `/${t}`), text);
const POLICIES: LabelSecrets[] = [DEFAULT_LABEL_SECRETS, { sensitiveHeaders: ['x-custom-secret', 'cookie'], queryParams: ['token', 'pässwort', 'k'] }];

describe.skipIf(!available)('C++ metric labels hide what the tap hides, as the TypeScript does', () => {
  const native = available ? loadNativeMetricsTools() : undefined!;

  it('an API key that is a tenant subdomain reads [redacted] in the label (the defect)', () => {
    const shown = native.showRequest(DEFAULT_LABEL_SECRETS, `${KEY}.api.example`, '/v1/items', [[':authority', `${KEY}.api.example`], ['x-api-key', KEY]]);
    expect(shown).toEqual({ authority: '[redacted].api.example', path: '/v1/items' });
    expect(native.showRequest(DEFAULT_LABEL_SECRETS, 'web', `/t/${KEY}/x?token=abc`, [['x-api-key', KEY]])).toEqual({ authority: 'web', path: '/t/[redacted]/x?token=[redacted]' });
    expect(native.showRequest(DEFAULT_LABEL_SECRETS, `${PASS}.example`, '/', [['Authorization', basic('user', PASS)]]).authority).toBe('[redacted].example');
  });

  it("its own default policy is the TypeScript's (DEFAULT_SENSITIVE_HEADERS, DEFAULT_SECRET_QUERY_PARAMS)", () => {
    for (const name of DEFAULT_LABEL_SECRETS.sensitiveHeaders) {
      expect({ name, shown: native.showRequest(undefined, `${KEY}.api.example`, '/', [[name, KEY]]).authority }).toEqual({ name, shown: '[redacted].api.example' });
    }
    for (const name of DEFAULT_LABEL_SECRETS.queryParams) {
      expect({ name, shown: native.showRequest(undefined, 'web', `/p?${name}=${KEY}`, []).path }).toEqual({ name, shown: `/p?${name}=[redacted]` });
    }
    expect(native.showRequest(undefined, `${KEY}.api.example`, '/', [['x-not-secret', KEY]]).authority).toBe(`${KEY}.api.example`);
  });

  it('makes the labels shownRequest makes, for any request', () => {
    let scrubbed = 0;
    fc.assert(
      fc.property(authority, path, headers, fc.constantFrom(0, 1), (a, p, h, which) => {
        const secrets = POLICIES[which]!;
        const ts = shownRequest(secretPolicy(secrets.sensitiveHeaders, secrets.queryParams), a, p, h);
        expect(native.showRequest(secrets, a, p, h)).toEqual(ts);
        if (ts.authority.includes('[redacted]') && !a.includes('@') && !a.includes('[redacted]')) scrubbed++;
      }),
      { numRuns: 4000 },
    );
    // The generator reaches the case that matters: a hidden value scrubbed from an authority.
    expect(scrubbed).toBeGreaterThan(100);
  });

  // review10 #10: a hidden value holding a byte that is not UTF-8 is scrubbed from its other
  // spelling (`\xE9` in a header, `%E9` in a path) by both engines alike. The request is made of
  // raw octets (latin1 text), decoded as the engines decode them for events.
  it('makes the labels shownRequest makes for requests of any bytes (non-ASCII, invalid UTF-8)', () => {
    const SECRET_OCTETS = 'tok\xe9nKEY\xc3\xa9\xff';
    const bytePiece = fc.constantFrom('a', 'Z', '9', '/', '=', '?', '&', '%', '%e9', '%E9', '%C3%A9', '%c3', '%FF', '\xe9', '\xc3\xa9', '\xc3', '\x80', '\xff', '\xf0\x9f\x98\x80', '\xed\xa0\x80', 'token=', SECRET_OCTETS, 'tok%E9nKEY');
    const octets = fc.array(bytePiece, { maxLength: 10 }).map((p) => p.join(''));
    const rawHeaders = fc.array(fc.tuple(fc.constantFrom(...NAMES), fc.oneof(octets, octets.map((t) => `Bearer ${t}`), fc.constant(SECRET_OCTETS))), { maxLength: 5 });
    // The secret's bytes in the path: raw, or each escaped in lower or upper case.
    const spelled = fc.array(fc.constantFrom(0, 1, 2), { minLength: SECRET_OCTETS.length, maxLength: SECRET_OCTETS.length }).map((how) =>
      [...SECRET_OCTETS].map((c, i) => (how[i] === 0 ? c : `%${c.charCodeAt(0).toString(16)[how[i] === 1 ? 'toLowerCase' : 'toUpperCase']().padStart(2, '0')}`)).join(''),
    );
    const rawPath = fc.oneof(octets, fc.tuple(octets, spelled, octets).map((p) => p.join('')));
    let scrubbed = 0;
    fc.assert(
      fc.property(octets, rawPath, rawHeaders, fc.constantFrom(0, 1), (rawAuthority, rawPath, raw, which) => {
        const secrets = POLICIES[which]!;
        const authority = decodeFieldText(rawAuthority, 'backslash');
        const p = decodeFieldText(`/${rawPath}`, 'percent');
        const h = raw.map(([n, v]) => [n, decodeFieldText(v, 'backslash')] as [string, string]);
        const ts = shownRequest(secretPolicy(secrets.sensitiveHeaders, secrets.queryParams), authority, p, h);
        expect(native.showRequest(secrets, authority, p, h)).toEqual(ts);
        if (ts.path.includes('[redacted]') && /%e9|%ff/i.test(p) && !/%e9|%ff/i.test(ts.path)) scrubbed++;
      }),
      { numRuns: 4000 },
    );
    // The generator reaches the case that matters: a byte that is not UTF-8 scrubbed from the path.
    expect(scrubbed).toBeGreaterThan(50);
  });

  // The HTTP/1 sink makes labels without decoding a head that cannot hide a value (MayHideValues).
  // Any `?` used to count (most API traffic decoded every field for nothing); now only a sensitive
  // header or a secret-named query parameter does. Whenever the pre-check says "nothing hidden",
  // the TypeScript's labels from the fully decoded request must be the undecoded ones.
  it('an HTTP/1 head it does not decode hides nothing (MayHideValues against shownRequest)', () => {
    const queryPiece = fc.constantFrom('?', '&', ';', '%3F', '%3f', '%26', '=', '%3D', 'page', 'sort', 'token', 'Token', 'api_key', 'x-amz-signature', 'pässwort', 'to%6Ben', 'to+ken', 'acc\xe9ss', 'k', 'abc12345', KEY, '%E9', '\xe9', '#', ' ', '/', '"', 'http://u:p@h/');
    const q = fc.array(queryPiece, { maxLength: 10 }).map((p) => p.join(''));
    const name = fc.constantFrom('User-Agent', 'Accept', 'Referer', 'X-Trace', 'x-api-key', 'Cookie', 'X-Custom-Secret', 'Token', 'Location');
    let spared = 0;
    fc.assert(
      fc.property(q, fc.array(fc.tuple(name, q), { maxLength: 4 }), fc.constantFrom(0, 1), (rawQuery, rawHeaders, which) => {
        const secrets = POLICIES[which]!;
        const target = `/v1/items${rawQuery}`.replace(/[ #]/g, (c) => (c === ' ' ? '%20' : '%23'));
        const lines = [`GET ${target} HTTP/1.1`, 'Host: web', ...rawHeaders.map(([n, v]) => `${n}: ${v.trim()}`)];
        const head = Buffer.from(`${lines.join('\r\n')}\r\n\r\n`, 'latin1');
        if (native.mayHideValues(secrets, head)) return;
        const path = decodeFieldText(target, 'percent');
        const fields = [['Host', 'web'], ...rawHeaders.map(([n, v]) => [n, decodeFieldText(v.trim(), 'backslash')])] as Array<[string, string]>;
        const ts = shownRequest(secretPolicy(secrets.sensitiveHeaders, secrets.queryParams), 'web', path, fields);
        expect({ head: head.toString('latin1'), ts }).toEqual({ head: head.toString('latin1'), ts: { authority: redactAuthority('web'), path: redactUrlCredentials(path) } });
        if (head.includes('?')) spared++;
      }),
      { numRuns: 4000 },
    );
    // The point of the pre-check: heads with a query string that hide nothing are not decoded.
    expect(spared).toBeGreaterThan(300);
    const browser = (query: string, extra = '') =>
      Buffer.from(`GET /api/items${query} HTTP/1.1\r\nHost: shop\r\nUser-Agent: Mozilla/5.0\r\nAccept: */*\r\nReferer: https://shop.example/list?page=1\r\n${extra}\r\n`, 'latin1');
    expect(native.mayHideValues(DEFAULT_LABEL_SECRETS, browser('?page=2&sort=desc'))).toBe(false);
    expect(native.mayHideValues(DEFAULT_LABEL_SECRETS, browser('?page=2&TOKEN=abc'))).toBe(true);
    expect(native.mayHideValues(DEFAULT_LABEL_SECRETS, browser('?page=2&access%5Ftoken=abc'))).toBe(true);
    expect(native.mayHideValues(DEFAULT_LABEL_SECRETS, browser('?page=2', 'Location: /x%3Fsig%3Dabc\r\n'))).toBe(true);
    expect(native.mayHideValues(DEFAULT_LABEL_SECRETS, browser('', 'X-Api-Key: k\r\n'))).toBe(true);
    // A fragment's parameters count as a query's (review11 F7).
    expect(native.mayHideValues(DEFAULT_LABEL_SECRETS, browser('#access_token=abc'))).toBe(true);
    expect(native.mayHideValues(DEFAULT_LABEL_SECRETS, browser('?page=2#state=1&id_token=abc'))).toBe(true);
    expect(native.mayHideValues(DEFAULT_LABEL_SECRETS, browser('#section-2'))).toBe(false);
  });

  // The HTTP/2 sink's pre-check (sec12): the same name walk on fields already apart and decoded
  // as events show them. Any `?`, `%3` or `#` used to count.
  it('an HTTP/2 request it does not look into hides nothing (MayHideFieldValues against shownRequest)', () => {
    const queryPiece = fc.constantFrom('?', '&', ';', '%3F', '%3f', '%26', '%23', '=', '%3D', 'page', 'sort', 'token', 'Token', 'api_key', 'x-amz-signature', 'pässwort', 'PÄSSWORT', 'to%6Ben', 'to+ken', 'accéss', 'k', 'abc12345', KEY, '%E9', '\\xE9', 'é', '#', '#access_token=', ' ', '/', '"', 'http://u:p@h/', 'u:p@');
    const q = fc.array(queryPiece, { maxLength: 10 }).map((p) => p.join(''));
    const name = fc.constantFrom(':authority', ':path', 'user-agent', 'accept', 'referer', 'x-trace', 'x-api-key', 'cookie', 'x-custom-secret', 'token', 'location');
    let spared = 0;
    fc.assert(
      fc.property(q, q, fc.array(fc.tuple(name, q), { maxLength: 4 }), fc.constantFrom(0, 1), (rawAuthority, rawQuery, fields, which) => {
        const secrets = POLICIES[which]!;
        const authority = `web${rawAuthority}`;
        const path = `/v1/items${rawQuery}`;
        if (native.mayHideFieldValues(secrets, authority, path, fields)) return;
        const ts = shownRequest(secretPolicy(secrets.sensitiveHeaders, secrets.queryParams), authority, path, fields);
        expect({ authority, path, fields, ts }).toEqual({ authority, path, fields, ts: { authority: redactAuthority(authority), path: redactUrlCredentials(path) } });
        if (path.includes('?')) spared++;
      }),
      { numRuns: 4000 },
    );
    // The point of the pre-check: requests with a query string that hide nothing are not looked into.
    expect(spared).toBeGreaterThan(150);
    const fields = (extra: Array<[string, string]> = []): Array<[string, string]> => [[':authority', 'shop'], ['user-agent', 'grpc-go/1.60'], ['referer', 'https://shop.example/list?page=1'], ...extra];
    expect(native.mayHideFieldValues(DEFAULT_LABEL_SECRETS, 'shop', '/api/items?page=2&sort=desc', fields())).toBe(false);
    expect(native.mayHideFieldValues(DEFAULT_LABEL_SECRETS, 'shop', '/api/items?page=2&TOKEN=abc', fields())).toBe(true);
    expect(native.mayHideFieldValues(DEFAULT_LABEL_SECRETS, 'shop', '/cb#access_token=abc', fields())).toBe(true);
    expect(native.mayHideFieldValues(DEFAULT_LABEL_SECRETS, 'shop', '/api/items', fields([['location', '/x%3Fsig%3Dabc']]))).toBe(true);
    expect(native.mayHideFieldValues(DEFAULT_LABEL_SECRETS, 'shop', '/api/items', fields([['X-Api-Key', 'k']]))).toBe(true);
  });

  it("decodes base64 as Buffer.from(s, 'base64').toString('utf8') does", () => {
    const b64 = fc.array(fc.constantFrom('Q', 'U', 'J', 'D', 'w', '=', '-', '_', '+', '/', ' ', '!', 'Ł', 'Ľ', '😀', 'é', '/w', '/4', '8', 'z'), { maxLength: 24 }).map((p) => p.join(''));
    fc.assert(
      fc.property(fc.oneof(b64, fc.uint8Array({ maxLength: 20 }).map((b) => Buffer.from(b).toString('base64'))), (s) => {
        expect(native.base64ToUtf8(s)).toBe(Buffer.from(s, 'base64').toString('utf8'));
      }),
      { numRuns: 4000 },
    );
  });

  it('encodes and decodes URI components as JS does', () => {
    const pct = fc.array(fc.constantFrom('%', '%2', '%25', '%C3', '%A9', '%E2%84%AA', '%F0%9F%98%80', '%ED%A0%80', '%C0%80', '%F4%90%80%80', '%FF', 'a', 'é', '😀', '+', ' ', '%3d'), { maxLength: 10 }).map((p) => p.join(''));
    fc.assert(
      fc.property(fc.oneof(pct, fc.string({ unit: 'grapheme' })), (s) => {
        let decoded: string | null;
        try {
          decoded = decodeURIComponent(s);
        } catch {
          decoded = null;
        }
        expect(native.decodeUriComponent(s)).toBe(decoded);
        expect(native.encodeUriComponent(s)).toBe(encodeURIComponent(s));
      }),
      { numRuns: 4000 },
    );
  });

  it('redacts URL credentials as redact.ts does', () => {
    fc.assert(
      fc.property(text, (s) => {
        expect(native.redactUrlCredentials(s)).toBe(redactUrlCredentials(s));
      }),
      { numRuns: 3000 },
    );
  });
});
