/**
 * Chunking never changes what the observer reports: every split point of a conversation,
 * byte-at-a-time feeding, and property tests over random frame sequences and chunkings.
 * Random garbage never throws and gives up at most once.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { DEFAULT_OBSERVER_LIMITS } from '../observe.js';
import { FLAG_END_HEADERS as EH, FLAG_END_STREAM as ES, FRAME_CONTINUATION, FRAME_DATA, FRAME_HEADERS } from './constants.js';
import { FrameReader } from './frame-reader.js';
import { createH2Observer } from './index.js';
import { encodeBlock, encodeIndexedLiteral } from './test-support/hpack-encoder.js';
import { clientStart, frame, grpcMessage, headers, padded, settings } from './test-support/frames.js';
import { createRecordingSink, feedConversation, summarize, type LoggedChunk, type Recording } from './test-support/recording-sink.js';

const C = (chunk: Buffer): LoggedChunk => ({ fromClient: true, chunk });
const S = (chunk: Buffer): LoggedChunk => ({ fromClient: false, chunk });

/** A small conversation that touches every path: Huffman, dynamic table, padding, CONTINUATION, gRPC. */
function sampleConversation(): LoggedChunk[] {
  const grpcReq = encodeBlock(
    [[':method', 'POST'], [':scheme', 'http'], [':path', '/pkg.Svc/Call'], [':authority', 'svc:50051'], ['content-type', 'application/grpc']],
    true,
  );
  const plainReq = Buffer.concat([encodeIndexedLiteral(':path', '/indexed'), Buffer.from([0x82, 0x86]), encodeIndexedLiteral('x-k', 'v', true)]);
  const messages = Buffer.concat([grpcMessage(Buffer.from('first')), grpcMessage(Buffer.alloc(0)), grpcMessage(Buffer.from('third'), true)]);
  return [
    C(clientStart()),
    S(settings([[4, 65535]])),
    C(headers(1, 0, grpcReq.subarray(0, 20))),
    C(frame(FRAME_CONTINUATION, EH, 1, grpcReq.subarray(20))),
    C(Buffer.concat([padded(FRAME_DATA, 0, 1, messages.subarray(0, 13), 4), frame(FRAME_DATA, ES, 1, messages.subarray(13))])),
    C(headers(3, EH | ES, plainReq)),
    S(settings([], 1)),
    S(headers(1, EH, encodeBlock([[':status', '200'], ['content-type', 'application/grpc']], true))),
    S(padded(FRAME_HEADERS, EH | ES, 3, Buffer.concat([encodeIndexedLiteral(':status', '404'), encodeIndexedLiteral('x-srv', 's', true)]), 3)),
    S(frame(FRAME_DATA, 0, 1, grpcMessage(Buffer.from('reply')))),
    S(headers(1, EH | ES, encodeBlock([['grpc-status', '5'], ['grpc-message', 'not%20found']]))),
    // Dynamic indices: each side's table holds its own entries (62 = newest).
    C(headers(5, EH | ES, Buffer.from([0xbe, 0xbf, 0x82, 0x86]))),
    S(headers(5, EH | ES, Buffer.from([0x88, 0xbe]))),
  ];
}

function comparable(rec: Recording): unknown {
  return { calls: rec.calls, ended: rec.ended.map(summarize), giveUps: rec.giveUps };
}

describe('chunking does not change the result', () => {
  it('the sample conversation decodes as expected', () => {
    const rec = feedConversation(sampleConversation(), { bodyLimit: 1000 });
    expect(rec.giveUps).toEqual([]);
    expect(rec.ended.map((ex) => [ex.stream, ex.protocol, ex.path, ex.status, ex.error])).toEqual([
      [3, 'h2', '/indexed', 404, undefined],
      [1, 'grpc', '/pkg.Svc/Call', 200, undefined],
      [5, 'h2', '/indexed', 200, undefined],
    ]);
    const grpc = rec.ended[1]!;
    expect(grpc).toMatchObject({
      requestMessages: 3,
      requestCompressed: true,
      responseMessages: 1,
      responseCompressed: false,
      grpcStatus: 5,
      grpcMessage: 'not found',
      requestBytes: 5 * 3 + 10,
      responseBytes: 10,
    });
    expect(rec.ended[0]!.requestHeaders).toEqual([[':path', '/indexed'], [':method', 'GET'], [':scheme', 'http'], ['x-k', 'v']]);
    expect(rec.ended[0]!.responseHeaders).toEqual([[':status', '404'], ['x-srv', 's']]);
    expect(rec.ended[2]!.requestHeaders).toEqual([['x-k', 'v'], [':path', '/indexed'], [':method', 'GET'], [':scheme', 'http']]);
    expect(rec.ended[2]!.responseHeaders).toEqual([[':status', '200'], ['x-srv', 's']]);
  });

  it('every split point of every chunk gives identical results', () => {
    const log = sampleConversation();
    const whole = comparable(feedConversation(log, { bodyLimit: 1000 }));
    for (let i = 0; i < log.length; i++) {
      const { fromClient, chunk } = log[i]!;
      for (let at = 1; at < chunk.length; at++) {
        const split = [...log.slice(0, i), { fromClient, chunk: chunk.subarray(0, at) }, { fromClient, chunk: chunk.subarray(at) }, ...log.slice(i + 1)];
        expect(comparable(feedConversation(split, { bodyLimit: 1000 })), `chunk ${i} at ${at}`).toEqual(whole);
      }
    }
  });

  it('byte-at-a-time feeding gives identical results', () => {
    const log = sampleConversation();
    const bytes = log.flatMap(({ fromClient, chunk }) => [...chunk].map((b) => ({ fromClient, chunk: Buffer.from([b]) })));
    expect(comparable(feedConversation(bytes, { bodyLimit: 1000 }))).toEqual(comparable(feedConversation(log, { bodyLimit: 1000 })));
  });
});

