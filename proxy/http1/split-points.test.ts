/**
 * Split-point tables: the observer must report exactly the same thing however the forwarded
 * bytes were chunked. For each conversation, every 2-way split of every data step, byte-by-byte
 * feeding, and seeded random multi-splits are compared with the unsplit run.
 */
import { describe, expect, it } from 'vitest';
import { runConversation, withoutTimes, type Step } from './test-sink.js';

const CONVERSATIONS: Record<string, Step[]> = {
  'GET with headers': [
    { c: '\r\nGET /a?b=c HTTP/1.1\r\nHost: h:1\r\nX-Case: \t v \r\nAccept: */*\r\n\r\n' },
    { s: 'HTTP/1.1 200 OK\r\nContent-Length: 5\r\nX-Y: z\r\n\r\nhello' },
  ],
  'POST with content-length': [
    { c: 'POST /p HTTP/1.1\r\nHost: h\r\nContent-Length: 12\r\n\r\nhello world!' },
    { s: 'HTTP/1.1 201 Created\r\nContent-Length: 0\r\n\r\n' },
  ],
  'chunked with extensions and trailers': [
    {
      c:
        'POST /c HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n' +
        '3;a=b\r\nabc\r\n10 ;x="y z"\r\n0123456789abcdef\r\n0\r\nT1: v1\r\nT2: v2\r\n\r\n',
    },
    { s: 'HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n1\r\nx\r\n0\r\n\r\n' },
  ],
  'pipelined three': [
    { c: 'GET /1 HTTP/1.1\r\n\r\nPOST /2 HTTP/1.1\r\nContent-Length: 2\r\n\r\nabGET /3 HTTP/1.1\r\n\r\n' },
    {
      s:
        'HTTP/1.1 200 OK\r\nContent-Length: 1\r\n\r\n1' +
        'HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2\r\n22\r\n0\r\n\r\n' +
        'HTTP/1.1 200 OK\r\nContent-Length: 3\r\n\r\n333',
    },
  ],
  '100-continue then 200': [
    { c: 'PUT / HTTP/1.1\r\nExpect: 100-continue\r\nContent-Length: 3\r\n\r\n' },
    { s: 'HTTP/1.1 100 Continue\r\n\r\n' },
    { c: 'abc' },
    { s: 'HTTP/1.1 103 Early\r\nLink: <x>\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok' },
  ],
  'HEAD, 204 and 304': [
    { c: 'HEAD / HTTP/1.1\r\n\r\nGET /a HTTP/1.1\r\n\r\nGET /b HTTP/1.1\r\n\r\n' },
    {
      s:
        'HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n' +
        'HTTP/1.1 204 No Content\r\n\r\n' +
        'HTTP/1.1 304 Not Modified\r\nContent-Length: 7\r\n\r\n',
    },
  ],
  'HTTP/1.0 close-delimited': [
    { c: 'GET / HTTP/1.0\r\n\r\n' },
    { s: 'HTTP/1.0 200 OK\r\n\r\nsome body until close' },
    { serverEnd: true },
  ],
  'websocket upgrade': [
    { c: 'GET /ws HTTP/1.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n\x81\x00frame\n' },
    { s: 'HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n\r\n\x81\x05hello' },
  ],
  'declined upgrade': [
    { c: 'GET / HTTP/1.1\r\nUpgrade: h2c\r\n\r\nGET /2 HTTP/1.1\r\n\r\n' },
    { s: 'HTTP/1.1 200 OK\r\nContent-Length: 1\r\n\r\nxHTTP/1.1 200 OK\r\nContent-Length: 1\r\n\r\ny' },
  ],
  'CONNECT tunnel': [
    { c: 'CONNECT h:443 HTTP/1.1\r\nHost: h:443\r\n\r\n' },
    { s: 'HTTP/1.1 200 OK\r\n\r\n' },
    { c: '\x16\x03\x01\x00\x05hello' },
  ],
  'server closes mid-body': [
    { c: 'GET / HTTP/1.1\r\n\r\n' },
    { s: 'HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\npartial' },
    { serverEnd: true },
  ],
  'ambiguous CL+TE': [
    { c: 'GET /ok HTTP/1.1\r\n\r\n' },
    { c: 'POST / HTTP/1.1\r\nContent-Length: 1\r\nTransfer-Encoding: chunked\r\n\r\n' },
  ],
  'bare LF': [{ c: 'GET / HTTP/1.1\r\nHost: h\nX: y\r\n\r\n' }],
  'obs-fold': [{ c: 'GET / HTTP/1.1\r\nHost: h\r\n\tfolded\r\n\r\n' }],
  'bad chunk size': [{ c: 'POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n5g\r\n' }],
  'bare LF in chunk extension': [{ c: 'POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n5;a\nhello\r\n' }],
};

/** xorshift32: deterministic random split points, so failures reproduce. */
function rng(seed: number): () => number {
  let x = seed >>> 0 || 1;
  return () => {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    return (x >>> 0) / 2 ** 32;
  };
}

function isDataStep(step: Step): boolean {
  return 'c' in step || 's' in step;
}

describe('HTTP/1 observer: split points', () => {
  for (const [name, steps] of Object.entries(CONVERSATIONS)) {
    it(`reports the same for every chunking: ${name}`, () => {
      const expected = withoutTimes(runConversation(steps, { captureLimit: 1024 }).calls);
      expect(expected.length).toBeGreaterThan(0);
      steps.forEach((step, target) => {
        if (!isDataStep(step)) return;
        const size = ('c' in step ? step.c : 's' in step ? step.s : '').length;
        for (let at = 1; at < size; at++) {
          const split = (bytes: Buffer, i: number) => (i === target ? [bytes.subarray(0, at), bytes.subarray(at)] : [bytes]);
          const got = withoutTimes(runConversation(steps, { captureLimit: 1024, split }).calls);
          expect(got, `step ${target} split at ${at}`).toEqual(expected);
        }
      });
      const byteByByte = (bytes: Buffer) => Array.from({ length: bytes.length }, (_, i) => bytes.subarray(i, i + 1));
      expect(withoutTimes(runConversation(steps, { captureLimit: 1024, split: byteByByte }).calls)).toEqual(expected);
      const random = rng(name.length * 7919 + 1);
      for (let round = 0; round < 20; round++) {
        const split = (bytes: Buffer) => {
          const pieces: Buffer[] = [];
          let at = 0;
          while (at < bytes.length) {
            const n = 1 + Math.floor(random() * 9);
            pieces.push(bytes.subarray(at, at + n));
            at += n;
          }
          return pieces;
        };
        expect(withoutTimes(runConversation(steps, { captureLimit: 1024, split }).calls), `round ${round}`).toEqual(expected);
      }
    });
  }

  it('records startMs at the first byte of a request that spans chunks', () => {
    const { calls } = runConversation([{ c: 'GET / HT' }, { c: 'TP/1.1\r\n\r\n' }]);
    // Clock readings are 1, 2, ...: the first byte was seen at the first reading.
    expect(calls[0].call === 'requestHead' && calls[0].ex.startMs).toBe(1);
  });
});
