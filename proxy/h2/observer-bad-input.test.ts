/**
 * Bad input costs the observation of one connection, reported once with the right reason;
 * exchanges still open are ended first, and nothing ever throws.
 */
import { describe, expect, it } from 'vitest';
import { DEFAULT_OBSERVER_LIMITS } from '../observe.js';
import { FLAG_END_HEADERS as EH, FLAG_END_STREAM as ES, FRAME_CONTINUATION, FRAME_PING, FRAME_SETTINGS } from './constants.js';
import { createH2Observer } from './index.js';
import { encodeBlock } from './test-support/hpack-encoder.js';
import { clientStart, data, frame, headers, settings } from './test-support/frames.js';
import { createRecordingSink, feedConversation, type LoggedChunk } from './test-support/recording-sink.js';

const C = (chunk: Buffer): LoggedChunk => ({ fromClient: true, chunk });
const S = (chunk: Buffer): LoggedChunk => ({ fromClient: false, chunk });
const OPEN: LoggedChunk[] = [C(clientStart()), S(settings())];
const REQ = encodeBlock([[':method', 'GET'], [':scheme', 'http'], [':authority', 'a'], [':path', '/']]);

/** One open exchange, then the bad bytes: the exchange must end before the single giveUp. */
function expectGiveUp(bad: LoggedChunk[], reason: string, before: LoggedChunk[] = OPEN): void {
  const log = [...before, C(headers(1, EH, REQ)), ...bad, S(headers(1, EH | ES, encodeBlock([[':status', '200']])))];
  const rec = feedConversation(log);
  expect(rec.giveUps).toEqual([reason]);
  expect(rec.calls).toEqual(['req:1', 'end:1', `giveUp:${reason}`]);
  expect(rec.ended[0]!.error).toBe('observer-gave-up');
}

