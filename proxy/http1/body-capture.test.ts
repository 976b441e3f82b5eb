import { describe, expect, it } from 'vitest';
import { DEFAULT_OBSERVER_LIMITS, createBodyCapture, type Exchange } from '../observe.js';
import { createHttp1Observer } from './index.js';
import { runConversation, type ExchangeSnapshot } from './test-sink.js';

function lastEnd(calls: ReturnType<typeof runConversation>['calls']): ExchangeSnapshot {
  const r = calls.filter((c) => c.call === 'end').at(-1);
  if (r === undefined || !('ex' in r)) throw new Error('no end');
  return r.ex;
}

describe('HTTP/1 observer: body capture', () => {
  it('captures up to the limit, marks truncation and reports the exact size', () => {
    const body = 'x'.repeat(40) + 'y'.repeat(60);
    const { calls } = runConversation(
      [
        { c: `POST / HTTP/1.1\r\nContent-Length: 100\r\n\r\n${body.slice(0, 33)}` },
        { c: body.slice(33) },
        { s: `HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n7\r\n${body.slice(0, 7)}\r\n5D\r\n${body.slice(7)}\r\n0\r\n\r\n` },
      ],
      { captureLimit: 50 },
    );
    const end = lastEnd(calls);
    for (const capture of [end.requestBody, end.responseBody]) {
      expect(capture).toEqual({ size: 100, captured: 50, truncated: true, data: body.slice(0, 50) });
    }
  });

  it('is not truncated when the body fits exactly', () => {
    const { calls } = runConversation(
      [{ c: 'POST / HTTP/1.1\r\nContent-Length: 5\r\n\r\nhello' }, { s: 'HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n' }],
      { captureLimit: 5 },
    );
    expect(lastEnd(calls).requestBody).toEqual({ size: 5, captured: 5, truncated: false, data: 'hello' });
    expect(lastEnd(calls).responseBody).toEqual({ size: 0, captured: 0, truncated: false, data: '' });
  });

  it('captures only de-framed bytes of a close-delimited response', () => {
    const { calls } = runConversation(
      [{ c: 'GET / HTTP/1.0\r\n\r\n' }, { s: 'HTTP/1.0 200 OK\r\n\r\nab' }, { s: 'cd' }, { serverEnd: true }],
      { captureLimit: 3 },
    );
    expect(lastEnd(calls).responseBody).toEqual({ size: 4, captured: 3, truncated: true, data: 'abc' });
  });

  it('copies captured bytes: later reuse of the forwarded buffer does not change them', () => {
    const { calls } = runConversation(
      [{ c: 'POST / HTTP/1.1\r\nContent-Length: 4\r\n\r\nwxyz' }, { s: 'HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n' }],
      { captureLimit: 10 },
    );
    // runConversation scribbles over every fed buffer after the call.
    expect(lastEnd(calls).requestBody?.data).toBe('wxyz');
  });

  it('captures per exchange, only for exchanges whose sink asked', () => {
    const seen: Exchange[] = [];
    const observer = createHttp1Observer({
      sink: {
        requestHead(ex) {
          if (ex.path === '/want') ex.requestBody = createBodyCapture(8);
        },
        responseHead() {},
        end(ex) {
          seen.push(ex);
        },
        giveUp() {},
        upgraded() {},
      },
      limits: DEFAULT_OBSERVER_LIMITS,
      now: () => 0,
    });
    observer.clientData(Buffer.from('POST /skip HTTP/1.1\r\nContent-Length: 3\r\n\r\nabcPOST /want HTTP/1.1\r\nContent-Length: 3\r\n\r\ndef'));
    observer.serverData(Buffer.from('HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n'.repeat(2)));
    expect(seen.map((e) => [e.path, e.requestBytes, e.requestBody?.chunks.map(String)])).toEqual([
      ['/skip', 3, undefined],
      ['/want', 3, ['def']],
    ]);
  });
});
