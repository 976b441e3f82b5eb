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
 * A failing run prints fast-check's seed and path and the conversation frame by frame (knobs to
 * replay and run more: support/differential-suite.ts). Divergences found are kept below as named
 * examples, run every time before the random ones.
 */
import { expect } from 'vitest';
import { checkConversation } from './support/differential-check.js';
import { describeDifferential } from './support/differential-suite.js';
import { describeH2Conversation, h2ConversationArb, toH2Conversation, type H2ConversationSpec } from './support/h2-conversations.js';

const PLAIN_BLOCK = { styles: [{ rep: 'without', isNameIndexed: false, isHuffman: false }], fragments: 1, padding: null, hasPriority: false, sizeUpdate: 'none' } as const;
/** A conversation with only the given parts (everything else empty or off). */
const conversation = (parts: Partial<H2ConversationSpec>): H2ConversationSpec => ({
  isServerFirst: false, clientSettings: [], serverSettings: [], streams: [], schedule: [0], extras: [], mutation: null,
  upgrade: null, pieces: [100_000], stopAfter: null, serverClosesFirst: false, ...parts,
});

/** Divergences found by this suite, as minimal reproductions (named; each failed before its fix). */
const EXAMPLES: Array<[string, H2ConversationSpec]> = [
  [
    // NOTES 11:21 / 11:47: requestBytes 0 on main's js hand-over; then, with the C++ adoption,
    // recorder entries without dst and bodies.
    'h2c upgrade of a request with a body: its body count, its recorder entry\'s dst and bodies are the js engine\'s',
    conversation({
      upgrade: {
        before: 0, method: 'POST', path: '/up', body: 'hello',
        response: { interim: [], head: { ...PLAIN_BLOCK, styles: [...PLAIN_BLOCK.styles], fields: [[':status', '200']] }, body: 'ok', dataSizes: [100], dataPadding: [], trailers: null, isEmptyDataEnd: false },
      },
    }),
  ],
  [
    // NOTES 12:36: found on the C++ h2 wiring (h2-frames 5230d1d) before it landed.
    'h2c upgrade as the 3rd request of a keep-alive connection, then h2 stream 3: the native engine lost stream 3 (its id <conn>.3 is also the adopted exchange\'s)',
    conversation({
      // Stream 3 opens while the adopted exchange (HTTP/1 number 3) is still open.
      schedule: [0, 1, 0, 0],
      upgrade: { before: 2, method: 'GET', path: '/up', body: '', response: { interim: [], head: { ...PLAIN_BLOCK, styles: [...PLAIN_BLOCK.styles], fields: [[':status', '200']] }, body: 'ok', dataSizes: [100], dataPadding: [], trailers: null, isEmptyDataEnd: false } },
      streams: [
        {
          request: { interim: [], head: { ...PLAIN_BLOCK, styles: [...PLAIN_BLOCK.styles], fields: [[':method', 'GET'], [':scheme', 'http'], [':path', '/three']] }, body: '', dataSizes: [100], dataPadding: [], trailers: null, isEmptyDataEnd: false },
          response: { interim: [], head: { ...PLAIN_BLOCK, styles: [...PLAIN_BLOCK.styles], fields: [[':status', '204']] }, body: '', dataSizes: [100], dataPadding: [], trailers: null, isEmptyDataEnd: false },
          reset: null,
        },
      ],
    }),
  ],
];

describeDifferential({
  what: 'HTTP/2 conversations',
  tag: 'differential-h2',
  arbitrary: h2ConversationArb,
  examples: EXAMPLES,
  // ~60 s for the file on the loaded 2-core machine, like differential-http1.
  defaultRuns: 40,
  defaultTimeLimitMs: 30_000,
  async check(pair, spec, setup) {
    const built = toH2Conversation(spec);
    const [js] = await checkConversation(pair, built, () => describeH2Conversation(built), { isByExchange: true });
    if (spec.mutation === null) {
      // The generator writes valid HTTP/2: the oracle follows it to the end (else the engines
      // would agree on nothing more than an early give-up).
      const where = `\nconversation:\n${describeH2Conversation(built)}`;
      expect(Object.keys(js!.metrics).filter((k) => k.startsWith('meshtap_observer_errors_total')), `js gave up on a valid conversation${where}`).toEqual([]);
      if (setup.options.liveTap !== false) expect(js!.events.filter((e) => e.kind === 'end'), `js ended another number of exchanges${where}`).toHaveLength(built.exchanges);
    }
  },
});
