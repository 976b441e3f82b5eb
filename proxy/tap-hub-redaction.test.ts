/**
 * The tap hub's `shape` (what leaves the sidecar) puts the redactions together: sensitive headers,
 * secret query parameters, secret body fields, and the values they hide scrubbed from every other
 * field of the event, per viewer grant.
 */
import { describe, expect, it } from 'vitest';
import { compileMatches, type TapEvent } from '../tap-protocol/index.js';
import { createTapHub } from './tap-hub.js';

const PW = 'hunter2-hunter2';
const TOKEN = 'tok-0123456789abcdef';
const body = (data: string) => ({ size: data.length, truncated: false, encoding: 'utf8' as const, data });
const event = (): TapEvent => ({
  kind: 'end', id: '1.1', ts: 't', proxy: 'in', src: 'a:1', dst: 'b:2', protocol: 'http/1.1', method: 'POST', scheme: 'http', authority: 'web',
  path: `/login?next=/home&echo=${PW}`,
  requestHeaders: [['Content-Type', 'application/json'], ['Authorization', `Bearer ${TOKEN}`], ['X-Echo', PW]],
  responseHeaders: [['content-type', 'text/plain']],
  requestBody: body(JSON.stringify({ user: 'ann', password: PW })),
  responseBody: body(`welcome ann, your token is ${TOKEN} and your password ${PW}`),
});

describe('tap hub shape: one secret redacted in every field', () => {
  const hub = createTapHub();

  it('a secret body field value is scrubbed from the path, headers and the other body, with or without bodies', () => {
    for (const bodies of [true, false]) {
      const out = hub.shape(event(), { bodies, reveal: new Set() });
      const text = JSON.stringify(out);
      expect(text, `bodies: ${bodies}`).not.toContain(PW);
      expect(text).not.toContain(TOKEN);
      expect(out.path).toBe('/login?next=/home&echo=[redacted]');
      if (bodies) expect(out.responseBody!.data).toBe('welcome ann, your token is [redacted] and your password [redacted]');
      else expect(out.requestBody).toBeUndefined();
    }
  });

  it("--reveal-header authorization shows the token everywhere but not the password; '*' shows the event as it was", () => {
    const e = event();
    const one = hub.shape(e, { bodies: true, reveal: new Set(['authorization']) });
    expect(one.requestHeaders).toContainEqual(['Authorization', `Bearer ${TOKEN}`]);
    expect(one.responseBody!.data).toBe(`welcome ann, your token is ${TOKEN} and your password [redacted]`);
    expect(JSON.stringify(one)).not.toContain(PW);
    expect(hub.shape(e, { bodies: true, reveal: 'all' })).toBe(e);
  });

  it('filters see what the grant shows: a guessed secret matches nothing, the redacted form matches', () => {
    const m = (prefix: string) => hub.redactedMatch({ point: 'req', test: (e) => e.path.startsWith(prefix) }, { reveal: new Set() });
    const e = { ...event(), path: `/cb?access_token=${TOKEN}` };
    expect(m(`/cb?access_token=${TOKEN.slice(0, 6)}`).test(e)).toBe(false);
    expect(m('/cb?access_token=[redacted]').test(e)).toBe(true);
  });

  it('a match on no secret-bearing field (method, status, none) is used as is: no redacted view is made for it', () => {
    const none = compileMatches([]);
    const byMethod = compileMatches([[{ field: 'method', value: 'POST' }], [{ field: 'status', value: '5xx' }]]);
    const byPath = compileMatches([[{ field: 'method', value: 'POST' }, { field: 'pathPrefix', value: '/login' }]]);
    const byHeader = compileMatches([[{ field: 'header', name: 'x-echo', value: TOKEN }]]);
    const echo: TapEvent = { ...event(), requestHeaders: [['Authorization', `Bearer ${TOKEN}`], ['X-Echo', TOKEN]] };
    expect(hub.redactedMatch(none, { reveal: new Set() })).toBe(none);
    expect(hub.redactedMatch(byMethod, { reveal: new Set() })).toBe(byMethod);
    expect(hub.redactedMatch(byPath, { reveal: new Set() })).not.toBe(byPath);
    expect(hub.redactedMatch(byHeader, { reveal: new Set() }).test(echo)).toBe(false);
    expect(byHeader.test(echo)).toBe(true);
  });
});
