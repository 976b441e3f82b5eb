/**
 * The HTTP/2 observer on hand-built frames: what real clients rarely send (padding, PRIORITY
 * flags, PUSH_PROMISE, GOAWAY, request trailers, unknown frame types) and the limits that
 * come from SETTINGS.
 */
import { describe, expect, it } from 'vitest';
import {
  FLAG_END_HEADERS as EH,
  FLAG_END_STREAM as ES,
  FLAG_PRIORITY,
  FRAME_CONTINUATION,
  FRAME_DATA,
  FRAME_HEADERS,
  FRAME_PING,
  FRAME_PUSH_PROMISE,
  FRAME_WINDOW_UPDATE,
  SETTINGS_HEADER_TABLE_SIZE,
  SETTINGS_MAX_FRAME_SIZE,
} from './constants.js';
import { encodeBlock, encodeIndexedLiteral, encodeInteger } from './test-support/hpack-encoder.js';
import { clientStart, data, frame, goaway, headers, padded, rstStream, settings } from './test-support/frames.js';
import { feedConversation, type LoggedChunk } from './test-support/recording-sink.js';

const C = (chunk: Buffer): LoggedChunk => ({ fromClient: true, chunk });
const S = (chunk: Buffer): LoggedChunk => ({ fromClient: false, chunk });

const req = (path: string, extra: Array<[string, string]> = []): Buffer =>
  encodeBlock([[':method', 'POST'], [':scheme', 'http'], [':authority', 'svc'], [':path', path], ...extra], true);
const rsp = (status: number, extra: Array<[string, string]> = []): Buffer => encodeBlock([[':status', String(status)], ...extra]);

const OPEN: LoggedChunk[] = [C(clientStart()), S(settings())];

