import { describe, expect, it } from 'vitest';
import { DEFAULT_OBSERVER_LIMITS } from '../observe.js';
import { createHttp1Observer } from './index.js';
import { createRecordingSink, runConversation, type Recorded, type Step } from './test-sink.js';

const callNames = (calls: Recorded[]) =>
  calls.map((r) => (r.call === 'giveUp' ? `giveUp:${r.reason}` : 'ex' in r ? `${r.call}#${r.ex.stream}` : r.call));

function ends(calls: Recorded[]) {
  return calls.flatMap((r) => (r.call === 'end' ? [r.ex] : []));
}

const OK_EMPTY = 'HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n';

describe('HTTP/1 observer: heads', () => {
  it('reports a GET with header names as sent, wire order kept and values trimmed', () => {
    const { calls } = runConversation([
      { c: 'GET /a/b?q=1 HTTP/1.1\r\nHost: web.example:8080\r\nX-Custom-CASE:  v1 \t\r\naccept: */*\r\nX-Custom-CASE: v2\r\nEmpty:\r\n\r\n' },
      { s: 'HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 2\r\n\r\nok' },
    ]);
    expect(callNames(calls)).toEqual(['requestHead#1', 'responseHead#1', 'end#1']);
    const req = calls[0].call === 'requestHead' ? calls[0].ex : undefined;
    expect(req).toMatchObject({
      method: 'GET',
      path: '/a/b?q=1',
      authority: 'web.example:8080',
      scheme: 'http',
      protocol: 'http/1.1',
      requestHeaders: [
        ['Host', 'web.example:8080'],
        ['X-Custom-CASE', 'v1'],
        ['accept', '*/*'],
        ['X-Custom-CASE', 'v2'],
        ['Empty', ''],
      ],
    });
    const [end] = ends(calls);
    expect(end).toMatchObject({ status: 200, responseBytes: 2, requestBytes: 0 });
    expect(end.responseHeaders).toEqual([
      ['Content-Type', 'text/plain'],
      ['Content-Length', '2'],
    ]);
    expect(end.error).toBeUndefined();
    expect(end.startMs).toBeGreaterThan(0);
    expect(end.responseMs).toBeGreaterThan(end.startMs);
    expect(end.endMs).toBeGreaterThanOrEqual(end.responseMs);
  });

  it('takes the authority and scheme from an absolute-form target, and CONNECT targets', () => {
    const { calls } = runConversation([
      { c: 'GET http://user@proxied.example:81/x HTTP/1.1\r\nHost: other\r\n\r\n' },
    ]);
    expect(calls[0]).toMatchObject({ call: 'requestHead', ex: { authority: 'proxied.example:81', path: 'http://user@proxied.example:81/x' } });
  });

  it('decodes UTF-8 header values and shows bytes that are not UTF-8 escaped (issue 10 item 7: one rule with targets)', () => {
    const head = Buffer.concat([
      Buffer.from('GET / HTTP/1.1\r\nX-Utf8: '),
      Buffer.from('caf\u00e9', 'utf8'),
      Buffer.from('\r\nX-Latin: '),
      Buffer.from([0xe9, 0x20, 0x41]),
      Buffer.from('\r\n\r\n'),
    ]);
    const { calls } = runConversation([{ c: head }]);
    expect(calls[0].call === 'requestHead' && calls[0].ex.requestHeaders).toEqual([
      ['X-Utf8', 'caf\u00e9'],
      ['X-Latin', '\\xE9 A'],
    ]);
  });

  it('reports HTTP/1.0 requests and close-delimited responses ended by the server', () => {
    const { calls } = runConversation([
      { c: 'GET /old HTTP/1.0\r\n\r\n' },
      { s: 'HTTP/1.0 200 OK\r\nServer: x\r\n\r\nhello ' },
      { s: 'world' },
      { serverEnd: true },
      { close: undefined },
    ]);
    expect(callNames(calls)).toEqual(['requestHead#1', 'responseHead#1', 'end#1']);
    expect(ends(calls)[0]).toMatchObject({ protocol: 'http/1.0', authority: '', responseBytes: 11 });
    expect(ends(calls)[0].error).toBeUndefined();
  });

  it('skips empty lines before a request line', () => {
    const { calls } = runConversation([{ c: '\r\n\r\nGET / HTTP/1.1\r\nHost: h\r\n\r\n' }, { s: OK_EMPTY }]);
    expect(callNames(calls)).toEqual(['requestHead#1', 'responseHead#1', 'end#1']);
  });
});

