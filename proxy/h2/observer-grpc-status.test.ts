/**
 * gRPC calls that end without a usable grpc-status, on hand-built frames: the observer reports
 * the status the call's client reports (grpc-status.ts) and an `error` saying why, instead of
 * no status (which metrics counted as a success). And a client reset that crosses the
 * server's trailers reports what passed through.
 */
import { afterEach, describe, expect, it, vi } from 'vitest';
import { DEFAULT_OBSERVER_LIMITS } from '../observe.js';
import { FLAG_END_HEADERS as EH, FLAG_END_STREAM as ES, FRAME_DATA } from './constants.js';
import { createH2Observer } from './observer.js';
import { MAX_RESET_PENDING, RESET_GRACE_MS } from './stream-tracker.js';
import { encodeBlock } from './test-support/hpack-encoder.js';
import { clientStart, frame, grpcMessage, headers, rstStream, settings } from './test-support/frames.js';
import { createRecordingSink, feedConversation, type LoggedChunk } from './test-support/recording-sink.js';

const C = (chunk: Buffer): LoggedChunk => ({ fromClient: true, chunk });
const S = (chunk: Buffer): LoggedChunk => ({ fromClient: false, chunk });

const CANCEL = 0x8;
const INTERNAL_ERROR = 0x2;
const REFUSED_STREAM = 0x7;

const call = (id: number, path = '/pkg.Svc/Call'): Buffer =>
  headers(id, EH, encodeBlock([[':method', 'POST'], [':scheme', 'http'], [':authority', 'svc'], [':path', path], ['content-type', 'application/grpc']]));
const responseHead = (id: number, status = 200, isEnd = false, extra: Array<[string, string]> = []): Buffer =>
  headers(id, EH | (isEnd ? ES : 0), encodeBlock([[':status', String(status)], ['content-type', 'application/grpc'], ...extra]));
const trailers = (id: number, fields: Array<[string, string]>): Buffer => headers(id, EH | ES, encodeBlock(fields));
const message = (id: number, isEnd = false): Buffer => frame(FRAME_DATA, isEnd ? ES : 0, id, grpcMessage(Buffer.from('m')));

/** A unary call whose request is complete, and the server's response frames. */
function unary(response: Buffer[]): LoggedChunk[] {
  return [C(clientStart()), S(settings()), C(call(1)), C(message(1, true)), ...response.map(S)];
}

afterEach(() => {
  vi.useRealTimers();
});

