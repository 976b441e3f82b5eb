/**
 * Two engines, one truth, for gRPC (issue 14): generated gRPC calls on raw HTTP/2 connections
 * (support/grpc-conversations.ts: all four call kinds, the compressed flag, messages split across
 * DATA frames anywhere, a request cut inside a message, grpc-status / grpc-message with
 * percent-encoding good and bad, trailers-only answers, HTTP errors, missing and malformed
 * statuses, resets from either side with and without grpc-timeout) played through a js and a
 * native `meshtap proxy` (support/differential-rig.ts): the same bytes at both ends on each
 * engine, and identical tap events (message counts and bytes, grpcStatus, grpcMessage, error),
 * flight-recorder answers and /metrics deltas (grpc_status labels, classification) across them.
 *
 * A failing run prints fast-check's seed and path and the conversation frame by frame (knobs to
 * replay and run more: support/differential-suite.ts). Divergences found are kept below as named
 * examples.
 */
import { expect } from 'vitest';
import { checkConversation } from './support/differential-check.js';
import { describeDifferential } from './support/differential-suite.js';
import { grpcConversationArb } from './support/grpc-conversations.js';
import { describeH2Conversation, toH2Conversation, type H2ConversationSpec } from './support/h2-conversations.js';

/** Divergences found by this suite, as minimal reproductions (named; each failed before its fix). */
const EXAMPLES: Array<[string, H2ConversationSpec]> = [];

describeDifferential({
  what: 'gRPC conversations',
  tag: 'differential-grpc',
  arbitrary: grpcConversationArb,
  examples: EXAMPLES,
  // ~45 s for the file on the loaded machine.
  defaultRuns: 30,
  defaultTimeLimitMs: 25_000,
  async check(pair, spec, setup) {
    const built = toH2Conversation(spec);
    const [js] = await checkConversation(pair, built, () => describeH2Conversation(built), { isByExchange: true });
    if (spec.mutation === null && setup.options.liveTap !== false) {
      // The generator writes valid gRPC over HTTP/2: the oracle sees every call, as gRPC.
      const where = `\nconversation:\n${describeH2Conversation(built)}`;
      const ends = js!.events.filter((e) => e.kind === 'end');
      expect(ends.map((e) => e.protocol), `js saw other calls${where}`).toEqual(Array.from({ length: built.exchanges }, () => 'grpc'));
    }
  },
});
