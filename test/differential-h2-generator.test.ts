/**
 * The differential h2/gRPC suites are only as sharp as their generators: if the generated
 * conversations stopped being valid HTTP/2 (every connection an early give-up) or stopped
 * reaching a feature, both engines would agree on nothing and the suites would pass for no
 * reason. This file feeds samples of the generators (support/h2-conversations.ts,
 * support/grpc-conversations.ts) straight into the js observer (the oracle) and checks that
 * they cover what they claim: valid conversations followed to the end, every stream an
 * exchange, resets, GOAWAY, 1xx, trailers, CONTINUATION-split and padded blocks decoded, each
 * give-up reason reached by some malformation, and gRPC calls ending with every kind of status.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { createRecordingSink, feedConversation, type LoggedChunk } from '../proxy/h2/test-support/recording-sink.js';
import { createHttp1Observer } from '../proxy/http1/observer.js';
import { DEFAULT_OBSERVER_LIMITS } from '../proxy/observe.js';
import { grpcConversationArb } from './support/grpc-conversations.js';
import { h2ConversationArb, toH2Conversation, type H2ConversationSpec } from './support/h2-conversations.js';

const SAMPLES = 300;

/** The js observer's view of a generated conversation (an h2c upgrade starts in the HTTP/1 observer, as the sidecar's detection would). */
function observe(spec: H2ConversationSpec) {
  const built = toH2Conversation(spec);
  const log: LoggedChunk[] = built.steps.map((s) => ({ fromClient: s.from === 'client', chunk: s.bytes }));
  if (spec.upgrade === null) return { built, recording: feedConversation(log, { bodyLimit: 256 }) };
  const sink = createRecordingSink(256);
  let clock = 0;
  const observer = createHttp1Observer({ sink, limits: DEFAULT_OBSERVER_LIMITS, now: () => ++clock });
  for (const { fromClient, chunk } of log) (fromClient ? observer.clientData(chunk) : observer.serverData(chunk));
  observer.close();
  return { built, recording: sink.recording };
}

describe('the h2 conversation generator (through the js observer)', () => {
  const specs = fc.sample(h2ConversationArb, { numRuns: SAMPLES, seed: 14 });
  const runs = specs.map((spec) => ({ spec, ...observe(spec) }));

  it('valid conversations (no malformation) are followed to the end: one exchange per stream opened, no give-up', () => {
    const valid = runs.filter((r) => r.spec.mutation === null);
    expect(valid.length).toBeGreaterThan(SAMPLES / 2);
    for (const r of valid) {
      expect(r.recording.giveUps, r.built.log.join('\n')).toEqual([]);
      expect(r.recording.ended.length, r.built.log.join('\n')).toBe(r.built.exchanges);
    }
  });

  it('reaches resets, GOAWAY, closes mid-stream, 1xx, trailers both ways, and several streams at once', () => {
    const ended = runs.filter((r) => r.spec.mutation === null).flatMap((r) => r.recording.ended);
    const errors = new Set(ended.map((e) => e.error));
    for (const e of ['reset', 'goaway', 'closed', undefined]) expect(errors).toContain(e);
    expect(ended.some((e) => e.requestTrailers.length > 0)).toBe(true);
    expect(ended.some((e) => e.trailers.length > 0)).toBe(true);
    expect(ended.some((e) => e.responseBody?.truncated)).toBe(true);
    expect(runs.some((r) => r.spec.streams.length >= 3 && r.recording.ended.length >= 3)).toBe(true);
    expect(runs.some((r) => r.built.log.some((l) => l.includes('CONTINUATION')))).toBe(true);
    expect(runs.some((r) => r.built.log.some((l) => l.includes('PUSH_PROMISE')))).toBe(true);
    // A CONTINUATION flood (dozens of frames in one block, most empty), and a GOAWAY above which every open stream is left unprocessed.
    expect(runs.some((r) => r.spec.mutation === null && r.built.log.filter((l) => l.includes('CONTINUATION')).length >= 40 && r.recording.giveUps.length === 0)).toBe(true);
    expect(runs.some((r) => r.spec.mutation === null && r.recording.ended.filter((e) => e.unprocessed === 'goaway').length >= 2)).toBe(true);
    // h2c: the upgraded request becomes an h2 exchange (keeping its HTTP/1 number).
    expect(runs.some((r) => r.spec.upgrade !== null && r.spec.mutation === null && r.recording.ended.some((e) => e.stream === 1 + r.spec.upgrade!.before && e.protocol === 'h2' && e.status > 0))).toBe(true);
  });

  it('malformations end in the give-ups they aim at', () => {
    const reasons = new Set(runs.filter((r) => r.spec.mutation !== null).flatMap((r) => r.recording.giveUps));
    for (const reason of ['h2-frame', 'h2-hpack', 'h2-header-too-large']) expect(reasons).toContain(reason);
  });
});

describe('the gRPC conversation generator (through the js observer)', () => {
  const specs = fc.sample(grpcConversationArb, { numRuns: SAMPLES, seed: 14 });
  const ended = specs.filter((s) => s.mutation === null).flatMap((spec) => observe(spec).recording.ended);

  it('every call is gRPC and ends with a status', () => {
    expect(ended.length).toBeGreaterThan(SAMPLES / 2);
    for (const e of ended) {
      expect(e.protocol).toBe('grpc');
      expect(e.grpcStatus).toBeTypeOf('number');
    }
  });

  it('reaches every status source: trailers, trailers-only, missing, malformed, resets with and without a deadline', () => {
    const statuses = new Set(ended.map((e) => e.grpcStatus));
    for (const s of [0, 1, 2, 4, 8, 12, 13, 14, 16]) expect(statuses, `grpc-status ${s}`).toContain(s);
    const errors = new Set(ended.map((e) => e.error));
    for (const e of ['grpc-status-missing', 'grpc-status-malformed', 'reset', undefined]) expect(errors).toContain(e);
    expect(ended.some((e) => e.grpcMessage !== undefined && /[^\x20-\x7e]/.test(e.grpcMessage))).toBe(true);
    expect(ended.some((e) => e.requestCompressed)).toBe(true);
    expect(ended.some((e) => (e.requestMessages ?? 0) > 1 && (e.responseMessages ?? 0) > 1)).toBe(true);
  });
});