describe('regression: gRPC responses without a usable grpc-status counted as successes', () => {
  it('missing trailers (DATA ends the stream): INTERNAL, error grpc-status-missing', () => {
    const rec = feedConversation(unary([responseHead(1), message(1, true)]), { isClosing: false });
    expect(rec.ended.map((ex) => [ex.status, ex.grpcStatus, ex.error, ex.responseMessages])).toEqual([[200, 13, 'grpc-status-missing', 1]]);
  });

  it('trailers without grpc-status: INTERNAL; a trailers-only 503 without it: UNAVAILABLE; a 404: UNIMPLEMENTED', () => {
    const a = feedConversation(unary([responseHead(1), message(1), trailers(1, [['x-other', '1']])]), { isClosing: false });
    expect(a.ended.map((ex) => [ex.grpcStatus, ex.error])).toEqual([[13, 'grpc-status-missing']]);
    const b = feedConversation(unary([responseHead(1, 503, true)]), { isClosing: false });
    expect(b.ended.map((ex) => [ex.status, ex.grpcStatus, ex.error])).toEqual([[503, 14, 'grpc-status-missing']]);
    const c = feedConversation(unary([responseHead(1, 404, true)]), { isClosing: false });
    expect(c.ended.map((ex) => [ex.status, ex.grpcStatus, ex.error])).toEqual([[404, 12, 'grpc-status-missing']]);
  });

  it.each(['abc', ' 13 ', '-1', '0x2', '', '1.0'])('grpc-status %j: UNKNOWN, error grpc-status-malformed, trailers kept as sent', (value) => {
    const rec = feedConversation(unary([responseHead(1), message(1), trailers(1, [['grpc-status', value], ['grpc-message', 'why']])]), { isClosing: false });
    const [ex] = rec.ended;
    expect([ex!.grpcStatus, ex!.error, ex!.grpcMessage]).toEqual([2, 'grpc-status-malformed', 'why']);
    expect(ex!.trailers).toEqual([['grpc-status', value], ['grpc-message', 'why']]);
  });

  it('a malformed status in a trailers-only response is UNKNOWN too', () => {
    const rec = feedConversation(unary([responseHead(1, 200, true, [['grpc-status', 'abc']])]), { isClosing: false });
    expect(rec.ended.map((ex) => [ex.grpcStatus, ex.error])).toEqual([[2, 'grpc-status-malformed']]);
  });

  it('a well-formed status is reported as sent, with no error', () => {
    const rec = feedConversation(unary([responseHead(1), message(1), trailers(1, [['grpc-status', '0']])]), { isClosing: false });
    expect(rec.ended.map((ex) => [ex.grpcStatus, ex.error])).toEqual([[0, undefined]]);
  });

  it('server reset after the response headers: by its error code (INTERNAL_ERROR -> INTERNAL, REFUSED_STREAM -> UNAVAILABLE)', () => {
    const a = feedConversation(unary([responseHead(1), message(1), rstStream(1, INTERNAL_ERROR)]), { isClosing: false });
    expect(a.ended.map((ex) => [ex.status, ex.grpcStatus, ex.error])).toEqual([[200, 13, 'reset']]);
    const b = feedConversation(unary([rstStream(1, REFUSED_STREAM)]), { isClosing: false });
    expect(b.ended.map((ex) => [ex.status, ex.grpcStatus, ex.error])).toEqual([[0, 14, 'reset']]);
  });

  it('the connection closing mid-call: UNAVAILABLE', () => {
    const rec = feedConversation(unary([responseHead(1), message(1)]), { closeError: 'upstream-closed' });
    expect(rec.ended.map((ex) => [ex.grpcStatus, ex.error])).toEqual([[14, 'upstream-closed']]);
  });
});

