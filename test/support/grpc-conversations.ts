/**
 * Generated gRPC calls for the differential suites, as HTTP/2 conversation specs
 * (support/h2-conversations.ts builds the bytes): the four call kinds (unary, client streaming,
 * server streaming, bidi — the schedule interleaves both directions' DATA frames), messages with
 * and without the compressed flag, split across DATA frames anywhere (prefixes included), a
 * request cut short inside a message, grpc-status / grpc-message (percent-encoded, also badly)
 * in trailers, trailers-only answers, HTTP errors without a status, missing and malformed
 * statuses, and resets from either side, with a grpc-timeout that makes a client's CANCEL a
 * deadline or not whatever the machine's load (timeouts of at most 1 ms or at least 100 s).
 */
import fc from 'fast-check';
import type { BlockSpec, H2ConversationSpec, StreamSpec } from './h2-conversations.js';
type BlockOptions = Omit<BlockSpec, 'fields'>;
import { blockOptionsArb, conversationOf, dataLayoutArb, h2NameArb, h2ValueArb, resetArb } from './h2-conversations.js';

export interface GrpcMessageSpec {
  size: number;
  fill: number;
  isCompressed: boolean;
}

export const CALL_KINDS = ['unary', 'client-stream', 'server-stream', 'bidi'] as const;

/** The bytes of length-prefixed messages, the last `cut` bytes left out (an incomplete message). */
export function grpcBody(messages: GrpcMessageSpec[], cut = 0): Buffer {
  const parts: Buffer[] = [];
  for (const m of messages) {
    const prefix = Buffer.alloc(5);
    prefix[0] = m.isCompressed ? 1 : 0;
    prefix.writeUInt32BE(m.size, 1);
    const body = Buffer.alloc(m.size);
    for (let i = 0; i < m.size; i++) body[i] = (m.fill + i * 13) & 0xff;
    parts.push(prefix, body);
  }
  const all = Buffer.concat(parts);
  return all.subarray(0, Math.max(0, all.length - cut));
}

/** gRPC's percent-encoding of grpc-message (PROTOCOL-HTTP2.md): UTF-8, then %XX outside 0x20–0x7E and for '%'. */
export function percentEncode(text: string): string {
  let out = '';
  for (const b of Buffer.from(text, 'utf8')) out += b < 0x20 || b > 0x7e || b === 0x25 ? `%${b.toString(16).toUpperCase().padStart(2, '0')}` : String.fromCharCode(b);
  return out;
}

const messageArb: fc.Arbitrary<GrpcMessageSpec> = fc.record({
  size: fc.oneof({ weight: 1, arbitrary: fc.constant(0) }, { weight: 4, arbitrary: fc.integer({ min: 1, max: 400 }) }, { weight: 1, arbitrary: fc.integer({ min: 400, max: 20_000 }) }),
  fill: fc.nat(255),
  isCompressed: fc.boolean(),
});
const messagesArb = (min: number, max: number) => fc.array(messageArb, { minLength: min, maxLength: max });

/** grpc-status values: every code, past the table, and spellings that are not `1*DIGIT`. */
const statusValueArb = fc.oneof(
  { weight: 6, arbitrary: fc.integer({ min: 0, max: 16 }).map(String) },
  { weight: 1, arbitrary: fc.constantFrom('99', '0000', '4294967296') },
  { weight: 2, arbitrary: fc.constantFrom('abc', ' 13', '13 ', '-1', '0x2', '', '1.0') },
);
/** grpc-message values: percent-encoded text (also non-ASCII), raw text, and broken escapes. */
const messageValueArb = fc.oneof(
  { weight: 4, arbitrary: fc.oneof(fc.string({ maxLength: 20 }), fc.constantFrom('not found: caf\u00e9', '\u20ac 100% sure', 'line\nbreak', '\u{1F600}')).map(percentEncode) },
  { weight: 1, arbitrary: fc.constantFrom('%', '%4', '%zz', '%C3', '%FF%FE', 'a%2', '100%', 'plain text') },
);
const timeoutArb = fc.oneof(fc.constant(null), fc.constantFrom('1m', '1n', '2u', '100S', '5M', '1H', '123456789S', '1x', '-1S', ''));
const CONTENT_TYPES = ['application/grpc', 'application/grpc+proto', 'application/grpc+json', 'application/grpc-web'] as const;

const endingArb = fc.oneof(
  { weight: 6, arbitrary: fc.record({ kind: fc.constant('trailers' as const), status: statusValueArb, message: fc.option(messageValueArb, { nil: null }), isDuplicate: fc.boolean() }) },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant('trailers-only' as const), httpStatus: fc.constantFrom(200, 200, 200, 404, 503), status: statusValueArb, message: fc.option(messageValueArb, { nil: null }) }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('http-error' as const), httpStatus: fc.constantFrom(400, 401, 403, 404, 429, 500, 502, 503, 504, 200) }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('no-status' as const), hasTrailers: fc.boolean() }) },
);

