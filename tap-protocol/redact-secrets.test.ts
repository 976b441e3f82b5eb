import { describe, expect, it } from 'vitest';
import type { TapEvent } from './events.js';
import { collectSecrets, filterView, NOTHING_HIDDEN, redactEventSecrets, secretPolicy } from './redact-event.js';
import { DEFAULT_SECRET_QUERY_PARAMS, queryNames, redactQuerySecrets } from './redact-query.js';
import { headerSecrets, MAX_SCRUBBED_SECRETS, scrubSecrets, SecretSet } from './redact-values.js';

const names = queryNames(DEFAULT_SECRET_QUERY_PARAMS);
const TOKEN = 'eyJhbGciOiJIUzI1NiJ9.c2VjcmV0.sig-Tk9_x';

describe('secret query parameters', () => {
  it.each([
    ['/plain', '/plain'],
    ['/search?q=cats&page=2', '/search?q=cats&page=2'],
    [`/x?access_token=${TOKEN}`, '/x?access_token=[redacted]'],
    ['/x?a=1&Token=abc&b=2', '/x?a=1&Token=[redacted]&b=2'],
    ['/x?api_key=k1;sig=s2#frag', '/x?api_key=[redacted];sig=[redacted]#frag'],
    ['/s3/o?X-Amz-Credential=AKIA%2F2026&X-Amz-Signature=abcdef&X-Amz-Date=20260101', '/s3/o?X-Amz-Credential=[redacted]&X-Amz-Signature=[redacted]&X-Amz-Date=20260101'],
    ['/login?next=/cb?token=T1&x=1', '/login?next=/cb?token=[redacted]&x=1'],
    ['/login?next=%2Fcb%3Ftoken%3DT1%26x%3D1', '/login?next=%2Fcb%3Ftoken%3D[redacted]%26x%3D1'],
    ['/a%3Fpassword%3Dhunter2', '/a%3Fpassword%3D[redacted]'],
    ['/x?access%5Ftoken=T&api+key=z', '/x?access%5Ftoken=[redacted]&api+key=z'],
    ['/x?token=&token', '/x?token=&token'],
    ['/x?token=[redacted]', '/x?token=[redacted]'],
    ['/x?tokens=1&mytoken=2', '/x?tokens=1&mytoken=2'],
    ['<https://h/p?sig=abc>; rel="next", <https://h/q?page=2>', '<https://h/p?sig=[redacted]>; rel="next", <https://h/q?page=2>'],
    ['https://app/cb?code=c&state=s password=x', 'https://app/cb?code=c&state=s password=x'],
  ])('%s -> %s', (input, out) => expect(redactQuerySecrets(input, names)).toBe(out));

  it('returns the same string when nothing is secret', () => {
    const s = '/search?q=cats&page=2';
    expect(redactQuerySecrets(s, names)).toBe(s);
  });

  it('names the values it finds instead of rewriting when asked', () => {
    const seen: string[] = [];
    expect(redactQuerySecrets('/x?token=abc&password=p%2Fw', names, (v) => seen.push(v))).toBe('/x?token=abc&password=p%2Fw');
    expect(seen).toEqual(['abc', 'p%2Fw']);
  });
});

describe('secret values of sensitive headers', () => {
  const parts = (name: string, value: string): string[] => {
    const out: string[] = [];
    headerSecrets(name, value, (s) => out.push(s));
    return out;
  };
  it('takes the credential of Authorization, each cookie value, a Set-Cookie value, any other value whole', () => {
    expect(parts('authorization', `Bearer ${TOKEN}`)).toEqual([TOKEN]);
    expect(parts('authorization', `Basic ${Buffer.from('alice:correct-horse').toString('base64')}`)).toEqual([Buffer.from('alice:correct-horse').toString('base64'), 'correct-horse']);
    expect(parts('cookie', 'sid=s3ss10n-abcdef; lang=en; q="quoted-value-1"')).toEqual(['s3ss10n-abcdef', 'en', 'quoted-value-1']);
    expect(parts('set-cookie', 'sid=s3ss10n-abcdef; Path=/; HttpOnly')).toEqual(['s3ss10n-abcdef']);
    expect(parts('x-api-key', ' k-0123456789 ')).toEqual(['k-0123456789']);
  });

  it('regression (review11): the scheme ends at any white space, a tab too', () => {
    expect(parts('authorization', `Bearer\t${TOKEN}`)).toEqual([TOKEN]);
    expect(parts('proxy-authorization', `Bearer \t ${TOKEN}`)).toEqual([TOKEN]);
    expect(parts('authorization', `Basic\t${Buffer.from('alice:correct-horse').toString('base64')}`)).toEqual([Buffer.from('alice:correct-horse').toString('base64'), 'correct-horse']);
    expect(parts('authorization', `Bearer\u00a0${TOKEN}`)).toEqual([TOKEN]);
  });

  it('keeps secrets of 8+ characters, longest first, with their percent-encoded form', () => {
    const set = new SecretSet();
    for (const s of ['en', 'abc/def+gh=', '[redacted]', 'abcdefgh', 'abcdefgh']) set.add(s);
    expect(set.values).toEqual(['abc%2Fdef%2Bgh%3D', 'abc/def+gh=', 'abcdefgh']);
    expect(scrubSecrets('/f/abc%2Fdef%2Bgh%3D/abcdefgh!', set.values)).toBe('/f/[redacted]/[redacted]!');
    const clean = '/nothing/here';
    expect(scrubSecrets(clean, set.values)).toBe(clean);
  });
});

