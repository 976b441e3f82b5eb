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
const EXAMPLES: Array<[string, H2ConversationSpec]> = [
  [
    // Session 15's closing note: native counted no response. Not a C++ bug: the addon that ran was
    // built before 2c335fc taught metrics-h2-sink.cc the rule; kept so a stale or regressed sink fails here
    // (seen failing with that addon, passing with a fresh build; session 16, diff16).
    'a 500 head, then a bad HPACK index on another stream: the 500 counts as a failure on both engines',
    {
      isServerFirst: false,
      clientSettings: [],
      serverSettings: [],
      streams: [
        {
          request: {
            interim: [],
            head: {
              styles: [{ rep: 'indexed', isNameIndexed: false, isHuffman: false }],
              fragments: 1,
              padding: null,
              hasPriority: false,
              sizeUpdate: 'none',
              fields: [[':method', 'POST'], [':scheme', 'http'], [':path', '/pkg.Echo/Unary'], [':authority', 'grpc.diff'], ['content-type', 'application/grpc'], ['te', 'trailers']],
            },
            body: 'latin1:\u0000\u0000\u0000\u0000\u0001\u0000',
            dataSizes: [17],
            dataPadding: [],
            isEmptyDataEnd: false,
            trailers: null,
          },
          response: {
            interim: [],
            head: {
              styles: [{ rep: 'indexed', isNameIndexed: false, isHuffman: false }],
              fragments: 1,
              padding: null,
              hasPriority: false,
              sizeUpdate: 'none',
              fields: [[':status', '500'], ['content-type', 'text/plain']],
            },
            body: '',
            dataSizes: [1],
            dataPadding: [],
            isEmptyDataEnd: true,
            trailers: null,
          },
          reset: null,
        },
      ],
      schedule: [88842607],
      extras: [],
      mutation: { kind: 'hpack-index-0', side: 'client', at: 252008377, byte: 0 },
      upgrade: null,
      pieces: [10],
      stopAfter: null,
      serverClosesFirst: false,
    },
  ],
];

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
