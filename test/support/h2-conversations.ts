/**
 * Generated HTTP/2 conversations for the differential suites (fast-check arbitraries): a
 * conversation is data (`H2ConversationSpec`) turned by `toH2Conversation` into the raw bytes
 * each side writes, in order, cut at random TCP split points (support/differential-rig.ts plays
 * them).
 *
 * What a spec can hold: the server speaking first (its SETTINGS before the client's preface);
 * SETTINGS both ways (header table size, max frame size) and their ACKs; several streams whose
 * frames interleave in any order the schedule picks (the stream id is the order in which
 * request HEADERS go out); header blocks in any HPACK representation (support/hpack-encoder.ts:
 * indexed, literal with/without/never indexing, indexed names, Huffman) with dynamic table size
 * updates (shrink, grow to what the peer allowed, zero and back), split into CONTINUATION
 * frames (now and then hundreds, most of them empty), padded, with the PRIORITY flag; 1xx heads; bodies in DATA frames of random sizes,
 * padded or not, END_STREAM on the last DATA, an empty DATA or the trailers; request and
 * response trailers; RST_STREAM from either side at any point (a server answer crossing a
 * client's reset); PRIORITY, PING, WINDOW_UPDATE, PUSH_PROMISE, unknown frame types and GOAWAY
 * from either side; and one malformation (`MUTATIONS`: bad HPACK, bad frame lengths, header
 * block interrupted, oversized frames and header lists, garbage, a flipped byte, a cut-off
 * side) that should make both engines give up the same way.
 *
 * The spec's types: support/h2-conversation-spec.ts; the bytes: support/h2-conversation-bytes.ts;
 * gRPC conversations (support/grpc-conversations.ts) are specs of the same shape.
 */
import fc from 'fast-check';
import { EXTRA_KINDS, MUTATIONS, TABLE_SIZES, type BlockSpec, type BodySpec, type DirectionSpec, type H2ConversationSpec, type MutationSpec, type StreamSpec } from './h2-conversation-spec.js';
import { SETTINGS } from './h2-wire.js';
import type { FieldStyle } from './hpack-encoder.js';

export * from './h2-conversation-spec.js';
export { describeH2Conversation, toH2Conversation, type BuiltConversation } from './h2-conversation-bytes.js';

/** `arb` in `weight` cases out of `weight + nullWeight`, else null. */
function maybe<T>(arb: fc.Arbitrary<T>, weight: number, nullWeight: number): fc.Arbitrary<T | null> {
  return fc.oneof({ weight: nullWeight, arbitrary: fc.constant(null) }, { weight, arbitrary: arb });
}

const styleArb: fc.Arbitrary<FieldStyle> = fc.record({
  rep: fc.constantFrom('indexed', 'indexed', 'incremental', 'incremental', 'without', 'never'),
  isNameIndexed: fc.boolean(),
  isHuffman: fc.boolean(),
});

/** Header names: custom, well-known (static-table names), sensitive (redacted the same way on both engines). */
export const h2NameArb = fc.oneof(
  { weight: 3, arbitrary: fc.stringMatching(/^x-[a-z0-9-]{1,10}$/) },
  { weight: 2, arbitrary: fc.constantFrom('accept', 'accept-encoding', 'user-agent', 'content-type', 'cache-control', 'etag', 'via', 'x-request-id') },
  { weight: 1, arbitrary: fc.constantFrom('authorization', 'cookie', 'set-cookie', 'x-api-key', 'proxy-authorization') },
  // Names HTTP/2 forbids but a passive observer still reads (neither engine validates them).
  { weight: 1, arbitrary: fc.constantFrom('X-Upper', 'Authorization', 'bad name', '', ':custom', 'latin1:x-\xff', 'x_under', 'content-length') },
);
/** Values: a small pool (so the dynamic table gets hits), printable text, non-ASCII, empty. */
export const h2ValueArb = fc.oneof(
  { weight: 3, arbitrary: fc.constantFrom('1', 'gzip, deflate', 'application/json', 'text/plain', 'Bearer t0k', 'no-cache', 'abc') },
  { weight: 3, arbitrary: fc.stringMatching(/^[!-~]([ !-~]{0,30}[!-~])?$/) },
  { weight: 1, arbitrary: fc.constantFrom('', 'caf\u00e9', '\u20ac 5', 'sp ace', 'tab\there') },
  { weight: 1, arbitrary: fc.integer({ min: 100, max: 1200 }).map((n) => 'v'.repeat(n)) },
  // Octets that are not UTF-8 or not allowed (events show them by the field-text rule).
  { weight: 1, arbitrary: fc.constantFrom('latin1:\xff\xfe', 'latin1:a\x00b', 'latin1:cr\rlf\n', 'latin1:caf\xe9', ' lead', 'trail ', 'latin1:\x7f', 'back\\slash') },
);
const fieldsArb = (max: number) => fc.array(fc.tuple(h2NameArb, h2ValueArb), { maxLength: max });

