import * as vm from 'node:vm';
import { gzipSync } from 'node:zlib';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { bodyRedactionRules, DecodeBudget, isCardNumber, isEncodedBody, redactBody, redactCards, redactForm, redactJson, scrubBody } from './body-redact.js';

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

  it('chooses by content type or shape; binary bodies untouched', () => {
    const b = (data: string) => ({ size: data.length, truncated: false, encoding: 'utf8' as const, data });
    expect(redactBody(b('{"token":"t"}'), 'text/plain', rules).data).toBe('{"token":"[redacted]"}');
    expect(redactBody(b('token=t'), undefined, rules).data).toBe('token=[redacted]');
    const bin = { size: 3, truncated: false, encoding: 'base64' as const, data: 'AAAA' };
    expect(redactBody(bin, 'application/json', rules)).toBe(bin);
    const clean = b('{"a":1}');
    expect(redactBody(clean, 'application/json', rules)).toBe(clean);
  });

  it('text that is not UTF-8 as captured (sent as base64): its fields redacted in its bytes, the other bytes as sent; binary untouched', () => {
    const b64 = (bytes: Buffer) => ({ size: bytes.length, truncated: false, encoding: 'base64' as const, data: bytes.toString('base64') });
    const bytesOf = (body: { data: string }) => Buffer.from(body.data, 'base64');
    // A Latin-1 byte in JSON; a UTF-8 JSON cut inside a character; a form with a Latin-1 byte.
    const latin1 = Buffer.concat([Buffer.from('{"password":"hunter2","name":"Jos'), Buffer.from([0xe9]), Buffer.from('"}')]);
    const found: string[] = [];
    expect(bytesOf(redactBody(b64(latin1), undefined, rules, (v) => found.push(v)))).toEqual(Buffer.from(latin1.toString('latin1').replace('hunter2', '[redacted]'), 'latin1'));
    const cut = Buffer.from('{"token":"tök-12345678","n":"é').subarray(0, -1);
    expect(bytesOf(redactBody(b64(cut), 'application/json', rules, (v) => found.push(v)))).toEqual(Buffer.concat([Buffer.from('{"token":"[redacted]","n":"'), Buffer.from([0xc3])]));
    const form = Buffer.concat([Buffer.from('password=pw1&city=K'), Buffer.from([0xf6]), Buffer.from('ln')]);
    expect(bytesOf(redactBody(b64(form), 'application/x-www-form-urlencoded', rules))).toEqual(Buffer.concat([Buffer.from('password=[redacted]&city=K'), Buffer.from([0xf6]), Buffer.from('ln')]));
    // The values found are told as text (UTF-8 where their bytes are), for the event's other fields.
    expect(found).toEqual(['hunter2', 'tök-12345678']);
    // Binary (a control byte: a protobuf tag or length, a gRPC frame's prefix) is left to scrubBody.
    const proto = b64(Buffer.concat([Buffer.from([0x0a, 0x12]), Buffer.from('{"password":"hunter2"}')]));
    expect(redactBody(proto, 'application/json', rules)).toBe(proto);
  });

  it('a coded body past the decode budget of its second is withheld (decode-budget) and told; the next second decodes again', () => {
    let now = 0;
    const budget = new DecodeBudget(5, () => now);
    const spent: string[] = [];
    const gz = gzipSync('{"password":"hunter2"}');
    const body = { size: gz.length, truncated: false, encoding: 'base64' as const, data: gz.toString('base64') };
    const decoding = { cap: 1024, grpc: false, budget, onBudgetSpent: () => spent.push('spent') };
    const coded: [string, string][] = [['content-encoding', 'gzip']];
    expect(redactBody(body, 'application/json', rules, undefined, coded, decoding)).toMatchObject({ decoded: 'gzip', data: '{"password":"[redacted]"}' });
    budget.spend(5);
    now = 999;
    expect(redactBody(body, 'application/json', rules, undefined, coded, decoding)).toEqual({ size: gz.length, truncated: true, encoding: 'utf8', data: '', omitted: 'decode-budget' });
    expect(spent).toEqual(['spent']);
    now = 1000;
    expect(redactBody(body, 'application/json', rules, undefined, coded, decoding)).toMatchObject({ decoded: 'gzip' });
    // A body that is not coded never asks the budget.
    budget.spend(100);
    expect(redactBody({ size: 2, truncated: false, encoding: 'utf8', data: '{}' }, 'application/json', rules, undefined, [], decoding).data).toBe('{}');
    expect(spent).toEqual(['spent']);
  });

  it('a gRPC body with a message marked compressed but no grpc-encoding is withheld (its bytes may be gzip); flag 0 is shown', () => {
    const frame = (flag: number, payload: Buffer) => Buffer.concat([Buffer.from([flag, 0, 0, 0, payload.length]), payload]);
    const gz = gzipSync('{"password":"hunter2"}');
    const grpc = { cap: 1024, grpc: true };
    const body = (bytes: Buffer) => ({ size: bytes.length, truncated: false, encoding: 'base64' as const, data: bytes.toString('base64') });
    const marked = body(Buffer.concat([frame(0, Buffer.from('plain')), frame(1, gz)]));
    for (const headers of [[], [['grpc-encoding', 'identity']]] as [string, string][][]) {
      expect(redactBody(marked, 'application/grpc', rules, undefined, headers, grpc)).toEqual({ size: marked.size, truncated: true, encoding: 'utf8', data: '', omitted: 'encoded' });
    }
    // Declared gzip: decoded as session 16 does.
    expect(redactBody(marked, 'application/grpc', rules, undefined, [['grpc-encoding', 'gzip']], grpc).decoded).toBe('gzip');
    const plain = body(frame(0, Buffer.from([0x0a, 0x01, 0x78])));
    expect(redactBody(plain, 'application/grpc', rules, undefined, [], grpc)).toBe(plain);
  });

  it('withholds a body any coding header says is compressed when its bytes do not decode (here: plain text), whatever its text', () => {
    const b = { size: 40, truncated: false, encoding: 'utf8' as const, data: '{"password":"hunter2"}' };
    const withheld = { size: 40, truncated: true, encoding: 'utf8', data: '', omitted: 'encoded' };
    expect(redactBody(b, 'application/json', rules, undefined, [['Content-Encoding', 'gzip']])).toEqual(withheld);
    expect(redactBody(b, 'application/json', rules, undefined, [['content-encoding', 'identity'], ['content-encoding', 'br']])).toEqual(withheld);
    expect(redactBody(b, 'application/grpc', rules, undefined, [['grpc-encoding', 'gzip']])).toEqual(withheld);
    expect(redactBody(b, 'application/json', rules, undefined, [['transfer-encoding', 'gzip, chunked']])).toEqual(withheld);
    for (const plain of [[['transfer-encoding', 'chunked']], [['grpc-encoding', 'identity']], [['content-encoding', ' Identity ']], []] as [string, string][][]) {
      expect(isEncodedBody(plain)).toBe(false);
      expect(redactBody(b, 'application/json', rules, undefined, plain).data).toBe('{"password":"[redacted]"}');
    }
  });

  it('scrubs hidden values from binary (base64) bodies in their bytes, the other bytes as they were', () => {
    const bytes = Buffer.concat([Buffer.from([0x0a, 0x96, 0x01]), Buffer.from('Bearer tok-ä-12345678 '), Buffer.from([0xff, 0x00, 0xfe])]);
    const body = { size: bytes.length, truncated: false, encoding: 'base64' as const, data: bytes.toString('base64') };
    const out = scrubBody(body, ['tok-ä-12345678']);
    // 15 bytes (ä is two): [redacted] cut to that length, so every length prefix still holds.
    expect(Buffer.from(out.data, 'base64')).toEqual(Buffer.concat([Buffer.from([0x0a, 0x96, 0x01]), Buffer.from('Bearer [redacted][reda '), Buffer.from([0xff, 0x00, 0xfe])]));
    const clean = scrubBody(body, ['not-in-there-at-all']);
    expect(clean).toBe(body);
    // Another spelling in bytes (percent-encoded, JSON-escaped, base64) is still found, and masked to
    // its own length too (review16: [redacted] there changed the length and a frame's prefix lied).
    const spelled = Buffer.concat([Buffer.from([0xff]), Buffer.from('next=tok-%C3%A4-12345678')]);
    const b2 = scrubBody({ size: spelled.length, truncated: false, encoding: 'base64', data: spelled.toString('base64') }, ['tok-ä-12345678']);
    expect(Buffer.from(b2.data, 'base64').toString('latin1')).toBe('\xffnext=[redacted][redacted');
    const token = 'ab/cd+ef-12345678';
    for (const spelling of ['ab\\/cd+ef-12345678', 'ab%2Fcd%2Bef-12345678', 'ab\\u002fcd+ef-12345678', Buffer.from(`x${token}`).toString('base64')]) {
      const framed = Buffer.concat([Buffer.from([0x0a, spelling.length + 2, 0x12, spelling.length]), Buffer.from(spelling), Buffer.from([0x18, 0x01])]);
      const out = Buffer.from(scrubBody({ size: framed.length, truncated: false, encoding: 'base64', data: framed.toString('base64') }, [token]).data, 'base64');
      expect({ spelling, length: out.length, prefix: [...out.subarray(0, 4)], tail: [...out.subarray(-2)] }).toEqual({ spelling, length: framed.length, prefix: [0x0a, spelling.length + 2, 0x12, spelling.length], tail: [0x18, 0x01] });
      expect(out.toString('latin1')).toContain('[redacted]'.slice(0, 8));
      expect(out.includes(spelling)).toBe(false);
    }
  });

  it('a gRPC body keeps its frames: a value in a message is masked to its own length, UTF-8 body or not', () => {
    const msg = (text: string) => {
      const payload = Buffer.concat([Buffer.from([0x0a, Buffer.byteLength(text)]), Buffer.from(text)]);
      const head = Buffer.alloc(5);
      head.writeUInt32BE(payload.length, 1);
      return Buffer.concat([head, payload]);
    };
    const frames = Buffer.concat([msg('Bearer abcdefgh12345678'), msg('second message')]);
    const body = { size: frames.length, truncated: false, encoding: 'utf8' as const, data: frames.toString('utf8') };
    const out = scrubBody(body, ['abcdefgh12345678'], true);
    expect(out.encoding).toBe('utf8');
    const bytes = Buffer.from(out.data, 'utf8');
    expect(bytes.length).toBe(frames.length);
    expect(bytes.readUInt32BE(1)).toBe(frames.readUInt32BE(1));
    expect(bytes.toString('latin1')).toContain('Bearer [redacted][redac');
    expect(bytes.subarray(bytes.length - 14).toString()).toBe('second message');
    // Not framed (an HTTP text body): [redacted] as in every other field.
    expect(scrubBody(body, ['abcdefgh12345678']).data).toContain('Bearer [redacted]\u0000');
  });

  // Bug: a whitespace character outside JSON's four (\v, \f, U+00A0, a leading BOM…) between
  // tokens made redactJson loop forever; a tap with bodies saw `{\v\0` in the differential suite
  // (seed -518561582) and the js engine's JS thread spun, forwarding nothing more. Run under a vm
  // timeout, so the loop fails the test instead of hanging the worker.
  const sandbox = vm.createContext({ redact: redactJson, rules, text: '' });
  const redactWithin = (text: string): string => {
    sandbox.text = text;
    return vm.runInContext('redact(text, rules)', sandbox, { timeout: 2_000 });
  };

  it('JSON with any whitespace between tokens: scanned to the end, secrets still redacted (looped forever before)', () => {
    expect(redactWithin('{\v\0')).toBe('{\v\0');
    expect(redactWithin('\ufeff{"password":"x","a":\f1}')).toBe('\ufeff{"password":"[redacted]","a":\f1}');
    for (const ws of ['\v', '\f', '\u00a0', '\u1680', '\u2000', '\u2028', '\u2029', '\u202f', '\u205f', '\u3000', '\ufeff']) {
      expect(redactWithin(`[${ws}{${ws}"token"${ws}:${ws}"t"${ws},${ws}"n":${ws}4111111111111111${ws}}${ws}]`)).toBe(`[${ws}{${ws}"token"${ws}:${ws}"[redacted]"${ws},${ws}"n":${ws}"[redacted]"${ws}}${ws}]`);
    }
  });

  it('JSON-looking text of any shape, cut anywhere: the scan always ends', () => {
    const piece = fc.oneof(fc.constantFrom('{', '}', '[', ']', ',', ':', '"', '\\', '"password"', '"a"', '1', 'null', ' ', '\v', '\f', '\u00a0', '\ufeff', '\u2028', '\0'), fc.string({ unit: 'grapheme', maxLength: 3 }));
    fc.assert(
      fc.property(fc.array(piece, { maxLength: 40 }), (pieces) => {
        const text = pieces.join('');
        expect(typeof redactWithin(text)).toBe('string');
      }),
      { numRuns: 300 },
    );
  });
});