interface StreamPlan {
  path: string;
  isGrpc: boolean;
  isHuffman: boolean;
  requestData: Array<{ bytes: number; pad: number }>;
  responseData: Array<{ bytes: number; pad: number }>;
  hasTrailers: boolean;
}

const planArb: fc.Arbitrary<StreamPlan> = fc.record({
  path: fc.string({ minLength: 1, maxLength: 30 }).map((s) => '/' + s),
  isGrpc: fc.boolean(),
  isHuffman: fc.boolean(),
  requestData: fc.array(fc.record({ bytes: fc.nat(300), pad: fc.nat(20) }), { maxLength: 4 }),
  responseData: fc.array(fc.record({ bytes: fc.nat(300), pad: fc.nat(20) }), { maxLength: 4 }),
  hasTrailers: fc.boolean(),
});

/** Frames of one stream, per direction, in order. */
function streamFrames(id: number, plan: StreamPlan): { client: Buffer[]; server: Buffer[] } {
  const ct: Array<[string, string]> = plan.isGrpc ? [['content-type', 'application/grpc']] : [];
  const client = [headers(id, EH | (plan.requestData.length ? 0 : ES), encodeBlock([[':method', 'POST'], [':path', plan.path], ...ct], plan.isHuffman))];
  const body = (d: { bytes: number; pad: number }): Buffer => (plan.isGrpc ? grpcMessage(Buffer.alloc(d.bytes, 7)) : Buffer.alloc(d.bytes, 7));
  plan.requestData.forEach((d, i) => {
    const isLast = i === plan.requestData.length - 1;
    client.push(d.pad ? padded(FRAME_DATA, isLast ? ES : 0, id, body(d), d.pad) : frame(FRAME_DATA, isLast ? ES : 0, id, body(d)));
  });
  const hasBody = plan.responseData.length > 0;
  const server = [headers(id, EH | (!hasBody && !plan.hasTrailers ? ES : 0), encodeBlock([[':status', '200'], ...ct], plan.isHuffman))];
  plan.responseData.forEach((d, i) => {
    const isLast = i === plan.responseData.length - 1 && !plan.hasTrailers;
    server.push(d.pad ? padded(FRAME_DATA, isLast ? ES : 0, id, body(d), d.pad) : frame(FRAME_DATA, isLast ? ES : 0, id, body(d)));
  });
  if (plan.hasTrailers) server.push(headers(id, EH | ES, encodeBlock([['grpc-status', String(id % 17)]])));
  return { client, server };
}

