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
 * A failing run prints fast-check's seed and path and the conversation frame by frame; rerun it
 * with MESHTAP_DIFF_SEED=<seed> MESHTAP_DIFF_PATH=<path>; MESHTAP_DIFF_RUNS=<n> (and
 * MESHTAP_DIFF_TIME_LIMIT_MS) run more. Divergences found are kept below as named examples.
 */
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { checkConversation, diffKnobs } from './support/differential-check.js';
import { startEnginePair, type EnginePair, type EngineSideOptions } from './support/differential-rig.js';
import { ENGINES } from './support/engines.js';
import { grpcConversationArb } from './support/grpc-conversations.js';
import { describeH2Conversation, toH2Conversation, type H2ConversationSpec } from './support/h2-conversations.js';

/** ~45 s for the file on the loaded machine (fast-check stops generating at the limit). */
const KNOBS = diffKnobs(30, 25_000);

/** Divergences found by this suite, as minimal reproductions (named; each failed before its fix). */
const EXAMPLES: Array<[string, H2ConversationSpec]> = [];

const SETUPS: Array<{ name: string; options: EngineSideOptions; share: number }> = [
  { name: 'tapped', options: { args: ['--body-limit', '256'] }, share: 0.6 },
  { name: 'untapped', options: { liveTap: false }, share: 0.4 },
];

describe.skipIf(ENGINES.length < 2).each(SETUPS)('differential: gRPC calls through the js and native engines ($name)', ({ options, share }) => {
  let pair: EnginePair;
  beforeAll(async () => {
    pair = await startEnginePair(ENGINES, options);
  }, 60_000);
  afterAll(async () => {
    await pair?.close();
  });

  async function check(spec: H2ConversationSpec): Promise<void> {
    const built = toH2Conversation(spec);
    const [js] = await checkConversation(pair, built, () => describeH2Conversation(built), { isByExchange: true });
    if (spec.mutation === null && options.liveTap !== false) {
      // The generator writes valid gRPC over HTTP/2: the oracle sees every call, as gRPC.
      const where = `\nconversation:\n${describeH2Conversation(built)}`;
      const ends = js!.events.filter((e) => e.kind === 'end');
      expect(ends.map((e) => e.protocol), `js saw other calls${where}`).toEqual(Array.from({ length: built.exchanges }, () => 'grpc'));
    }
  }

  for (const [name, spec] of EXAMPLES) it(`regression: ${name}`, () => check(spec));

  const limitMs = Math.round(KNOBS.timeLimitMs * share);
  it(`up to ${KNOBS.numRuns} generated gRPC conversations (${limitMs / 1000} s) give the same bytes, events, recorder and metrics on both engines`, async () => {
    let runs = 0;
    await fc.assert(
      fc.asyncProperty(grpcConversationArb, async (spec) => {
        runs++;
        await check(spec);
      }),
      { numRuns: KNOBS.numRuns, seed: KNOBS.seed, path: KNOBS.path, interruptAfterTimeLimit: limitMs },
    );
    process.stderr.write(`differential-grpc: ${runs} conversations through ${ENGINES.join(' and ')}\n`);
  }, limitMs + 60_000);
});
