/**
 * Generated HTTP/1 conversations for the differential suites (fast-check arbitraries): requests
 * and responses with Content-Length or chunked bodies (random chunk sizes, extensions,
 * trailers), 1xx before the final response (and `Expect: 100-continue` sent between head and
 * body), HEAD/204/304, a close-delimited last response, pipelining, Upgrade and CONNECT ending
 * in opaque bytes, an Upgrade or CONNECT declined with more requests pipelined behind it, and
 * malformed framing applied to one message (CL+TE, differing CLs,
 * obs-fold, bare LF, bad chunk sizes, an oversized head, a flipped byte, a cut-off message).
 *
 * A conversation is built as data (`ConversationSpec`, what fast-check shrinks) and turned into
 * the steps the rig plays (`toConversation`): whole messages in their on-the-wire order,
 * same-side neighbours merged (so a piece may span two pipelined messages), then cut into
 * pieces whose sizes cycle through the generated list (at most MAX_PIECES per segment, so an
 * oversized head does not become 70,000 one-byte writes).
 */
import fc from 'fast-check';
import type { Conversation, Step } from './differential-rig.js';

const CRLF = '\r\n';
const MAX_PIECES = 12;

const FRAMING_NAMES = new Set(['content-length', 'transfer-encoding', 'upgrade', 'connection', 'host', 'expect']);
const tokenArb = fc.stringMatching(/^[A-Za-z0-9!#$%&'*+.^_`|~-]{1,12}$/);
const nameArb = fc.oneof(
  { weight: 4, arbitrary: tokenArb.filter((n) => !FRAMING_NAMES.has(n.toLowerCase())) },
  // Sensitive names: both engines must redact them the same way.
  { weight: 1, arbitrary: fc.constantFrom('Authorization', 'cookie', 'Set-Cookie', 'X-Api-Key', 'Content-Type') },
);
const valueArb = fc.oneof(
  fc.constant(''),
  fc.stringMatching(/^[!-~]([ \t!-~]{0,24}[!-~])?$/),
  fc.constantFrom('caf\u00e9', '\u20ac 5', 'application/json', 'text/plain; charset=utf-8', 'Bearer abc.def'),
);
const owsArb = fc.constantFrom('', ' ', '\t', ' \t ');
const fieldsArb = fc.array(fc.tuple(nameArb, valueArb, owsArb), { maxLength: 5 });
const bodyArb = fc.oneof(
  { weight: 3, arbitrary: fc.uint8Array({ maxLength: 300 }).map((a) => Buffer.from(a)) },
  // Past the suites' body limit (256 B), so truncation is compared too.
  { weight: 1, arbitrary: fc.uint8Array({ minLength: 200, maxLength: 3000, size: 'max' }).map((a) => Buffer.from(a)) },
  // Long enough for the native engine to splice (its threshold is a few KiB).
  { weight: 1, arbitrary: fc.integer({ min: 4096, max: 100_000 }).map((n) => Buffer.alloc(n, n & 0xff)) },
  // JSON with fields the body redaction must catch on both engines.
  {
    weight: 1,
    arbitrary: fc.constantFrom(
      '{"user":"ann","password":"hunter2"}',
      '{"card":"4111 1111 1111 1111","n":1}',
      '{"items":[{"token":"t0k"}],"ok":true}',
      'a=1&secret=s3&b=2',
    ).map((s) => Buffer.from(s)),
  },
);
const chunkingArb = fc.record({
  sizes: fc.array(fc.integer({ min: 1, max: 80 }), { minLength: 1, maxLength: 4 }),
  ext: fc.constantFrom('', ';a=b', ';x', ' ; q="v w"'),
  upperHex: fc.boolean(),
  trailers: fc.array(fc.tuple(tokenArb.filter((n) => !FRAMING_NAMES.has(n.toLowerCase())), valueArb), { maxLength: 2 }),
});

const requestArb = fc.record({
  method: fc.constantFrom('GET', 'POST', 'PUT', 'DELETE', 'PATCH', 'OPTIONS', 'HEAD'),
  path: fc.stringMatching(/^\/[A-Za-z0-9._~%!$&'()*+,;=:@/?-]{0,24}$/),
  host: fc.option(fc.stringMatching(/^[a-z0-9.-]{1,16}(:[0-9]{1,5})?$/), { nil: undefined }),
  minor: fc.constantFrom(1, 1, 1, 0),
  fields: fieldsArb,
  body: bodyArb,
  framing: fc.constantFrom('length', 'chunked', 'none'),
  chunking: chunkingArb,
  expectContinue: fc.boolean(),
  /**
   * An Upgrade or a CONNECT the server declines (any status but 101; a CONNECT answer that is not
   * 2xx): the connection stays HTTP/1, and what is pipelined behind it is HTTP/1 (session 16). The
   * conversation's `ending` is where one is accepted. Absent in hand-written examples: `none`.
   */
  asks: fc.constantFrom('none', 'none', 'none', 'none', 'none', 'none', 'upgrade', 'connect'),
});

const responseArb = fc.record({
  status: fc.constantFrom(200, 200, 201, 204, 206, 304, 400, 404, 500, 503),
  interim: fc.array(fc.constantFrom(100, 102, 103), { maxLength: 2 }),
  fields: fieldsArb,
  body: bodyArb,
  framing: fc.constantFrom('length', 'chunked', 'close'),
  chunking: chunkingArb,
});

const MUTATIONS = ['cl-te', 'two-cl', 'obs-fold', 'bare-lf', 'bad-chunk-size', 'huge-head', 'flip-byte', 'cut-off'] as const;
export type MutationKind = (typeof MUTATIONS)[number];

const mutationArb = fc.record({
  kind: fc.constantFrom(...MUTATIONS),
  side: fc.constantFrom('request' as const, 'response' as const),
  /** Which message (modulo the count). */
  index: fc.nat(),
  /** Where in the message (flip-byte, cut-off, bare-lf), modulo its length. */
  at: fc.nat(),
  byte: fc.integer({ min: 0, max: 255 }),
  badSize: fc.constantFrom('zz', '-5', ' 5', '0x5', 'FFFFFFFFFFFFFFFFFF', '5\n'),
});

export type RequestSpec = Omit<typeof requestArb extends fc.Arbitrary<infer T> ? T : never, 'asks'> & { asks?: 'none' | 'upgrade' | 'connect' };
export type ResponseSpec = typeof responseArb extends fc.Arbitrary<infer T> ? T : never;
export type Mutation = typeof mutationArb extends fc.Arbitrary<infer T> ? T : never;

export interface ConversationSpec {
  exchanges: Array<{ request: RequestSpec; response: ResponseSpec }>;
  /** Per exchange: the next request goes out before this response (pipelining). */
  pipelined: boolean[];
  /** How the connection ends after the last exchange. */
  ending: { kind: 'plain' | 'upgrade' | 'connect'; clientTail: Buffer; serverTail: Buffer; serverClosesFirst: boolean };
  mutations: Mutation[];
  /** Piece sizes, cycled across the conversation. */
  pieces: number[];
}

export const conversationArb: fc.Arbitrary<ConversationSpec> = fc.record({
  exchanges: fc.array(fc.record({ request: requestArb, response: responseArb }), { minLength: 1, maxLength: 4 }),
  pipelined: fc.array(fc.boolean(), { minLength: 4, maxLength: 4 }),
  ending: fc.record({
    kind: fc.constantFrom('plain', 'plain', 'plain', 'upgrade', 'connect'),
    clientTail: fc.uint8Array({ maxLength: 64 }).map((a) => Buffer.from(a)),
    serverTail: fc.uint8Array({ maxLength: 64 }).map((a) => Buffer.from(a)),
    serverClosesFirst: fc.boolean(),
  }),
  mutations: fc.oneof({ weight: 2, arbitrary: fc.constant<Mutation[]>([]) }, { weight: 1, arbitrary: fc.array(mutationArb, { minLength: 1, maxLength: 2 }) }),
  pieces: fc.array(fc.oneof(fc.integer({ min: 1, max: 8 }), fc.integer({ min: 9, max: 400 })), { minLength: 1, maxLength: 5 }),
});

interface Message {
  side: 'client' | 'server';
  head: string[];
  body: Buffer;
}

function fieldLines(fields: Array<[string, string, string]>): string[] {
  return fields.map(([n, v, ows]) => `${n}:${ows}${v}`);
}

/** A body in its framing: the header line announcing it and the bytes on the wire. */
function frame(body: Buffer, framing: 'length' | 'chunked' | 'none' | 'close', c: RequestSpec['chunking']): { header?: string; bytes: Buffer } {
  if (framing === 'none') return { bytes: Buffer.alloc(0) };
  if (framing === 'close') return { bytes: body };
  if (framing === 'length') return { header: `Content-Length: ${body.length}`, bytes: body };
  const parts: Buffer[] = [];
  let at = 0;
  for (let i = 0; at < body.length; i++) {
    const n = Math.min(c.sizes[i % c.sizes.length], body.length - at);
    const hex = n.toString(16);
    parts.push(Buffer.from(`${c.upperHex ? hex.toUpperCase() : hex}${c.ext}${CRLF}`), body.subarray(at, at + n), Buffer.from(CRLF));
    at += n;
  }
  parts.push(Buffer.from(`0${c.ext}${CRLF}${c.trailers.map(([n, v]) => `${n}: ${v}${CRLF}`).join('')}${CRLF}`));
  return { header: 'Transfer-Encoding: chunked', bytes: Buffer.concat(parts) };
}

function serialize(m: Message): Buffer {
  return Buffer.concat([Buffer.from(m.head.join(CRLF) + CRLF + CRLF, 'latin1'), m.body]);
}

function applyMutation(m: Message, mut: Mutation, bodyLength: number): Buffer {
  switch (mut.kind) {
    case 'cl-te':
      return serialize({ ...m, head: [...m.head.filter((l) => !/^(content-length|transfer-encoding):/i.test(l)), `Content-Length: ${bodyLength}`, 'Transfer-Encoding: chunked'] });
    case 'two-cl':
      return serialize({ ...m, head: [...m.head, `Content-Length: ${bodyLength + 1}`] });
    case 'obs-fold': {
      const head = [...m.head];
      head.splice(1 + (mut.at % head.length), 0, ' folded');
      return serialize({ ...m, head });
    }
    case 'huge-head':
      return serialize({ ...m, head: [...m.head, `X-Huge: ${'h'.repeat(70_000)}`] });
    case 'bad-chunk-size': {
      // Makes the message chunked if it is not, then spoils the first chunk-size line.
      const head = m.head.filter((l) => !/^(content-length|transfer-encoding):/i.test(l));
      const body = `${mut.badSize}${CRLF}hello${CRLF}0${CRLF}${CRLF}`;
      return serialize({ ...m, head: [...head, 'Transfer-Encoding: chunked'], body: Buffer.from(body, 'latin1') });
    }
    case 'bare-lf': {
      const bytes = serialize(m);
      const crlfs: number[] = [];
      for (let i = bytes.indexOf(CRLF); i >= 0; i = bytes.indexOf(CRLF, i + 1)) crlfs.push(i);
      const at = crlfs[mut.at % crlfs.length];
      return Buffer.concat([bytes.subarray(0, at), bytes.subarray(at + 1)]);
    }
    case 'flip-byte': {
      const bytes = Buffer.from(serialize(m));
      bytes[mut.at % bytes.length] = mut.byte;
      return bytes;
    }
    case 'cut-off': {
      const bytes = serialize(m);
      return bytes.subarray(0, mut.at % bytes.length);
    }
  }
}

/** The steps (before cutting into pieces) of a conversation. */
function segments(spec: ConversationSpec): Step[] {
  const n = spec.exchanges.length;
  const reqs: Array<{ msg: Message; bodyLength: number; continueSplit: boolean }> = [];
  const rsps: Array<{ interim: Buffer[]; msg: Message; bodyLength: number }> = [];
  spec.exchanges.forEach(({ request: rq, response: rs }, i) => {
    const isLast = i === n - 1;
    const upgrade = isLast && spec.ending.kind === 'upgrade';
    const connect = isLast && spec.ending.kind === 'connect';
    // Declined: asked on an exchange the ending does not take over (its answer says no).
    const declinedUpgrade = !upgrade && !connect && rq.asks === 'upgrade';
    const refusedConnect = !upgrade && !connect && rq.asks === 'connect';
    const method = connect || refusedConnect ? 'CONNECT' : rq.method;
    const target = connect || refusedConnect ? `${rq.host ?? 'example.com'}:443`.replace(/:(\d+):443$/, ':$1') : rq.path;
    // HTTP/1.0 has no chunked coding (RFC 9112 §6.1); a body needs framing on a request.
    const framing = connect || upgrade || refusedConnect ? 'none' : rq.framing === 'chunked' && rq.minor === 0 ? 'length' : rq.framing;
    const f = frame(rq.body, framing, rq.chunking);
    const expect = rq.expectContinue && f.bytes.length > 0 && rq.minor === 1;
    const head = [`${method} ${target} HTTP/1.${upgrade ? 1 : rq.minor}`];
    if (rq.host !== undefined) head.push(`Host: ${rq.host}`);
    head.push(...fieldLines(rq.fields));
    if (f.header) head.push(f.header);
    if (expect) head.push('Expect: 100-continue');
    if (upgrade || declinedUpgrade) head.push('Connection: Upgrade', 'Upgrade: websocket');
    reqs.push({ msg: { side: 'client', head, body: f.bytes }, bodyLength: f.bytes.length, continueSplit: expect });

    // A refused CONNECT: any status but 2xx (a 2xx opens the tunnel).
    const status = upgrade ? 101 : connect ? 200 : refusedConnect && rs.status < 300 ? 407 : rs.status;
    const noBody = method === 'HEAD' || status === 204 || status === 304;
    const rframing = upgrade || connect ? 'none' : rs.framing === 'close' && !isLast ? 'length' : rs.framing;
    const rf = frame(rs.body, rframing, rs.chunking);
    const rhead = [`HTTP/1.1 ${status} Reason`, ...fieldLines(rs.fields)];
    if (upgrade) rhead.push('Connection: Upgrade', 'Upgrade: websocket');
    // HEAD/204/304 may announce a length they do not send.
    if (rf.header) rhead.push(noBody && rf.header.startsWith('Transfer') ? `Content-Length: ${rs.body.length}` : rf.header);
    const interim = [...(expect ? [100] : []), ...rs.interim].map((s) => Buffer.from(`HTTP/1.1 ${s} Interim${CRLF}${s === 103 ? `Link: </s.css>${CRLF}` : ''}${CRLF}`));
    rsps.push({ interim, msg: { side: 'server', head: rhead, body: noBody ? Buffer.alloc(0) : rf.bytes }, bodyLength: rf.bytes.length });
  });

  // Malformed framing: each mutation replaces one message's bytes.
  const reqBytes = reqs.map((r) => serialize(r.msg));
  const rspBytes = rsps.map((r) => serialize(r.msg));
  const mutated = { request: new Set<number>(), response: new Set<number>() };
  for (const mut of spec.mutations) {
    const i = mut.index % n;
    if (mut.side === 'request') {
      reqBytes[i] = applyMutation(reqs[i].msg, mut, reqs[i].bodyLength);
      mutated.request.add(i);
    } else {
      rspBytes[i] = applyMutation(rsps[i].msg, mut, rsps[i].bodyLength);
      mutated.response.add(i);
    }
  }

  const steps: Step[] = [];
  const push = (from: Step['from'], bytes: Buffer) => {
    if (bytes.length === 0) return;
    const last = steps[steps.length - 1];
    if (last?.from === from) last.bytes = Buffer.concat([last.bytes, bytes]);
    else steps.push({ from, bytes });
  };
  let nextResponse = 0;
  const respond = (i: number) => {
    for (const b of rsps[i].interim.slice(reqs[i].continueSplit && !mutated.request.has(i) ? 1 : 0)) push('server', b);
    push('server', rspBytes[i]);
  };
  for (let i = 0; i < n; i++) {
    const r = reqs[i];
    if (r.continueSplit && !mutated.request.has(i) && nextResponse === i) {
      // Expect: 100-continue: head, the server's 100, then the body.
      const bytes = reqBytes[i];
      const headEnd = bytes.indexOf(CRLF + CRLF) + 4;
      push('client', bytes.subarray(0, headEnd));
      push('server', rsps[i].interim[0]);
      push('client', bytes.subarray(headEnd));
    } else {
      push('client', reqBytes[i]);
    }
    if (!spec.pipelined[i] || i === n - 1) while (nextResponse <= i) respond(nextResponse++);
  }
  if (spec.ending.kind !== 'plain') {
    push('client', spec.ending.clientTail);
    push('server', spec.ending.serverTail);
  }
  return steps;
}

/** Cuts each segment into pieces whose sizes cycle through `sizes` (the last piece takes the rest). */
function cut(steps: Step[], sizes: number[]): Step[] {
  const out: Step[] = [];
  let k = 0;
  for (const s of steps) {
    let at = 0;
    for (let p = 0; at < s.bytes.length; p++) {
      const n = p === MAX_PIECES - 1 ? s.bytes.length - at : sizes[k++ % sizes.length];
      out.push({ from: s.from, bytes: s.bytes.subarray(at, at + n) });
      at += n;
    }
  }
  return out;
}

/** What the rig plays for `spec`. */
export function toConversation(spec: ConversationSpec): Conversation {
  const last = spec.exchanges[spec.exchanges.length - 1];
  const closeDelimited = spec.ending.kind === 'plain' && last.response.framing === 'close';
  return {
    steps: cut(segments(spec), spec.pieces),
    closeFirst: closeDelimited || spec.ending.serverClosesFirst ? 'server' : 'client',
  };
}

/** A readable dump of a conversation (printed with a failing run). */
export function describeConversation(c: Conversation): string {
  return [
    ...c.steps.map((s) => `${s.from === 'client' ? '>' : '<'} ${JSON.stringify(s.bytes.toString('latin1').slice(0, 300))}${s.bytes.length > 300 ? ` …(${s.bytes.length} bytes)` : ''}`),
    `${c.closeFirst} closes first`,
  ].join('\n');
}
