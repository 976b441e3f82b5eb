/**
 * Two engines, one truth, for HTTP/2 (issue 14): generated raw HTTP/2 conversations played
 * through a js and a native `meshtap proxy` (real processes, raw TCP client and scripted raw
 * server: support/differential-rig.ts) must give, on each engine, exactly the bytes sent at both
 * ends, and across engines identical tap events (live, with bodies), flight-recorder answers and
 * /metrics deltas (normalization: the rig's file comment).
 *
 * Conversations (support/h2-conversations.ts): random frame and TCP split points, the server
 * speaking first, CONTINUATION, padding, PRIORITY, HPACK in every representation with dynamic
 * table churn and size updates after SETTINGS_HEADER_TABLE_SIZE changes, interleaved streams,
 * request and response trailers, 1xx, RST_STREAM from either side, GOAWAY, PUSH_PROMISE, and one
 * malformation per conversation now and then (bad frames, bad HPACK: the give-ups).
 *
 * A failing run prints fast-check's seed and path and the conversation frame by frame; rerun it
 * with MESHTAP_DIFF_SEED=<seed> MESHTAP_DIFF_PATH=<path>; MESHTAP_DIFF_RUNS=<n> (and
 * MESHTAP_DIFF_TIME_LIMIT_MS) run more. Divergences found are kept below as named examples, run
 * every time before the random ones.
 */
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { checkConversation, diffKnobs } from './support/differential-check.js';
import { startEnginePair, type EnginePair, type EngineSideOptions } from './support/differential-rig.js';
import { ENGINES } from './support/engines.js';
import { describeH2Conversation, h2ConversationArb, toH2Conversation, type H2ConversationSpec } from './support/h2-conversations.js';

/**
 * Sized like differential-http1 (~60 s for the file on the loaded 2-core machine): fast-check
 * stops generating at the time limit, so a loaded machine runs fewer conversations, never a
 * longer file.
 */
const KNOBS = diffKnobs(40, 30_000);

/** Divergences found by this suite, as minimal reproductions (named; each failed before its fix). */
const EXAMPLES: Array<[string, H2ConversationSpec]> = [];

/** As in differential-http1: a live subscriber with bodies (256 B limit), and nobody watching. */
const SETUPS: Array<{ name: string; options: EngineSideOptions; share: number }> = [
  { name: 'tapped', options: { args: ['--body-limit', '256'] }, share: 0.6 },
  { name: 'untapped', options: { liveTap: false }, share: 0.4 },
];

describe.skipIf(ENGINES.length < 2).each(SETUPS)('differential: HTTP/2 conversations through the js and native engines ($name)', ({ options, share }) => {
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
    if (spec.mutation === null) {
      // The generator writes valid HTTP/2: the oracle follows it to the end (else the engines
      // would agree on nothing more than an early give-up).
      const where = `\nconversation:\n${describeH2Conversation(built)}`;
      expect(Object.keys(js!.metrics).filter((k) => k.startsWith('meshtap_observer_errors_total')), `js gave up on a valid conversation${where}`).toEqual([]);
      if (options.liveTap !== false) expect(js!.events.filter((e) => e.kind === 'end'), `js ended another number of exchanges${where}`).toHaveLength(built.exchanges);
    }
  }

  for (const [name, spec] of EXAMPLES) it(`regression: ${name}`, () => check(spec));

  const limitMs = Math.round(KNOBS.timeLimitMs * share);
  it(`up to ${KNOBS.numRuns} generated h2 conversations (${limitMs / 1000} s) give the same bytes, events, recorder and metrics on both engines`, async () => {
    let runs = 0;
    await fc.assert(
      fc.asyncProperty(h2ConversationArb, async (spec) => {
        runs++;
        await check(spec);
      }),
      { numRuns: KNOBS.numRuns, seed: KNOBS.seed, path: KNOBS.path, interruptAfterTimeLimit: limitMs },
    );
    process.stderr.write(`differential-h2: ${runs} conversations through ${ENGINES.join(' and ')}\n`);
  }, limitMs + 60_000);
});