describe('property: random frame sequences and chunkings', () => {
  it('reports each planned exchange exactly, whatever the interleaving and chunking', () => {
    fc.assert(
      fc.property(
        fc.array(planArb, { minLength: 1, maxLength: 6 }),
        fc.array(fc.nat(), { minLength: 50, maxLength: 50 }),
        fc.array(fc.integer({ min: 1, max: 64 }), { minLength: 1, maxLength: 20 }),
        (plans, schedule, cuts) => {
          // Interleave: all request frames of stream k precede its response frames, and
          // streams open in increasing id order (RFC 9113 §5.1.1).
          const queues = plans.map((p, k) => {
            const f = streamFrames(2 * k + 1, p);
            return [...f.client.map(C), ...f.server.map(S)];
          });
          const log: LoggedChunk[] = [C(clientStart()), S(settings())];
          let opened = 0;
          let turn = 0;
          while (queues.some((q) => q.length > 0)) {
            const candidates = queues.map((q, k) => k).filter((k) => queues[k]!.length > 0 && k <= opened);
            const k = candidates[schedule[turn++ % schedule.length]! % candidates.length]!;
            if (k === opened) opened++;
            log.push(queues[k]!.shift()!);
          }
          const whole = feedConversation(log);
          expect(whole.giveUps).toEqual([]);
          expect(whole.ended).toHaveLength(plans.length);
          for (const ex of whole.ended) {
            const plan = plans[(ex.stream - 1) / 2]!;
            const sum = (ds: Array<{ bytes: number }>): number => ds.reduce((s, d) => s + d.bytes + (plan.isGrpc ? 5 : 0), 0);
            expect(ex.path).toBe(plan.path);
            expect(ex.protocol).toBe(plan.isGrpc ? 'grpc' : 'h2');
            expect(ex.requestBytes).toBe(sum(plan.requestData));
            expect(ex.responseBytes).toBe(sum(plan.responseData));
            expect(ex.requestMessages).toBe(plan.isGrpc ? plan.requestData.length : 0);
            expect(ex.responseMessages).toBe(plan.isGrpc ? plan.responseData.length : 0);
            if (plan.isGrpc && plan.hasTrailers) expect(ex.grpcStatus).toBe(ex.stream % 17);
            // A gRPC response without trailers has no status: its client reports INTERNAL.
            if (plan.isGrpc && !plan.hasTrailers) expect([ex.grpcStatus, ex.error]).toEqual([13, 'grpc-status-missing']);
            else expect(ex.error).toBeUndefined();
          }
          // Re-chunk the whole byte stream of each direction at the generated cut sizes.
          let c = 0;
          const rechunked = log.flatMap(({ fromClient, chunk }) => {
            const out: LoggedChunk[] = [];
            for (let at = 0; at < chunk.length; ) {
              const size = cuts[c++ % cuts.length]!;
              out.push({ fromClient, chunk: chunk.subarray(at, at + size) });
              at += size;
            }
            return out;
          });
          expect(comparable(feedConversation(rechunked))).toEqual(comparable(whole));
        },
      ),
      { numRuns: 150 },
    );
  });

  it('random garbage after a valid start never throws and gives up at most once', () => {
    fc.assert(
      fc.property(fc.array(fc.tuple(fc.boolean(), fc.uint8Array({ minLength: 1, maxLength: 200 })), { maxLength: 20 }), (pieces) => {
        const sink = createRecordingSink();
        const observer = createH2Observer({ sink, limits: DEFAULT_OBSERVER_LIMITS, now: () => 0 });
        observer.clientData(clientStart());
        observer.serverData(settings());
        for (const [isClient, bytes] of pieces) {
          if (isClient) observer.clientData(Buffer.from(bytes));
          else observer.serverData(Buffer.from(bytes));
        }
        observer.close('reset');
        expect(sink.recording.giveUps.length).toBeLessThanOrEqual(1);
        expect(sink.recording.giveUps.every((r) => r !== 'internal')).toBe(true);
      }),
      { numRuns: 500 },
    );
  });

  it('random frames with valid headers but random payloads never throw', () => {
    const frameArb = fc.tuple(fc.boolean(), fc.integer({ min: 0, max: 10 }), fc.nat(255), fc.integer({ min: 0, max: 7 }), fc.uint8Array({ maxLength: 64 }));
    fc.assert(
      fc.property(fc.array(frameArb, { maxLength: 30 }), (frames) => {
        const log: LoggedChunk[] = [C(clientStart()), S(settings())];
        for (const [isClient, type, flags, stream, payload] of frames) log.push({ fromClient: isClient, chunk: frame(type, flags, stream, Buffer.from(payload)) });
        const rec = feedConversation(log);
        expect(rec.giveUps.length).toBeLessThanOrEqual(1);
        expect(rec.giveUps).not.toContain('internal');
        // Every exchange reported as started is ended exactly once.
        const started = rec.calls.filter((c) => c.startsWith('req:')).length;
        expect(rec.ended).toHaveLength(started);
      }),
      { numRuns: 500 },
    );
  });
});

describe('FrameReader', () => {
  it('streams DATA without padding and hands other frames over whole', () => {
    const events: string[] = [];
    const reader = new FrameReader({
      onFrame: (type, flags, id, buf, s, e) => events.push(`frame ${type} ${flags} ${id} ${buf.toString('latin1', s, e)}`),
      onDataStart: (flags, id, n) => events.push(`data-start ${id} ${n}`),
      onData: (id, buf, s, e) => events.push(`data ${id} ${buf.toString('latin1', s, e)}`),
      onDataEnd: (flags, id) => events.push(`data-end ${id} ${flags}`),
      onFrameError: (d) => events.push(`error ${d}`),
    });
    const bytes = Buffer.concat([frame(6, 0, 0, Buffer.from('12345678')), padded(FRAME_DATA, ES, 3, Buffer.from('abc'), 2), frame(FRAME_DATA, 0, 5, Buffer.alloc(0))]);
    for (const b of bytes) reader.push(Buffer.from([b]));
    expect(events).toEqual([
      'frame 6 0 0 12345678',
      'data-start 3 3',
      'data 3 a',
      'data 3 b',
      'data 3 c',
      `data-end 3 ${ES | 0x8}`,
      'data-start 5 0',
      'data-end 5 0',
    ]);
    expect(reader.isAtFrameBoundary).toBe(true);
  });
});