describe('HTTP/1 observer: bodies', () => {
  it('counts a Content-Length request body and ends after the response', () => {
    const { calls } = runConversation([
      { c: 'POST /upload HTTP/1.1\r\nHost: h\r\nContent-Length: 11\r\n\r\nhello' },
      { c: ' world' },
      { s: 'HTTP/1.1 201 Created\r\nContent-Length: 0\r\n\r\n' },
    ]);
    expect(callNames(calls)).toEqual(['requestHead#1', 'responseHead#1', 'end#1']);
    expect(ends(calls)[0]).toMatchObject({ method: 'POST', status: 201, requestBytes: 11, responseBytes: 0 });
  });

  it('de-chunks with chunk extensions and collects trailers on both sides', () => {
    const { calls } = runConversation(
      [
        {
          c:
            'POST /c HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n' +
            '5;name=value;flag\r\nhello\r\n6 ; q="a b"\r\n world\r\n0\r\nX-Req-Trailer: rt\r\n\r\n',
        },
        {
          s:
            'HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip, chunked\r\n\r\n' +
            'A\r\n0123456789\r\n00000\r\nGrpc-Status: 0\r\nX-Sum:  abc \r\n\r\n',
        },
      ],
      { captureLimit: 100 },
    );
    const [end] = ends(calls);
    expect(end).toMatchObject({
      requestBytes: 11,
      responseBytes: 10,
      requestTrailers: [['X-Req-Trailer', 'rt']],
      trailers: [
        ['Grpc-Status', '0'],
        ['X-Sum', 'abc'],
      ],
    });
    expect(end.requestBody?.data).toBe('hello world');
    expect(end.responseBody?.data).toBe('0123456789');
  });

  it('has no response body for HEAD even with a Content-Length', () => {
    const { calls } = runConversation([
      { c: 'HEAD /x HTTP/1.1\r\nHost: h\r\n\r\nGET /y HTTP/1.1\r\nHost: h\r\n\r\n' },
      { s: 'HTTP/1.1 200 OK\r\nContent-Length: 1234\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 3\r\n\r\nabc' },
    ]);
    expect(callNames(calls)).toEqual(['requestHead#1', 'requestHead#2', 'responseHead#1', 'end#1', 'responseHead#2', 'end#2']);
    expect(ends(calls).map((e) => [e.method, e.responseBytes])).toEqual([
      ['HEAD', 0],
      ['GET', 3],
    ]);
  });

  it.each([204, 304])('has no body for a %i response', (status) => {
    const { calls } = runConversation([
      { c: 'GET /a HTTP/1.1\r\n\r\nGET /b HTTP/1.1\r\n\r\n' },
      { s: `HTTP/1.1 ${status} X\r\nTransfer-Encoding: chunked\r\n\r\n${OK_EMPTY}` },
    ]);
    expect(ends(calls).map((e) => e.status)).toEqual([status, 200]);
  });

  it('skips 100-continue and 103 before the final response', () => {
    const { calls } = runConversation([
      { c: 'PUT /p HTTP/1.1\r\nHost: h\r\nExpect: 100-continue\r\nContent-Length: 4\r\n\r\n' },
      { s: 'HTTP/1.1 100 Continue\r\n\r\n' },
      { c: 'data' },
      { s: 'HTTP/1.1 103 Early Hints\r\nLink: </s.css>; rel=preload\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok' },
    ]);
    expect(callNames(calls)).toEqual(['requestHead#1', 'responseHead#1', 'end#1']);
    expect(ends(calls)[0]).toMatchObject({ status: 200, requestBytes: 4, responseBytes: 2, responseHeaders: [['Content-Length', '2']] });
  });

  it('waits for the request body when the response completes first', () => {
    const { calls } = runConversation([
      { c: 'POST / HTTP/1.1\r\nContent-Length: 6\r\n\r\nabc' },
      { s: 'HTTP/1.1 413 Too Large\r\nContent-Length: 0\r\n\r\n' },
      { c: 'def' },
    ]);
    expect(callNames(calls)).toEqual(['requestHead#1', 'responseHead#1', 'end#1']);
    expect(ends(calls)[0]).toMatchObject({ status: 413, requestBytes: 6 });
  });
});