export const blockOptionsArb = fc.record({
  styles: fc.array(styleArb, { minLength: 1, maxLength: 3 }),
  // Now and then a CONTINUATION flood: more fragments than the block has bytes (empty ones past its end).
  fragments: fc.oneof({ weight: 16, arbitrary: fc.constant(1) }, { weight: 4, arbitrary: fc.integer({ min: 2, max: 4 }) }, { weight: 1, arbitrary: fc.integer({ min: 40, max: 400 }) }),
  padding: fc.oneof({ weight: 4, arbitrary: fc.constant(null) }, { weight: 1, arbitrary: fc.integer({ min: 0, max: 255 }) }),
  hasPriority: fc.boolean(),
  sizeUpdate: fc.constantFrom('none', 'none', 'none', 'none', 'shrink', 'grow', 'zero-and-back'),
});
type BlockOptions = typeof blockOptionsArb extends fc.Arbitrary<infer T> ? T : never;

const block = (fields: Array<[string, string]>, o: BlockOptions): BlockSpec => ({ fields, ...o });

export const bodySpecArb: fc.Arbitrary<BodySpec> = fc.oneof(
  { weight: 3, arbitrary: fc.constant('') },
  { weight: 3, arbitrary: fc.record({ size: fc.integer({ min: 1, max: 600 }), fill: fc.nat(255) }) },
  { weight: 1, arbitrary: fc.record({ size: fc.integer({ min: 600, max: 40_000 }), fill: fc.nat(255) }) },
  { weight: 1, arbitrary: fc.constantFrom('{"user":"ann","password":"hunter2"}', 'a=1&token=t0k&b=2', 'caf\u00e9 \u20ac') },
);
export const dataLayoutArb = fc.record({
  dataSizes: fc.array(fc.oneof(fc.integer({ min: 1, max: 16 }), fc.integer({ min: 17, max: 5000 }), fc.integer({ min: 16_000, max: 40_000 })), { minLength: 1, maxLength: 4 }),
  dataPadding: fc.oneof({ weight: 3, arbitrary: fc.constant([] as Array<number | null>) }, { weight: 1, arbitrary: fc.array(fc.option(fc.integer({ min: 0, max: 255 }), { nil: null }), { minLength: 1, maxLength: 3 }) }),
  isEmptyDataEnd: fc.boolean(),
});

const requestArb = fc.record({
  method: fc.constantFrom('GET', 'POST', 'PUT', 'DELETE', 'PATCH', 'HEAD', 'OPTIONS'),
  scheme: fc.constantFrom('http', 'https'),
  authority: fc.option(fc.constantFrom('h2.diff', 'api.example:8443', 'LOCALHOST', '[::1]:80'), { nil: undefined }),
  path: fc.oneof(
    { weight: 4, arbitrary: fc.stringMatching(/^\/[a-z0-9/._~%-]{0,24}$/) },
    { weight: 2, arbitrary: fc.constantFrom('/', '/index.html', '/a%20b', '/caf%C3%A9?q=1', '/p%zz') },
    { weight: 1, arbitrary: fc.constantFrom('latin1:/\xff%41', '/a b', '*', '', 'http://abs.example/x', '/caf\u00e9') },
  ),
  /** Pseudo-header fields as sent: normal, or in shapes RFC 9113 §8.3 forbids (the observer scans them all). */
  pseudo: fc.constantFrom('normal', 'normal', 'normal', 'normal', 'duplicate-path', 'no-method', 'late-method', 'extra-pseudo'),
  fields: fieldsArb(5),
  head: blockOptionsArb,
  body: bodySpecArb,
  data: dataLayoutArb,
  trailers: maybe(fc.tuple(fieldsArb(2), blockOptionsArb), 1, 3),
});

const responseShapeArb = fc.record({
  interim: fc.array(fc.tuple(fc.constantFrom(100, 103), blockOptionsArb), { maxLength: 2 }),
  status: fc.constantFrom(200, 200, 201, 204, 301, 400, 404, 500, 503),
  fields: fieldsArb(5),
  head: blockOptionsArb,
  body: bodySpecArb,
  data: dataLayoutArb,
  trailers: maybe(fc.tuple(fieldsArb(2), blockOptionsArb), 1, 2),
});