describe('HTTP/2 observer bad input', () => {
  it('a bad preface gives up with h2-frame', () => {
    const rec = feedConversation([C(Buffer.from('PRI * HTTP/1.1\r\n\r\nSM\r\n\r\n')), S(settings())]);
    expect(rec.giveUps).toEqual(['h2-frame']);
    // Byte by byte too.
    const bytes = Buffer.from('GET / HTTP/1.1\r\n\r\n');
    const rec2 = feedConversation([...bytes].map((b) => C(Buffer.from([b]))));
    expect(rec2.giveUps).toEqual(['h2-frame']);
  });

  it('a first frame that is not SETTINGS gives up with h2-frame', () => {
    const rec = feedConversation([C(Buffer.concat([clientStart().subarray(0, 24), headers(1, EH | ES, REQ)]))]);
    expect(rec.giveUps).toEqual(['h2-frame']);
    expect(feedConversation([C(clientStart()), S(data(1, 0, Buffer.from('x')))]).giveUps).toEqual(['h2-frame']);
  });

  it('invalid HPACK gives up with h2-hpack', () => {
    expectGiveUp([C(headers(3, EH | ES, Buffer.from([0x80])))], 'h2-hpack'); // index 0
    expectGiveUp([C(headers(3, EH | ES, Buffer.from([0xff, 0x80])))], 'h2-hpack'); // truncated integer
    expectGiveUp([S(headers(1, EH, Buffer.from([0x00, 0x81, 0x1e, 0x00])))], 'h2-hpack'); // bad Huffman padding
  });

  it('a header list over maxHeaderBytes gives up with h2-header-too-large', () => {
    const big = encodeBlock([['x-big', 'v'.repeat(DEFAULT_OBSERVER_LIMITS.maxHeaderBytes)]]);
    expectGiveUp(
      [C(headers(3, ES, big.subarray(0, 16_000))), C(frame(FRAME_CONTINUATION, 0, 3, big.subarray(16_000, 32_000))),
        C(frame(FRAME_CONTINUATION, 0, 3, big.subarray(32_000, 48_000))), C(frame(FRAME_CONTINUATION, 0, 3, big.subarray(48_000, 64_000))),
        C(frame(FRAME_CONTINUATION, EH, 3, big.subarray(64_000)))],
      'h2-header-too-large',
    );
  });

  it('an endless CONTINUATION sequence is bounded (h2-header-too-large)', () => {
    const flood: LoggedChunk[] = [C(headers(3, 0, Buffer.alloc(0)))];
    for (let i = 0; i < 40; i++) flood.push(C(frame(FRAME_CONTINUATION, 0, 3, Buffer.alloc(16_000, 0x82))));
    expectGiveUp(flood, 'h2-header-too-large');
  });

  it('malformed frames give up with h2-frame', () => {
    const cases: Array<[string, LoggedChunk[]]> = [
      ['frame over SETTINGS_MAX_FRAME_SIZE', [C(data(1, 0, Buffer.alloc(16_385)))]],
      ['SETTINGS with a partial entry', [C(frame(FRAME_SETTINGS, 0, 0, Buffer.alloc(5)))]],
      ['SETTINGS on a stream', [S(frame(FRAME_SETTINGS, 0, 1, Buffer.alloc(0)))]],
      ['SETTINGS ACK with payload', [S(frame(FRAME_SETTINGS, 1, 0, Buffer.alloc(6)))]],
      ['MAX_FRAME_SIZE out of range', [S(settings([[5, 100]]))]],
      ['PING of 7 bytes', [C(frame(FRAME_PING, 0, 0, Buffer.alloc(7)))]],
      ['DATA on stream 0', [C(data(0, 0, Buffer.from('x')))]],
      ['HEADERS on stream 0', [C(headers(0, EH, REQ))]],
      ['padding longer than the DATA payload', [C(frame(0, 0x8, 1, Buffer.from([5, 1, 2])))]],
      ['padding longer than the HEADERS payload', [C(frame(1, 0x8 | EH, 3, Buffer.from([9, 0x82])))]],
      ['CONTINUATION without HEADERS', [C(frame(FRAME_CONTINUATION, EH, 1, Buffer.alloc(0)))]],
      ['header block interrupted by DATA', [C(headers(3, 0, REQ)), C(data(1, 0, Buffer.from('x')))]],
      ['header block interrupted by another stream', [C(headers(3, 0, REQ)), C(frame(FRAME_CONTINUATION, EH, 5, Buffer.alloc(0)))]],
      ['PUSH_PROMISE from the client', [C(frame(5, EH, 1, Buffer.alloc(4)))]],
      ['RST_STREAM of 3 bytes', [C(frame(3, 0, 1, Buffer.alloc(3)))]],
      ['GOAWAY on a stream', [S(frame(7, 0, 1, Buffer.alloc(8)))]],
      ['HTTP/1 response from the server', [S(Buffer.from('HTTP/1.1 400 Bad Request\r\n\r\n'))]],
    ];
    for (const [name, bad] of cases) {
      const log = [...OPEN, C(headers(1, EH, REQ)), ...bad];
      const rec = feedConversation(log);
      expect(rec.giveUps, name).toEqual(['h2-frame']);
      expect(rec.calls, name).toEqual(['req:1', 'end:1', 'giveUp:h2-frame']);
    }
  });

  it('more open streams than maxStreams gives up with h2-too-many-streams', () => {
    const log: LoggedChunk[] = [...OPEN];
    for (let id = 1; id <= 9; id += 2) log.push(C(headers(id, EH, REQ)));
    const rec = feedConversation(log, { limits: { maxStreams: 4 } });
    expect(rec.giveUps).toEqual(['h2-too-many-streams']);
    expect(rec.ended.map((ex) => ex.error)).toEqual(Array(4).fill('observer-gave-up'));
  });

  it('after giving up, further bytes and calls are ignored and nothing throws', () => {
    const sink = createRecordingSink();
    const observer = createH2Observer({ sink, limits: DEFAULT_OBSERVER_LIMITS, now: () => 0 });
    observer.clientData(Buffer.from('garbage garbage garbage garbage'));
    observer.clientData(clientStart());
    observer.serverData(Buffer.from('more garbage'));
    observer.serverEnd();
    observer.clientEnd();
    observer.close('reset');
    observer.close('reset');
    expect(sink.recording.calls).toEqual(['giveUp:h2-frame']);
  });

  it('a sink that throws costs the connection (giveUp internal), never the caller', () => {
    const sink = createRecordingSink();
    sink.requestHead = () => {
      throw new Error('sink bug');
    };
    const observer = createH2Observer({ sink, limits: DEFAULT_OBSERVER_LIMITS, now: () => 0 });
    observer.clientData(clientStart());
    observer.serverData(settings());
    expect(() => observer.clientData(headers(1, EH | ES, REQ))).not.toThrow();
    expect(sink.recording.giveUps).toEqual(['internal']);
  });
});