describe('HTTP/1 observer: pipelining', () => {
  it('matches three pipelined requests to responses in order', () => {
    const { calls } = runConversation([
      {
        c:
          'GET /1 HTTP/1.1\r\nHost: h\r\n\r\n' +
          'POST /2 HTTP/1.1\r\nHost: h\r\nContent-Length: 3\r\n\r\nxyz' +
          'GET /3 HTTP/1.1\r\nHost: h\r\n\r\n',
      },
      { s: 'HTTP/1.1 200 OK\r\nContent-Length: 1\r\n\r\na' },
      { s: 'HTTP/1.1 201 OK\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nbb\r\n0\r\n\r\nHTTP/1.1 404 NF\r\nContent-Length: 3\r\n\r\nccc' },
    ]);
    expect(callNames(calls)).toEqual([
      'requestHead#1',
      'requestHead#2',
      'requestHead#3',
      'responseHead#1',
      'end#1',
      'responseHead#2',
      'end#2',
      'responseHead#3',
      'end#3',
    ]);
    expect(ends(calls).map((e) => [e.path, e.status, e.requestBytes, e.responseBytes])).toEqual([
      ['/1', 200, 0, 1],
      ['/2', 201, 3, 2],
      ['/3', 404, 0, 3],
    ]);
  });
});

describe('HTTP/1 observer: protocol switches', () => {
  it('reports a 101 upgrade, then ignores the opaque rest', () => {
    const { calls } = runConversation([
      { c: 'GET /ws HTTP/1.1\r\nHost: h\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n\r\n' },
      { c: '\x81\x85garbage that is not HTTP\n\n' },
      { s: 'HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n\r\n\x81\x02hi' },
      { s: 'more opaque\n' },
      { close: undefined },
    ]);
    expect(callNames(calls)).toEqual(['requestHead#1', 'responseHead#1', 'end#1', 'upgraded']);
    expect(ends(calls)[0]).toMatchObject({ status: 101 });
    expect(ends(calls)[0].error).toBeUndefined();
  });

  it('follows HTTP/1 again when the server declines an upgrade', () => {
    const { calls } = runConversation([
      { c: 'GET / HTTP/1.1\r\nHost: h\r\nConnection: Upgrade, HTTP2-Settings\r\nUpgrade: h2c\r\nHTTP2-Settings: AAMAAABkAAQAAP__\r\n\r\n' },
      { c: 'GET /next HTTP/1.1\r\nHost: h\r\n\r\n' },
      { s: 'HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nokHTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n' },
    ]);
    expect(callNames(calls)).toEqual(['requestHead#1', 'responseHead#1', 'requestHead#2', 'end#1', 'responseHead#2', 'end#2']);
  });

  it('treats a 2xx to CONNECT as a tunnel, and a 407 as a normal response', () => {
    const tunnel = runConversation([
      { c: 'CONNECT db.example:5432 HTTP/1.1\r\nHost: db.example:5432\r\n\r\n' },
      { s: 'HTTP/1.1 200 Connection Established\r\n\r\n' },
      { c: '\x16\x03\x01 tls bytes' },
      { s: 'opaque' },
    ]).calls;
    expect(callNames(tunnel)).toEqual(['requestHead#1', 'responseHead#1', 'end#1', 'upgraded']);
    expect(ends(tunnel)[0]).toMatchObject({ method: 'CONNECT', authority: 'db.example:5432', status: 200 });

    const refused = runConversation([
      { c: 'CONNECT db.example:5432 HTTP/1.1\r\n\r\nGET / HTTP/1.1\r\n\r\n' },
      { s: 'HTTP/1.1 407 Proxy Auth\r\nContent-Length: 1\r\n\r\nx' + OK_EMPTY },
    ]).calls;
    expect(callNames(refused)).toEqual(['requestHead#1', 'responseHead#1', 'requestHead#2', 'end#1', 'responseHead#2', 'end#2']);
  });
});