describe('regression: cancel_after_first_response (client RST_STREAM after the first response)', () => {
  const cancelled: LoggedChunk[] = [C(clientStart()), S(settings()), C(call(1, '/pkg.Svc/Bidi')), C(message(1)), S(responseHead(1)), S(message(1)), C(rstStream(1, CANCEL))];

  it('ends CANCELLED with error reset once the grace period passes', () => {
    vi.useFakeTimers();
    const rec = feedConversation(cancelled, { isClosing: false });
    expect(rec.ended).toEqual([]); // still waiting for a response that may have crossed the reset
    vi.advanceTimersByTime(2 * RESET_GRACE_MS);
    expect(rec.ended.map((ex) => [ex.status, ex.grpcStatus, ex.error, ex.responseMessages])).toEqual([[200, 1, 'reset', 1]]);
  });

  it('ends CANCELLED at once when the connection closes', () => {
    const rec = feedConversation(cancelled);
    expect(rec.ended.map((ex) => [ex.grpcStatus, ex.error])).toEqual([[1, 'reset']]);
  });

  it('trailers that crossed the reset are reported as they passed through: trailers and grpcStatus, no error', () => {
    const rec = feedConversation([...cancelled, S(trailers(1, [['grpc-status', '0'], ['grpc-message', 'done']]))], { isClosing: false });
    expect(rec.ended.map((ex) => [ex.grpcStatus, ex.grpcMessage, ex.error])).toEqual([[0, 'done', undefined]]);
    expect(rec.ended[0]!.trailers).toEqual([['grpc-status', '0'], ['grpc-message', 'done']]);
  });

  it('trailers before the reset (no crossing) read the same', () => {
    const rec = feedConversation([...cancelled.slice(0, -1), S(trailers(1, [['grpc-status', '0'], ['grpc-message', 'done']])), C(rstStream(1, CANCEL))], { isClosing: false });
    expect(rec.ended.map((ex) => [ex.grpcStatus, ex.grpcMessage, ex.error])).toEqual([[0, 'done', undefined]]);
  });

  it('a CANCEL as the request\'s grpc-timeout runs out is the client\'s deadline: DEADLINE_EXCEEDED', () => {
    const sink = createRecordingSink();
    let clock = 0;
    const observer = createH2Observer({ sink, limits: DEFAULT_OBSERVER_LIMITS, now: () => clock });
    observer.clientData(Buffer.concat([clientStart(), headers(1, EH, encodeBlock([[':method', 'POST'], [':path', '/p.S/M'], ['content-type', 'application/grpc'], ['grpc-timeout', '300m']]))]));
    observer.serverData(Buffer.concat([settings(), responseHead(1)]));
    clock = 299;
    observer.clientData(rstStream(1, CANCEL));
    observer.close();
    expect(sink.recording.ended.map((ex) => [ex.grpcStatus, ex.error])).toEqual([[4, 'reset']]);
    // Up to max(50 ms, 5 %) sooner: a loaded client or sidecar puts that much between the two clocks (exact12).
    // At most 1 s sooner however long the call: a CANCEL 3 min before a 1 h timeout is the client's own.
    for (const [timeout, seenAtMs, status] of [['300m', 250, 4], ['300m', 249, 1], ['1H', 3_599_000, 4], ['1H', 3_598_999, 1], ['1H', 3_420_000, 1]] as const) {
      let at = 0;
      const rec = createRecordingSink();
      const watched = createH2Observer({ sink: rec, limits: DEFAULT_OBSERVER_LIMITS, now: () => at });
      watched.clientData(Buffer.concat([clientStart(), headers(1, EH, encodeBlock([[':method', 'POST'], [':path', '/p.S/M'], ['content-type', 'application/grpc'], ['grpc-timeout', timeout]]))]));
      watched.serverData(Buffer.concat([settings(), responseHead(1)]));
      at = seenAtMs;
      watched.clientData(rstStream(1, CANCEL));
      watched.close();
      expect([timeout, seenAtMs, rec.recording.ended.map((ex) => ex.grpcStatus)]).toEqual([timeout, seenAtMs, [status]]);
    }
    // Well before the timeout it is the client's own cancel.
    const early = feedConversation([C(clientStart()), S(settings()), C(headers(1, EH, encodeBlock([[':method', 'POST'], [':path', '/p.S/M'], ['content-type', 'application/grpc'], ['grpc-timeout', '10S']]))), S(responseHead(1)), C(rstStream(1, CANCEL))]);
    expect(early.ended.map((ex) => [ex.grpcStatus, ex.error])).toEqual([[1, 'reset']]);
  });

  it('a rapid-reset flood holds at most MAX_RESET_PENDING streams waiting; every stream is still reported', () => {
    const sink = createRecordingSink();
    const observer = createH2Observer({ sink, limits: DEFAULT_OBSERVER_LIMITS, now: () => 0 });
    observer.clientData(clientStart());
    observer.serverData(settings());
    const n = 5000;
    for (let i = 0; i < n; i++) observer.clientData(Buffer.concat([call(2 * i + 1), rstStream(2 * i + 1, CANCEL)]));
    expect(sink.recording.giveUps).toEqual([]);
    expect(sink.recording.ended.length).toBe(n - MAX_RESET_PENDING);
    observer.close();
    expect(sink.recording.ended.length).toBe(n);
    expect(new Set(sink.recording.ended.map((ex) => `${ex.grpcStatus}/${ex.error}`))).toEqual(new Set(['1/reset']));
  });
});
