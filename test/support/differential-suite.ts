/**
 * The shape every generated differential suite shares (HTTP/1, HTTP/2, gRPC): for each set-up
 * (a live tapped subscriber with bodies, nobody watching, and a subscriber under the capture
 * flags), one engine pair
 * (support/differential-rig.ts), the named regression examples first, then up to `numRuns`
 * generated specs within the time limit (fast-check stops generating there: a loaded machine
 * runs fewer cases, never a longer file). A failing run prints fast-check's seed and path;
 * MESHTAP_DIFF_SEED / MESHTAP_DIFF_PATH replay it, MESHTAP_DIFF_RUNS and
 * MESHTAP_DIFF_TIME_LIMIT_MS run more, MESHTAP_DIFF_SETUP=NAME runs one set-up alone, and
 * MESHTAP_DIFF_TAP (JSON) changes the live subscriber's request (support/differential-rig.ts).
 */
import fc from 'fast-check';
import { afterAll, beforeAll, describe, it } from 'vitest';
import { startEnginePair, type EnginePair, type EngineSideOptions } from './differential-rig.js';
import { ENGINES } from './engines.js';

/** One set-up of the sidecars, and its share of the time limit. */
export interface DifferentialSetup {
  name: string;
  options: EngineSideOptions;
  share: number;
}

/**
 * "tapped": a live subscriber with bodies, bodies in the recorder, a 256 B body limit so
 * truncation is compared; "untapped": nobody asks for events or bodies (the native engine keeps
 * exchanges in C++; recorder answers and metrics compared).
 */
export const DIFFERENTIAL_SETUPS: DifferentialSetup[] = [
  { name: 'tapped', options: { args: ['--body-limit', '256'] }, share: 0.45 },
  { name: 'untapped', options: { liveTap: false }, share: 0.3 },
];

/**
 * "captured" (the generated suites' third set-up): a live subscriber with bodies under the capture
 * flags: bodies only of some types (--capture-content-type), a body over the limit dropped, not
 * cut (--body-over-limit drop), more headers and body fields redacted. Session 16 (diff16): with
 * them the native flight recorder said a response that never came had its body omitted for its
 * type, which neither the js engine nor native's own live events said.
 */
export const CAPTURED_SETUP: DifferentialSetup = {
  name: 'captured',
  options: {
    args: ['--body-limit', '100', '--capture-content-type', 'application/json,text/*', '--body-over-limit', 'drop', '--redact-header', 'x-request-id', '--redact-header', 'etag', '--redact-body-field', 'user', '--redact-body-field', '$.items[0].token'],
  },
  share: 0.25,
};

/** The generated suites' set-ups; MESHTAP_DIFF_SETUP=NAME runs that one alone, with the whole time limit. */
function generatedSetups(): DifferentialSetup[] {
  const all = [...DIFFERENTIAL_SETUPS, CAPTURED_SETUP];
  const only = process.env.MESHTAP_DIFF_SETUP;
  if (only === undefined) return all;
  const chosen = all.filter((s) => s.name === only).map((s) => ({ ...s, share: 1 }));
  if (chosen.length === 0) throw new Error(`MESHTAP_DIFF_SETUP is '${only}': one of ${all.map((s) => s.name).join(', ')}`);
  return chosen;
}

export interface DifferentialSuite<Spec> {
  /** What is played, for test names and the run count line ("HTTP/1 conversations"). */
  what: string;
  /** The name on the stderr line with the number of cases run. */
  tag: string;
  arbitrary: fc.Arbitrary<Spec>;
  /** Named minimal reproductions of divergences found (each failed before its fix). */
  examples: Array<[string, Spec]>;
  defaultRuns: number;
  defaultTimeLimitMs: number;
  /** Plays one spec through `pair` and asserts. */
  check(pair: EnginePair, spec: Spec, setup: DifferentialSetup): Promise<void>;
}

/** Registers the suite (skipped with a reason when the native engine is not built). */
export function describeDifferential<Spec>(suite: DifferentialSuite<Spec>): void {
  const numRuns = Number(process.env.MESHTAP_DIFF_RUNS ?? suite.defaultRuns);
  const timeLimitMs = Number(process.env.MESHTAP_DIFF_TIME_LIMIT_MS ?? suite.defaultTimeLimitMs);
  const seed = process.env.MESHTAP_DIFF_SEED === undefined ? undefined : Number(process.env.MESHTAP_DIFF_SEED);
  const path = process.env.MESHTAP_DIFF_PATH;

  describe.skipIf(ENGINES.length < 2).each(generatedSetups())(`differential: ${suite.what} through the js and native engines ($name)`, (setup) => {
    let pair: EnginePair;
    beforeAll(async () => {
      pair = await startEnginePair(ENGINES, setup.options);
    }, 60_000);
    afterAll(async () => {
      await pair?.close();
    });

    for (const [name, spec] of suite.examples) it(`regression: ${name}`, () => suite.check(pair, spec, setup));

    const limitMs = Math.round(timeLimitMs * setup.share);
    it(`up to ${numRuns} generated ${suite.what} (${limitMs / 1000} s) give the same bytes, events, recorder and metrics on both engines`, async () => {
      let runs = 0;
      await fc.assert(
        fc.asyncProperty(suite.arbitrary, async (spec) => {
          runs++;
          await suite.check(pair, spec, setup);
        }),
        { numRuns, seed, path, interruptAfterTimeLimit: limitMs },
      );
      process.stderr.write(`${suite.tag}: ${runs} ${suite.what} through ${ENGINES.join(' and ')}\n`);
    }, limitMs + 60_000);
  });
}
