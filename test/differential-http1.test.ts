/**
 * Two engines, one truth (issue 13): generated HTTP/1 conversations played through a js and a
 * native `meshtap proxy` (real processes, raw TCP client and server, support/differential-rig.ts)
 * must give, on each engine, exactly the bytes sent at both ends, and across engines identical
 * tap events (live, with bodies), identical flight-recorder answers and identical /metrics
 * deltas (what is normalized: the rig's file comment).
 *
 * Conversations (support/http1-conversations.ts): random split points on both sides,
 * pipelining, Content-Length and chunked bodies, trailers, 1xx (and 100-continue), HEAD/204/304,
 * close-delimited responses, Upgrade and CONNECT, and malformed framing.
 *
 * A failing run prints fast-check's seed and path (knobs to replay and run more:
 * support/differential-suite.ts). Divergences found and fixed are kept below as named examples,
 * run every time before the random ones.
 */
import { checkConversation } from './support/differential-check.js';
import { describeDifferential } from './support/differential-suite.js';
import { conversationArb, describeConversation, toConversation, type ConversationSpec } from './support/http1-conversations.js';

/** Divergences found by this suite, as minimal reproductions (named; each failed before its fix). */
const EXAMPLES: Array<[string, ConversationSpec]> = [];

describeDifferential({
  what: 'HTTP/1 conversations',
  tag: 'differential-http1',
  arbitrary: conversationArb,
  examples: EXAMPLES,
  // Sized so the file stays within ~60 s on the shared 2-core machine: one run (both engines at
  // once) took 0.15 s at load 3 and up to 2.7 s at load 18.
  defaultRuns: 50,
  defaultTimeLimitMs: 30_000,
  async check(pair, spec) {
    const conversation = toConversation(spec);
    await checkConversation(pair, conversation, () => describeConversation(conversation));
  },
});