describe('HTTP/1 observer: giving up', () => {
  const cases: Array<[string, string, Step[]]> = [
    ['h1-ambiguous-framing', 'CL and TE', [{ c: 'POST / HTTP/1.1\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n' }]],
    ['h1-ambiguous-framing', 'differing CLs', [{ c: 'POST / HTTP/1.1\r\nContent-Length: 3\r\nContent-Length: 4\r\n\r\n' }]],
    ['h1-ambiguous-framing', 'differing CLs in one line', [{ c: 'POST / HTTP/1.1\r\nContent-Length: 3, 4\r\n\r\n' }]],
    ['h1-ambiguous-framing', 'obs-fold', [{ c: 'GET / HTTP/1.1\r\nX-A: a\r\n  folded\r\n\r\n' }]],
    ['h1-ambiguous-framing', 'bare LF', [{ c: 'GET / HTTP/1.1\nHost: h\n\n' }]],
    ['h1-ambiguous-framing', 'bare LF in a header', [{ c: 'GET / HTTP/1.1\r\nHost: h\n\r\n' }]],
    ['h1-ambiguous-framing', 'TE not ending in chunked', [{ c: 'POST / HTTP/1.1\r\nTransfer-Encoding: chunked, gzip\r\n\r\n' }]],
    ['h1-ambiguous-framing', 'TE chunked twice', [{ c: 'POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n\r\n' }]],
    ['h1-ambiguous-framing', 'CL and TE on a response', [{ c: 'GET / HTTP/1.1\r\n\r\n' }, { s: 'HTTP/1.1 200 OK\r\nContent-Length: 1\r\nTransfer-Encoding: chunked\r\n\r\n' }]],
    ['h1-ambiguous-framing', 'bare LF after a chunk size', [{ c: 'POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n5\nhello\r\n' }]],
    ['h1-parse', 'bad request line', [{ c: 'GET /a b HTTP/1.1\r\n\r\n' }]],
    ['h1-parse', 'not HTTP/1', [{ c: 'GET / HTTP/2.0\r\n\r\n' }]],
    ['h1-parse', 'space before colon', [{ c: 'GET / HTTP/1.1\r\nHost : h\r\n\r\n' }]],
    ['h1-parse', 'header without colon', [{ c: 'GET / HTTP/1.1\r\nHost\r\n\r\n' }]],
    ['h1-parse', 'control char in value', [{ c: 'GET / HTTP/1.1\r\nX: a\x00b\r\n\r\n' }]],
    ['h1-parse', 'bad content-length', [{ c: 'POST / HTTP/1.1\r\nContent-Length: -1\r\n\r\n' }]],
    ['h1-parse', 'bad status line', [{ c: 'GET / HTTP/1.1\r\n\r\n' }, { s: 'HTTP/1.1 2x0 OK\r\n\r\n' }]],
    ['h1-parse', 'bad chunk size', [{ c: 'POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n' }]],
    ['h1-parse', 'missing CRLF after chunk data', [{ c: 'POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nabc\r\n' }]],
    // Regressions: framing folded case and trimmed with Unicode rules after UTF-8 decoding, so a
    // KELVIN SIGN (U+212A) read as `k` and a NO-BREAK SPACE as OWS, where servers read neither.
    ['h1-ambiguous-framing', 'TE chunked spelled with a KELVIN SIGN', [{ c: Buffer.from('POST / HTTP/1.1\r\nTransfer-Encoding: chun\u212aed\r\n\r\n', 'utf8') }]],
    ['h1-parse', 'Content-Length after a NO-BREAK SPACE', [{ c: Buffer.from('POST / HTTP/1.1\r\nContent-Length: \u00a03\r\n\r\nabc', 'utf8') }]],
  ];

  it.each(cases)('gives up with %s on %s, ending the open exchange first', (reason, _name, steps) => {
    // A complete exchange first, so we also see that earlier exchanges are unaffected,
    // and one open exchange that must be ended with an error before giveUp.
    const { calls, observer } = runConversation([
      { c: 'GET /first HTTP/1.1\r\n\r\n' },
      { s: OK_EMPTY },
      { c: 'GET /open HTTP/1.1\r\n\r\n' },
      ...steps,
    ]);
    const names = callNames(calls);
    expect(names.slice(0, 4)).toEqual(['requestHead#1', 'responseHead#1', 'end#1', 'requestHead#2']);
    expect(names.at(-1)).toBe(`giveUp:${reason}`);
    const open = ends(calls).find((e) => e.path === '/open');
    expect(open?.error).toBe('observer-gave-up');
    // Later bytes and calls are ignored.
    const count = calls.length;
    observer.clientData(Buffer.from('GET / HTTP/1.1\r\n\r\n'));
    observer.serverData(Buffer.from(OK_EMPTY));
    observer.close();
    expect(calls.length).toBe(count);
  });

  it('bounds pipelined exchanges by limits.maxStreams', () => {
    const { calls } = runConversation([{ c: 'GET /1 HTTP/1.1\r\n\r\nGET /2 HTTP/1.1\r\n\r\nGET /3 HTTP/1.1\r\n\r\n' }], {
      limits: { maxStreams: 2 },
    });
    expect(callNames(calls)).toEqual(['requestHead#1', 'requestHead#2', 'end#1', 'end#2', 'giveUp:h1-too-many-pipelined']);
    expect(ends(calls).map((e) => e.error)).toEqual(['observer-gave-up', 'observer-gave-up']);
  });

  it('bounds client bytes held behind an Upgrade request by maxHeaderBytes', () => {
    const upgrade = 'GET /ws HTTP/1.1\r\nUpgrade: websocket\r\n\r\n';
    const { calls } = runConversation([{ c: upgrade }, { c: 'x'.repeat(150) }, { c: 'y'.repeat(60) }], { limits: { maxHeaderBytes: 200 } });
    expect(callNames(calls)).toEqual(['requestHead#1', 'end#1', 'giveUp:h1-header-too-large']);
  });

  it('accepts identical duplicate Content-Lengths', () => {
    const { calls } = runConversation([
      { c: 'POST / HTTP/1.1\r\nContent-Length: 5, 5\r\ncontent-length: 5\r\n\r\nhello' },
      { s: OK_EMPTY },
    ]);
    expect(ends(calls)[0]).toMatchObject({ requestBytes: 5 });
  });

  it('gives up on a head over maxHeaderBytes, also when it arrives in pieces', () => {
    const big = `GET / HTTP/1.1\r\nX-Big: ${'a'.repeat(200)}\r\n\r\n`;
    for (const pieces of [[big], [big.slice(0, 100), big.slice(100)]]) {
      const { calls } = runConversation(
        pieces.map((c) => ({ c })),
        { limits: { maxHeaderBytes: 128 } },
      );
      expect(callNames(calls)).toEqual(['giveUp:h1-header-too-large']);
    }
    const fits = runConversation([{ c: big }], { limits: { maxHeaderBytes: big.length } }).calls;
    expect(callNames(fits)).toEqual(['requestHead#1']);
  });

  it('names the same reason however an oversized head with a bare LF past the limit was split (regression: bare LF in one piece, too large in two)', () => {
    const big = `GET / HTTP/1.1\r\nX-Big: ${'a'.repeat(200)}\n\r\n`;
    for (const pieces of [[big], [big.slice(0, 150), big.slice(150)]]) {
      const { calls } = runConversation(
        pieces.map((c) => ({ c })),
        { limits: { maxHeaderBytes: 128 } },
      );
      expect(callNames(calls)).toEqual(['giveUp:h1-header-too-large']);
    }
  });

  it('gives up (internal) when the sink throws, and never throws itself', () => {
    const sink = createRecordingSink();
    const recordResponseHead = sink.responseHead;
    sink.responseHead = (ex) => {
      recordResponseHead(ex);
      throw new Error('sink bug');
    };
    const observer = createHttp1Observer({ sink, limits: DEFAULT_OBSERVER_LIMITS, now: () => 1 });
    observer.clientData(Buffer.from('GET / HTTP/1.1\r\n\r\n'));
    expect(() => observer.serverData(Buffer.from(OK_EMPTY))).not.toThrow();
    expect(callNames(sink.calls)).toEqual(['requestHead#1', 'responseHead#1', 'end#1', 'giveUp:internal']);
    expect(ends(sink.calls)[0].error).toBe('observer-gave-up');
  });
});

