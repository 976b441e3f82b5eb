import { describe, expect, it } from 'vitest';
import { AUTHORITY_REDACTION_CASES } from './redact.cases.js';
import { redactAuthority, redactHeaderCredentials, redactUrlCredentials } from './redact.js';

describe('URL credential redaction', () => {
  it.each(AUTHORITY_REDACTION_CASES)('authority %s -> %s', (input, out) => expect(redactAuthority(input)).toBe(out));

  it.each([
    ['/plain', '/plain'],
    ['/users/@me', '/users/@me'],
    ['http://user:p@ss@web/x?y=@z', 'http://[redacted]@web/x?y=@z'],
    ['HTTPS://u:pw@h', 'HTTPS://[redacted]@h'],
    ['/login?next=http://a:b@evil/x', '/login?next=http://[redacted]@evil/x'],
    ['//u:pw@host/x', '//[redacted]@host/x'],
    ['<http://a:1@x/>, <ftp://b:2@y/>', '<http://[redacted]@x/>, <ftp://[redacted]@y/>'],
    ['mailto:someone@example.com', 'mailto:someone@example.com'],
  ])('url text %s -> %s', (input, out) => expect(redactUrlCredentials(input)).toBe(out));

  it('header lists: Host and :authority as authorities, other values as URL text; untouched lists are returned as is', () => {
    const clean: Array<[string, string]> = [['Host', 'web'], ['accept', '*/*']];
    expect(redactHeaderCredentials(clean)).toBe(clean);
    expect(
      redactHeaderCredentials([['HOST', 'a:b@web'], [':authority', 'x:y@z@web'], ['referer', 'http://u:p@r/'], ['from', 'me@example.com']]),
    ).toEqual([['HOST', '[redacted]@web'], [':authority', '[redacted]@web'], ['referer', 'http://[redacted]@r/'], ['from', 'me@example.com']]);
  });
});