describe('HTTP/2 observer on hand-built frames', () => {
  it('strips padding from HEADERS (with PRIORITY) and DATA in both directions', () => {
    const log = [
      ...OPEN,
      C(padded(FRAME_HEADERS, EH | FLAG_PRIORITY, 1, Buffer.concat([Buffer.from([0, 0, 0, 0, 16]), req('/p')]), 7)),
      C(padded(FRAME_DATA, 0, 1, Buffer.from('hello'), 10)),
      C(padded(FRAME_DATA, ES, 1, Buffer.alloc(0), 3)),
      S(padded(FRAME_HEADERS, EH, 1, rsp(200), 255)),
      S(padded(FRAME_DATA, ES, 1, Buffer.from('world!'), 1)),
    ];
    const rec = feedConversation(log, { bodyLimit: 100 });
    expect(rec.giveUps).toEqual([]);
    const [ex] = rec.ended;
    expect(ex).toMatchObject({ path: '/p', method: 'POST', status: 200, requestBytes: 5, responseBytes: 6 });
    expect(Buffer.concat(ex!.requestBody!.chunks).toString()).toBe('hello');
    expect(Buffer.concat(ex!.responseBody!.chunks).toString()).toBe('world!');
  });

  it('joins HEADERS + CONTINUATION fragments (including an empty one) into one block', () => {
    const block = req('/continued', [['x-a', '1'.repeat(50)]]);
    const log = [
      ...OPEN,
      C(headers(1, ES, block.subarray(0, 10))),
      C(frame(FRAME_CONTINUATION, 0, 1, Buffer.alloc(0))),
      C(frame(FRAME_CONTINUATION, 0, 1, block.subarray(10, 30))),
      C(frame(FRAME_CONTINUATION, EH, 1, block.subarray(30))),
      S(headers(1, EH | ES, rsp(204))),
    ];
    const rec = feedConversation(log);
    expect(rec.giveUps).toEqual([]);
    expect(rec.ended[0]).toMatchObject({ path: '/continued', status: 204 });
    expect(rec.ended[0]!.requestHeaders).toContainEqual(['x-a', '1'.repeat(50)]);
  });

  it('reports request trailers (a second client HEADERS)', () => {
    const log = [
      ...OPEN,
      C(headers(1, EH, req('/up'))),
      C(data(1, 0, Buffer.from('abc'))),
      C(headers(1, EH | ES, encodeBlock([['x-digest', 'sha=1']]))),
      S(headers(1, EH | ES, rsp(200))),
    ];
    const [ex] = feedConversation(log).ended;
    expect(ex!.requestTrailers).toEqual([['x-digest', 'sha=1']]);
    expect(ex!.requestBytes).toBe(3);
  });

  it('decodes PUSH_PROMISE blocks so the server-side HPACK table stays in sync', () => {
    const promise = Buffer.concat([Buffer.from([0, 0, 0, 2]), encodeIndexedLiteral('x-pushed', 'from-promise')]);
    const log = [
      ...OPEN,
      C(headers(1, EH | ES, req('/page'))),
      S(frame(FRAME_PUSH_PROMISE, EH, 1, promise)),
      // 0xbe = dynamic index 62: the entry the PUSH_PROMISE block added.
      S(headers(1, EH, Buffer.concat([rsp(200), Buffer.from([0xbe])]))),
      S(headers(2, EH | ES, rsp(200))), // the pushed stream's response: not tracked
      S(data(1, ES, Buffer.from('page'))),
    ];
    const rec = feedConversation(log);
    expect(rec.giveUps).toEqual([]);
    expect(rec.ended).toHaveLength(1);
    expect(rec.ended[0]!.responseHeaders).toEqual([
      [':status', '200'],
      ['x-pushed', 'from-promise'],
    ]);
  });

  it('ignores unknown frame types, PING and WINDOW_UPDATE', () => {
    const log = [
      ...OPEN,
      C(frame(0xfa, 0xff, 0, Buffer.from('whatever'))),
      C(frame(FRAME_PING, 0, 0, Buffer.alloc(8))),
      C(headers(1, EH | ES, req('/x'))),
      S(frame(FRAME_WINDOW_UPDATE, 0, 0, Buffer.from([0, 0, 1, 0]))),
      S(frame(0x42, 0, 1, Buffer.alloc(0))),
      S(headers(1, EH | ES, rsp(200))),
    ];
    const rec = feedConversation(log);
    expect(rec.giveUps).toEqual([]);
    expect(rec.calls).toEqual(['req:1', 'rsp:1', 'end:1']);
  });

  it('GOAWAY ends streams above the last stream id with error goaway; lower ones complete', () => {
    const log = [
      ...OPEN,
      C(headers(1, EH | ES, req('/one'))),
      C(headers(3, EH | ES, req('/three'))),
      C(headers(5, EH | ES, req('/five'))),
      S(goaway(1)),
      C(headers(7, EH | ES, req('/seven'))), // sent before the client saw the GOAWAY
      S(headers(1, EH | ES, rsp(200))),
    ];
    const rec = feedConversation(log);
    expect(rec.giveUps).toEqual([]);
    expect(rec.ended.map((ex) => [ex.path, ex.error])).toEqual([
      ['/three', 'goaway'],
      ['/five', 'goaway'],
      ['/seven', 'goaway'],
      ['/one', undefined],
    ]);
  });

  it('RST_STREAM after a complete response is not an error; before it, error reset', () => {
    const log = [
      ...OPEN,
      C(headers(1, EH, req('/early'))),
      C(headers(3, EH, req('/cancelled'))),
      S(headers(1, EH | ES, rsp(413))),
      S(rstStream(1, 0)),
      C(rstStream(3, 8)),
    ];
    const rec = feedConversation(log);
    expect(rec.ended.map((ex) => [ex.path, ex.status, ex.error])).toEqual([
      ['/early', 413, undefined],
      ['/cancelled', 0, 'reset'],
    ]);
  });

  it('close(error) and serverEnd end open streams with an error', () => {
    const log = [...OPEN, C(headers(1, EH | ES, req('/a'))), C(headers(3, EH, req('/b'))), S(headers(3, EH | ES, rsp(200)))];
    const closed = feedConversation(log, { closeError: 'client-closed' });
    expect(closed.ended.map((ex) => [ex.path, ex.error])).toEqual([
      ['/a', 'client-closed'],
      ['/b', undefined], // its response was complete
    ]);
  });

  it('frees ended streams: 2000 sequential exchanges under maxStreams 2', () => {
    const log: LoggedChunk[] = [...OPEN];
    for (let id = 1; id < 4000; id += 2) {
      log.push(C(headers(id, EH | ES, req(`/${id}`))), S(headers(id, EH | ES, rsp(200))));
    }
    const rec = feedConversation(log, { limits: { maxStreams: 2 } });
    expect(rec.giveUps).toEqual([]);
    expect(rec.ended).toHaveLength(2000);
  });

  it('honours SETTINGS_MAX_FRAME_SIZE advertised by the receiver', () => {
    const body = Buffer.alloc(20_000, 1);
    const bigFrames = [C(headers(1, EH, req('/big'))), C(data(1, ES, body)), S(headers(1, EH | ES, rsp(200)))];
    const allowed = feedConversation([C(clientStart()), S(settings([[SETTINGS_MAX_FRAME_SIZE, 32_768]])), ...bigFrames]);
    expect(allowed.giveUps).toEqual([]);
    expect(allowed.ended[0]!.requestBytes).toBe(20_000);
    const refused = feedConversation([...OPEN, ...bigFrames]);
    expect(refused.giveUps).toEqual(['h2-frame']);
    // The client's setting limits the server's frames, not the client's own.
    const wrongSide = feedConversation([C(Buffer.concat([clientStart(), settings([[SETTINGS_MAX_FRAME_SIZE, 32_768]])])), S(settings()), ...bigFrames]);
    expect(wrongSide.giveUps).toEqual(['h2-frame']);
  });

  it('bounds HPACK table size updates by the decoding side’s SETTINGS_HEADER_TABLE_SIZE', () => {
    const update = encodeInteger(8192, 5, 0x20);
    const frames = [C(headers(1, EH | ES, Buffer.concat([update, req('/t')]))), S(headers(1, EH | ES, rsp(200)))];
    const allowed = feedConversation([C(clientStart()), S(settings([[SETTINGS_HEADER_TABLE_SIZE, 8192]])), ...frames]);
    expect(allowed.giveUps).toEqual([]);
    expect(feedConversation([...OPEN, ...frames]).giveUps).toEqual(['h2-hpack']);
    // ... and by limits.maxHpackTableBytes, whatever the peer allows.
    const limited = feedConversation([C(clientStart()), S(settings([[SETTINGS_HEADER_TABLE_SIZE, 8192]])), ...frames], {
      limits: { maxHpackTableBytes: 4096 },
    });
    expect(limited.giveUps).toEqual(['h2-hpack']);
  });
});