describe('an event as a viewer sees it', () => {
  const policy = secretPolicy(['authorization', 'cookie', 'set-cookie', 'x-api-key'], DEFAULT_SECRET_QUERY_PARAMS);
  const event = (over: Partial<TapEvent> = {}): TapEvent => ({
    kind: 'end', id: '1.1', ts: 't', proxy: 'in', src: 'a:1', dst: 'b:2', protocol: 'h2', method: 'GET', scheme: 'http', authority: 'web',
    path: `/cb?access_token=${TOKEN}&state=${TOKEN}`,
    requestHeaders: [[':path', `/cb?access_token=${TOKEN}&state=${TOKEN}`], ['authorization', `Bearer ${TOKEN}`], ['referer', `http://w/p?api_key=K-123456789`], ['x-echo', `seen K-123456789`], ['accept', '*/*']],
    responseHeaders: [['location', `/next?token=${TOKEN}`], ['set-cookie', 'sid=S-0987654321; HttpOnly']],
    grpcMessage: `bad token ${TOKEN}`,
    ...over,
  });

  it('redacts the parameters by name and every hidden value everywhere else', () => {
    const e = event();
    const out = redactEventSecrets(e, policy, new Set(), collectSecrets(e, policy, new Set()));
    expect(JSON.stringify(out)).not.toContain(TOKEN);
    expect(JSON.stringify(out)).not.toContain('K-123456789');
    expect(out.path).toBe('/cb?access_token=[redacted]&state=[redacted]');
    expect(out.requestHeaders).toEqual([
      [':path', '/cb?access_token=[redacted]&state=[redacted]'], ['authorization', '[redacted]'], ['referer', 'http://w/p?api_key=[redacted]'], ['x-echo', 'seen [redacted]'], ['accept', '*/*'],
    ]);
    expect(out.responseHeaders).toEqual([['location', '/next?token=[redacted]'], ['set-cookie', '[redacted]']]);
    expect(out.grpcMessage).toBe('bad token [redacted]');
    expect(e.path).toContain(TOKEN); // the recorder's event is untouched
  });

  it('a header revealed by name is shown whole, and its value is not hidden elsewhere; parameters need *', () => {
    const e = event({ path: `/u?state=${TOKEN}` });
    const reveal = new Set(['authorization']);
    const out = redactEventSecrets(e, policy, reveal, collectSecrets(e, policy, reveal));
    expect(out.path).toBe(`/u?state=${TOKEN}`);
    expect(out.requestHeaders![1]).toEqual(['authorization', `Bearer ${TOKEN}`]);
    expect(out.requestHeaders![0]).toEqual([':path', `/cb?access_token=[redacted]&state=${TOKEN}`]);
    expect(redactEventSecrets(e, policy, 'all', collectSecrets(e, policy, 'all'))).toBe(e);
  });

  it('returns the event itself when there is nothing to hide', () => {
    const e = event({ path: '/x?q=1', requestHeaders: [['accept', '*/*']], responseHeaders: [['content-type', 'text/plain']], grpcMessage: undefined });
    expect(collectSecrets(e, policy, new Set())).toBe(NOTHING_HIDDEN);
    expect(redactEventSecrets(e, policy, new Set(), undefined)).toBe(e);
    expect(filterView(e, policy, new Set())).toBe(e);
  });

  it('scrubs at most MAX_SCRUBBED_SECRETS values, an Authorization credential before any cookie, and counts the bound', () => {
    let hits = 0;
    const bounded = secretPolicy(['authorization', 'cookie'], DEFAULT_SECRET_QUERY_PARAMS, () => hits++);
    const cookies = Array.from({ length: 200 }, (_, i) => `c${i}=cookie-value-${i}`).join('; ');
    const e = event({ path: `/p?state=${TOKEN}`, requestHeaders: [['cookie', cookies], ['authorization', `Bearer ${TOKEN}`]], responseHeaders: [], grpcMessage: undefined });
    const secrets = collectSecrets(e, bounded, new Set())!;
    expect(secrets.length).toBe(MAX_SCRUBBED_SECRETS);
    expect(secrets).toContain(TOKEN);
    expect(hits).toBe(1);
    expect(redactEventSecrets(e, bounded, new Set(), secrets).path).toBe('/p?state=[redacted]');
  });
});