const responseArb: fc.Arbitrary<DirectionSpec> = responseShapeArb.map((rs) => ({
  interim: rs.interim.map(([s, o]) => block([[':status', String(s)], ...(s === 103 ? [['link', '</s.css>; rel=preload'] as [string, string]] : [])], o)),
  head: block([[':status', String(rs.status)], ...rs.fields], rs.head),
  body: rs.status === 204 ? '' : rs.body,
  ...rs.data,
  trailers: rs.trailers && block(rs.trailers[0], rs.trailers[1]),
}));

export const resetArb = maybe(
  fc.record({
    by: fc.constantFrom('client' as const, 'server' as const),
    after: fc.integer({ min: 1, max: 8 }),
    code: fc.constantFrom(0, 1, 2, 7, 8, 11),
    isCrossing: fc.boolean(),
  }),
  1,
  4,
);

type RequestShape = typeof requestArb extends fc.Arbitrary<infer T> ? T : never;

/** A request head's fields in the generated pseudo-header shape. */
function requestFields(rq: RequestShape): Array<[string, string]> {
  const method: [string, string] = [':method', rq.method];
  const rest: Array<[string, string]> = [[':scheme', rq.scheme], ...(rq.authority === undefined ? [] : [[':authority', rq.authority] as [string, string]]), [':path', rq.path]];
  switch (rq.pseudo) {
    case 'duplicate-path':
      return [method, ...rest, [':path', '/second'], ...rq.fields];
    case 'no-method':
      return [...rest, ...rq.fields];
    case 'late-method':
      return [...rest, ...rq.fields, method];
    case 'extra-pseudo':
      return [method, ...rest, [':protocol', 'websocket'], ...rq.fields];
    default:
      return [method, ...rest, ...rq.fields];
  }
}

const streamArb: fc.Arbitrary<StreamSpec> = fc.record({ request: requestArb, response: responseArb, reset: resetArb }).map(({ request: rq, response: rs, reset }) => ({
  request: {
    interim: [],
    head: block(requestFields(rq), rq.head),
    body: rq.body,
    ...rq.data,
    trailers: rq.trailers && block(rq.trailers[0], rq.trailers[1]),
  },
  response: rs,
  reset,
}));

export const settingsArb = fc.array(
  fc.oneof(
    fc.tuple(fc.constant(SETTINGS.HEADER_TABLE_SIZE), fc.constantFrom(...TABLE_SIZES)),
    fc.tuple(fc.constant(SETTINGS.MAX_FRAME_SIZE), fc.constantFrom(16_384, 32_768, 1 << 20)),
    fc.tuple(fc.constantFrom(3, 4, 6), fc.nat(100_000)), // streams, window, header list size: not followed
  ),
  { maxLength: 3 },
);

export const extrasArb = fc.array(fc.record({ at: fc.nat(), side: fc.constantFrom('client' as const, 'server' as const), kind: fc.constantFrom(...EXTRA_KINDS), value: fc.nat(1000) }), { maxLength: 4 });
export const mutationArb: fc.Arbitrary<MutationSpec | null> = maybe(fc.record({ kind: fc.constantFrom(...MUTATIONS), side: fc.constantFrom('client' as const, 'server' as const), at: fc.nat(), byte: fc.nat(255) }), 1, 3);
export const piecesArb = fc.array(fc.oneof(fc.integer({ min: 1, max: 9 }), fc.integer({ min: 10, max: 3000 })), { minLength: 1, maxLength: 5 });

/** Envelope of a conversation around the given streams. */
const upgradeArb = fc.record({
  before: fc.constantFrom(0, 0, 1, 2),
  method: fc.constantFrom('GET' as const, 'POST' as const),
  path: fc.constantFrom('/', '/up', '/h2c?x=1'),
  body: fc.constantFrom('', 'hello', '{"password":"hunter2"}'),
  response: responseArb,
});

export function conversationOf(streamsArb: fc.Arbitrary<StreamSpec[]>, options: { mutations?: boolean; upgrades?: boolean } = {}): fc.Arbitrary<H2ConversationSpec> {
  return fc.record({
    isServerFirst: fc.boolean(),
    clientSettings: settingsArb,
    serverSettings: settingsArb,
    streams: streamsArb,
    schedule: fc.array(fc.nat(), { minLength: 1, maxLength: 12 }),
    extras: extrasArb,
    mutation: options.mutations === false ? fc.constant(null) : mutationArb,
    upgrade: options.upgrades === false ? fc.constant(null) : maybe(upgradeArb, 1, 6),
    pieces: piecesArb,
    stopAfter: maybe(fc.nat(), 1, 5),
    serverClosesFirst: fc.boolean(),
  });
}

/** Generated HTTP/2 conversations: 1–4 streams. */
export const h2ConversationArb: fc.Arbitrary<H2ConversationSpec> = conversationOf(fc.array(streamArb, { minLength: 1, maxLength: 4 }));
