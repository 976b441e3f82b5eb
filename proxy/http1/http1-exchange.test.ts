/**
 * HTTP/1 exchanges keep heads as text and decode header lists on first read; the size they
 * report without decoding must be exactly that of the decoded list (the flight recorder's
 * bound depends on it), for ASCII, UTF-8 and raw latin1 values alike.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { HeaderList } from '../../tap-protocol/index.js';
import { DEFAULT_OBSERVER_LIMITS, type Exchange } from '../observe.js';
import { createHttp1Observer } from './index.js';

const nameArb = fc.stringMatching(/^[A-Za-z0-9!#$%&'*+.^_`|~-]{1,12}$/).filter((n) => !['content-length', 'transfer-encoding', 'upgrade'].includes(n.toLowerCase()));
/** Field values as wire bytes (latin1 text): ASCII, UTF-8 encoded, or bytes that are not UTF-8. */
const valueArb = fc.oneof(
  fc.stringMatching(/^[!-~]([ \t!-~]{0,20}[!-~])?$/),
  fc.constantFrom('caf\u00e9', '\u20ac 5', '\u65e5\u672c').map((s) => Buffer.from(s, 'utf8').toString('latin1')),
  fc.constantFrom('\xff', 'a\xe9b', '\xc3'),
);
const fieldsArb = fc.array(fc.tuple(nameArb, valueArb), { maxLength: 8 });

function sizeOf(list: HeaderList, per: number): number {
  return list.reduce((n, [k, v]) => n + k.length + v.length + per, 0);
}

describe('Http1Exchange header sizes', () => {
  it('equal the decoded lists, before and after they are read', () => {
    fc.assert(
      fc.property(fieldsArb, fieldsArb, fc.boolean(), (rq, rs, readFirst) => {
        const ended: Exchange[] = [];
        const observer = createHttp1Observer({
          sink: { requestHead() {}, responseHead() {}, end: (ex) => void ended.push(ex), giveUp() {}, upgraded() {} },
          limits: DEFAULT_OBSERVER_LIMITS,
          now: () => 0,
        });
        const lines = (f: Array<[string, string]>) => f.map(([n, v]) => `${n}: ${v}\r\n`).join('');
        observer.clientData(Buffer.from(`GET / HTTP/1.1\r\n${lines(rq)}\r\n`, 'latin1'));
        observer.serverData(Buffer.from(`HTTP/1.1 200 OK\r\n${lines(rs)}Content-Length: 0\r\n\r\n`, 'latin1'));
        expect(ended).toHaveLength(1);
        const ex = ended[0];
        const before = readFirst ? undefined : [ex.headerBytes?.('request', 7), ex.headerBytes?.('response', 7)];
        const rqList = ex.requestHeaders;
        const rsList = ex.responseHeaders;
        expect(rqList.map(([n]) => n)).toEqual(rq.map(([n]) => n));
        expect(rsList).toHaveLength(rs.length + 1);
        expect(ex.requestHeaders).toBe(rqList); // decoded once, then kept
        const sizes = [sizeOf(rqList, 7), sizeOf(rsList, 7)];
        if (before) expect(before).toEqual(sizes);
        expect([ex.headerBytes?.('request', 7), ex.headerBytes?.('response', 7)]).toEqual(sizes);
      }),
      { numRuns: 300 },
    );
  });

  it('follow an assigned list', () => {
    const ended: Exchange[] = [];
    const observer = createHttp1Observer({
      sink: { requestHead() {}, responseHead() {}, end: (ex) => void ended.push(ex), giveUp() {}, upgraded() {} },
      limits: DEFAULT_OBSERVER_LIMITS,
      now: () => 0,
    });
    observer.clientData(Buffer.from('GET / HTTP/1.1\r\nHost: a\r\n\r\n'));
    observer.serverData(Buffer.from('HTTP/1.1 204 No Content\r\n\r\n'));
    const ex = ended[0];
    ex.requestHeaders = [['x', 'yz']];
    expect(ex.requestHeaders).toEqual([['x', 'yz']]);
    expect(ex.headerBytes?.('request', 10)).toBe(13);
  });
});