const callArb = fc.record({
  kind: fc.constantFrom(...CALL_KINDS),
  path: fc.constantFrom('/pkg.Echo/Unary', '/helloworld.Greeter/SayHello', '/a.B/C', '/grpc.health.v1.Health/Watch'),
  contentType: fc.constantFrom(...CONTENT_TYPES),
  timeout: timeoutArb,
  metadata: fc.array(fc.oneof(fc.tuple(h2NameArb, h2ValueArb), fc.tuple(fc.constantFrom('x-trace-bin', 'grpc-trace-bin'), fc.constantFrom('AAEC', 'AAECAwQ=', ''))), { maxLength: 3 }),
  hasEncoding: fc.boolean(),
  requestMessages: messagesArb(1, 6),
  responseMessages: messagesArb(1, 6),
  requestCut: fc.oneof({ weight: 5, arbitrary: fc.constant(0) }, { weight: 1, arbitrary: fc.integer({ min: 1, max: 7 }) }),
  ending: endingArb,
  trailerMetadata: fc.array(fc.tuple(h2NameArb, h2ValueArb), { maxLength: 2 }),
  blocks: fc.array(blockOptionsArb, { minLength: 3, maxLength: 3 }),
  requestData: dataLayoutArb,
  responseData: dataLayoutArb,
  reset: resetArb,
});
type CallSpec = typeof callArb extends fc.Arbitrary<infer T> ? T : never;

/** One call as a stream spec. */
export function grpcStream(c: CallSpec): StreamSpec {
  const [headOpts, rspOpts, trlOpts] = c.blocks as [BlockOptions, BlockOptions, BlockOptions];
  const requestMessages = c.kind === 'unary' || c.kind === 'server-stream' ? c.requestMessages.slice(0, 1) : c.requestMessages;
  const responseMessages = c.kind === 'unary' || c.kind === 'client-stream' ? c.responseMessages.slice(0, 1) : c.responseMessages;
  const isCompressed = requestMessages.some((m) => m.isCompressed) || responseMessages.some((m) => m.isCompressed);
  const requestFields: Array<[string, string]> = [
    [':method', 'POST'], [':scheme', 'http'], [':path', c.path], [':authority', 'grpc.diff'],
    ['content-type', c.contentType], ['te', 'trailers'],
    ...(c.timeout === null ? [] : [['grpc-timeout', c.timeout] as [string, string]]),
    ...(c.hasEncoding || isCompressed ? [['grpc-encoding', 'gzip'] as [string, string]] : []),
    ...c.metadata,
  ];
  const e = c.ending;
  const statusFields = (status: string, message: string | null): Array<[string, string]> => [['grpc-status', status], ...(message === null ? [] : [['grpc-message', message] as [string, string]])];
  let head: Array<[string, string]>;
  let trailers: Array<[string, string]> | null = null;
  let body = grpcBody(responseMessages);
  if (e.kind === 'trailers') {
    head = [[':status', '200'], ['content-type', c.contentType]];
    trailers = [...(e.isDuplicate ? [['grpc-status', '0'] as [string, string]] : []), ...statusFields(e.status, e.message), ...c.trailerMetadata];
  } else if (e.kind === 'trailers-only') {
    head = [[':status', String(e.httpStatus)], ['content-type', c.contentType], ...statusFields(e.status, e.message)];
    body = Buffer.alloc(0);
  } else if (e.kind === 'http-error') {
    head = [[':status', String(e.httpStatus)], ['content-type', 'text/plain']];
    body = Buffer.alloc(0);
  } else {
    head = [[':status', '200'], ['content-type', c.contentType]];
    if (e.hasTrailers) trailers = c.trailerMetadata.length > 0 ? c.trailerMetadata : [['x-no-status', '1']];
  }
  return {
    request: { interim: [], head: { ...headOpts, fields: requestFields }, body: bytesSpec(grpcBody(requestMessages, c.requestCut)), ...c.requestData, trailers: null },
    response: { interim: [], head: { ...rspOpts, fields: head }, body: bytesSpec(body), ...c.responseData, trailers: trailers && { ...trlOpts, fields: trailers } },
    reset: c.reset,
  };
}

/** Bodies travel in specs as latin1 text (one char per byte: exact, and printable by fast-check). */
function bytesSpec(b: Buffer): string {
  return b.length === 0 ? '' : `latin1:${b.toString('latin1')}`;
}

/** Generated gRPC conversations: 1–3 calls on one connection. */
export const grpcConversationArb: fc.Arbitrary<H2ConversationSpec> = conversationOf(fc.array(callArb.map(grpcStream), { minLength: 1, maxLength: 3 }), { upgrades: false });