describe('HTTP/1 observer: closing', () => {
  it('ends with upstream-closed when the server closes mid-body, and ends waiting exchanges too', () => {
    const { calls } = runConversation([
      { c: 'GET /1 HTTP/1.1\r\n\r\nGET /2 HTTP/1.1\r\n\r\n' },
      { s: 'HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\n12345' },
      { serverEnd: true },
      { close: undefined },
    ]);
    expect(callNames(calls)).toEqual(['requestHead#1', 'requestHead#2', 'responseHead#1', 'end#1', 'end#2']);
    expect(ends(calls).map((e) => [e.error, e.responseBytes])).toEqual([
      ['upstream-closed', 5],
      ['upstream-closed', 0],
    ]);
  });

  it('close(error) ends open exchanges with that error, once', () => {
    const { calls, observer } = runConversation([
      { c: 'POST /1 HTTP/1.1\r\nContent-Length: 10\r\n\r\nabc' },
      { close: 'reset' },
    ]);
    observer.close('again');
    expect(callNames(calls)).toEqual(['requestHead#1', 'end#1']);
    expect(ends(calls)[0]).toMatchObject({ error: 'reset', requestBytes: 3 });
    const plain = runConversation([{ c: 'GET / HTTP/1.1\r\n\r\n' }, { close: undefined }]).calls;
    expect(ends(plain)[0].error).toBe('connection-closed');
  });

  it('marks a request body cut by the client FIN', () => {
    const { calls } = runConversation([
      { c: 'POST /1 HTTP/1.1\r\nContent-Length: 10\r\n\r\nabc' },
      { clientEnd: true },
      { s: 'HTTP/1.1 400 Bad\r\nContent-Length: 0\r\n\r\n' },
    ]);
    expect(ends(calls)[0]).toMatchObject({ status: 400, error: 'client-closed', requestBytes: 3 });
  });

  it('stops waiting on an Upgrade request when the server closes without answering', () => {
    const { calls } = runConversation([
      { c: 'GET /ws HTTP/1.1\r\nUpgrade: websocket\r\n\r\n' },
      { serverEnd: true },
      { c: 'z'.repeat(100_000) },
      { close: undefined },
    ]);
    expect(callNames(calls)).toEqual(['requestHead#1', 'end#1']);
    expect(ends(calls)[0].error).toBe('upstream-closed');
  });

  it('keeps quiet when the client goes on sending a body the server closed on', () => {
    const { calls } = runConversation([
      { c: 'POST /big HTTP/1.1\r\nContent-Length: 100\r\n\r\nabc' },
      { serverEnd: true },
      { c: 'more body bytes' },
      { close: undefined },
    ]);
    expect(callNames(calls)).toEqual(['requestHead#1', 'end#1']);
    expect(ends(calls)[0]).toMatchObject({ error: 'upstream-closed', requestBytes: 3 });
  });

  it('does not replay held bytes after the client FIN when an upgrade is declined', () => {
    const { calls } = runConversation([
      { c: 'GET / HTTP/1.1\r\nUpgrade: h2c\r\n\r\nGET /held HTTP/1.1\r\n\r\n' },
      { clientEnd: true },
      { s: 'HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n' },
    ]);
    expect(callNames(calls)).toEqual(['requestHead#1', 'responseHead#1', 'end#1']);
  });

  it('reads and drops a response nobody asked for', () => {
    const { calls } = runConversation([
      { s: 'HTTP/1.1 408 Request Timeout\r\nContent-Length: 3\r\n\r\nbye' },
      { c: 'GET / HTTP/1.1\r\n\r\n' },
      { s: OK_EMPTY },
    ]);
    expect(callNames(calls)).toEqual(['requestHead#1', 'responseHead#1', 'end#1']);
  });
});
