import { describe, expect, it } from 'vitest';
import { bodyRedactionRules, isCardNumber, redactBody, redactCards, redactForm, redactJson } from './body-redact.js';

const rules = bodyRedactionRules(['ssn', '$.items[*].note']);

describe('body redaction', () => {
  it('JSON: secret fields anywhere, at any depth, whatever their value; the rest byte for byte', () => {
    const text = '{"user":"ann", "Password" : "hunter2","nested":{"token":123,"keep":[1,2]},"api_key":{"a":"b"},"list":[{"client_secret":null}],"ssn":"1"}';
    expect(redactJson(text, rules)).toBe(
      '{"user":"ann", "Password" : "[redacted]","nested":{"token":"[redacted]","keep":[1,2]},"api_key":"[redacted]","list":[{"client_secret":"[redacted]"}],"ssn":"[redacted]"}',
    );
  });

  it('JSON paths and card numbers (strings or numbers), a body cut at the capture limit still redacted', () => {
    expect(redactJson('{"items":[{"note":"x","n":1},{"note":{"deep":1}}],"note":"kept"}', rules)).toBe('{"items":[{"note":"[redacted]","n":1},{"note":"[redacted]"}],"note":"kept"}');
    expect(redactJson('{"card":"4111 1111 1111 1111","n":4111111111111111,"ts":1733460000000}', rules)).toBe('{"card":"[redacted]","n":"[redacted]","ts":1733460000000}');
    expect(redactJson('{"a":1,"password":"hunter2 and more', rules)).toBe('{"a":1,"password":"[redacted]"');
  });

  it('forms and plain text', () => {
    expect(redactForm('user=ann&password=pw%40x&cc=4111-1111-1111-1111&q=1', rules)).toBe('user=ann&password=[redacted]&cc=[redacted]&q=1');
    expect(redactCards('pay with 5500 0000 0000 0004 today, order 1234567890123')).toBe('pay with [redacted] today, order 1234567890123');
    expect(isCardNumber('4111111111111112')).toBe(false);
  });

  it('chooses by content type or shape; base64 bodies untouched', () => {
    const b = (data: string) => ({ size: data.length, truncated: false, encoding: 'utf8' as const, data });
    expect(redactBody(b('{"token":"t"}'), 'text/plain', rules).data).toBe('{"token":"[redacted]"}');
    expect(redactBody(b('token=t'), undefined, rules).data).toBe('token=[redacted]');
    const bin = { size: 3, truncated: false, encoding: 'base64' as const, data: 'AAAA' };
    expect(redactBody(bin, 'application/json', rules)).toBe(bin);
    const clean = b('{"a":1}');
    expect(redactBody(clean, 'application/json', rules)).toBe(clean);
  });
});
