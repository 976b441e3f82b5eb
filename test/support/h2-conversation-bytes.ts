/**
 * Turns a generated HTTP/2 conversation spec (support/h2-conversation-spec.ts) into the raw
 * bytes each side writes, in the order the spec's schedule picks, cut at its TCP split points:
 * the preface and SETTINGS (the server's first when it speaks first) with their ACKs, then the
 * streams' frames interleaved (a stream's id is the order its request HEADERS go out), header
 * blocks through each side's own HPACK encoder (so dynamic table state is real), the extras and
 * the malformation where the spec puts them. A log of every frame describes a failing run.
 */
import { H2_PREFACE } from '../../tap-protocol/index.js';
import type { Conversation, Step } from './differential-rig.js';
import type { BlockSpec, BodySpec, DirectionSpec, ExtraSpec, H2ConversationSpec, MutationKind, MutationSpec } from './h2-conversation-spec.js';
import { TABLE_SIZES } from './h2-conversation-spec.js';
import { writeMutation } from './h2-mutations.js';
import { DEFAULT_MAX_FRAME, FLAG, FRAME, FRAME_BUDGET, FRAME_NAMES, MAX_FRAME_LIMIT, SETTINGS, frame, settingsPayload, u32 } from './h2-wire.js';
import { HpackEncoder } from './hpack-encoder.js';

/** At most this many DATA frames per body (a 100 KB body in 3-byte frames would be 33,000 writes). */
const MAX_DATA_FRAMES = 12;
/** At most this many writes per conversation (each is awaited at the far end on both engines). */
const MAX_STEPS = 90;
const MAX_PIECES_PER_SEGMENT = 8;

const LATIN1 = 'latin1:';

/** The bytes of a body spec (deterministic). */
export function bodyBytes(body: BodySpec): Buffer {
  if (typeof body === 'string') return body.startsWith(LATIN1) ? Buffer.from(body.slice(LATIN1.length), 'latin1') : Buffer.from(body, 'utf8');
  const b = Buffer.alloc(body.size);
  for (let i = 0; i < b.length; i++) b[i] = (body.fill + i * 7 + (i >> 8)) & 0xff;
  return b;
}

/** One side's connection state while the bytes are built. */
interface SideState {
  name: 'client' | 'server';
  encoder: HpackEncoder;
  /** Largest SETTINGS_HEADER_TABLE_SIZE the peer advertised (what a size update may ask). */
  allowedTable: number;
  /** Largest SETTINGS_MAX_FRAME_SIZE the peer advertised (what this side's DATA frames may carry). */
  maxFrame: number;
}

/** A frame the schedule emits for one stream. */
type Action =
  | { side: 'client' | 'server'; kind: 'head'; block: BlockSpec; isEnd: boolean; isInterim?: boolean }
  | { side: 'client' | 'server'; kind: 'data'; bytes: Buffer; padding: number | null; isEnd: boolean }
  | { side: 'client' | 'server'; kind: 'trailers'; block: BlockSpec };

function directionActions(side: 'client' | 'server', d: DirectionSpec): Action[] {
  const out: Action[] = [];
  if (side === 'server') for (const b of d.interim) out.push({ side, kind: 'head', block: b, isEnd: false, isInterim: true });
  const body = bodyBytes(d.body);
  const hasTrailers = d.trailers !== null;
  const endOnHead = body.length === 0 && !hasTrailers && !d.isEmptyDataEnd;
  out.push({ side, kind: 'head', block: d.head, isEnd: endOnHead });
  if (body.length > 0 || (!hasTrailers && d.isEmptyDataEnd)) {
    const minSize = Math.ceil(body.length / MAX_DATA_FRAMES);
    let at = 0;
    let i = 0;
    do {
      // Frames past what the peer allowed are split when they go out (see emitAction).
      const size = Math.min(Math.max(d.dataSizes[i % d.dataSizes.length]!, minSize, 1), body.length - at);
      const bytes = body.subarray(at, at + size);
      at += size;
      out.push({ side, kind: 'data', bytes, padding: d.dataPadding.length === 0 ? null : d.dataPadding[i % d.dataPadding.length]!, isEnd: at >= body.length && !hasTrailers });
      i++;
    } while (at < body.length);
  }
  if (d.trailers) out.push({ side, kind: 'trailers', block: d.trailers });
  return out;
}

/** What `toH2Conversation` built: the steps plus a readable log of every frame. */
export interface BuiltConversation extends Conversation {
  log: string[];
  /** Exchanges a correct observer reports: streams whose request HEADERS went out, HTTP/1 exchanges before an upgrade. */
  exchanges: number;
}

/** The bytes of a spec, in the order the schedule picked, cut into TCP pieces. */
export function toH2Conversation(spec: H2ConversationSpec): BuiltConversation {
  const log: string[] = [];
  const segments: Step[] = [];
  const push = (from: 'client' | 'server', bytes: Buffer, what: string) => {
    if (bytes.length === 0) return;
    log.push(`${from === 'client' ? '>' : '<'} ${what} (${bytes.length} B)`);
    const last = segments[segments.length - 1];
    if (last?.from === from) last.bytes = Buffer.concat([last.bytes, bytes]);
    else segments.push({ from, bytes });
  };
  const sides: Record<'client' | 'server', SideState> = {
    client: { name: 'client', encoder: new HpackEncoder(), allowedTable: 4096, maxFrame: DEFAULT_MAX_FRAME },
    server: { name: 'server', encoder: new HpackEncoder(), allowedTable: 4096, maxFrame: DEFAULT_MAX_FRAME },
  };
  const other = (s: 'client' | 'server') => (s === 'client' ? 'server' : 'client');
  const emit = (from: 'client' | 'server', type: number, flags: number, stream: number, payload: Buffer = Buffer.alloc(0)) => {
    push(from, frame(type, flags, stream, payload), `${FRAME_NAMES[type] ?? `type ${type}`} s=${stream} f=0x${flags.toString(16)} ${payload.subarray(0, 24).toString('hex')}${payload.length > 24 ? '…' : ''}`);
  };
  const applySettings = (from: 'client' | 'server', entries: Array<[number, number]>) => {
    const peer = sides[other(from)];
    for (const [id, v] of entries) {
      if (id === SETTINGS.HEADER_TABLE_SIZE) peer.allowedTable = Math.max(peer.allowedTable, v);
      // The js reader's rule (observer-side.ts): only a valid increase counts at once.
      if (id === SETTINGS.MAX_FRAME_SIZE && v >= DEFAULT_MAX_FRAME && v <= MAX_FRAME_LIMIT) peer.maxFrame = Math.max(peer.maxFrame, v);
    }
  };
  const mutation = spec.mutation;
  const clientSettings = () => {
    push('client', H2_PREFACE, 'PREFACE');
    if (mutation?.kind === 'first-frame-not-settings' && mutation.side === 'client') emit('client', FRAME.PING, 0, 0, Buffer.alloc(8));
    emit('client', FRAME.SETTINGS, 0, 0, settingsPayload(spec.clientSettings));
    applySettings('client', spec.clientSettings);
  };
  const serverSettings = () => {
    if (mutation?.kind === 'first-frame-not-settings' && mutation.side === 'server') emit('server', FRAME.PING, 0, 0, Buffer.alloc(8));
    emit('server', FRAME.SETTINGS, 0, 0, settingsPayload(spec.serverSettings));
    applySettings('server', spec.serverSettings);
  };
  if (spec.upgrade !== null) {
    // h2c (RFC 7540 §3.2): an HTTP/1 request asking for the upgrade, the 101, then HTTP/2 with
    // that request as stream 1 (its response comes as h2 frames).
    const u = spec.upgrade;
    for (let i = 0; i < u.before; i++) {
      push('client', Buffer.from(`GET /before/${i} HTTP/1.1\r\nHost: h2c.diff\r\n\r\n`), 'HTTP/1.1 request');
      push('server', Buffer.from('HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok'), 'HTTP/1.1 200');
    }
    const body = Buffer.from(u.body, 'utf8');
    const head = [`${u.method} ${u.path} HTTP/1.1`, 'Host: h2c.diff', 'Connection: Upgrade, HTTP2-Settings', 'Upgrade: h2c', `HTTP2-Settings: ${settingsPayload(spec.clientSettings).toString('base64url')}`, ...(body.length > 0 ? [`Content-Length: ${body.length}`] : [])];
    push('client', Buffer.concat([Buffer.from(`${head.join('\r\n')}\r\n\r\n`), body]), 'HTTP/1.1 request, Upgrade: h2c');
    push('server', Buffer.from('HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\nUpgrade: h2c\r\n\r\n'), 'HTTP/1.1 101');
  }
  if (spec.isServerFirst) {
    serverSettings();
    clientSettings();
  } else {
    clientSettings();
    serverSettings();
  }
  emit('server', FRAME.SETTINGS, FLAG.ACK, 0);
  emit('client', FRAME.SETTINGS, FLAG.ACK, 0);

  /** A header block's frames (HEADERS or PUSH_PROMISE, then CONTINUATION). */
  const emitBlock = (from: 'client' | 'server', type: number, stream: number, block: BlockSpec, fields: Array<[string, string]>, isEnd: boolean, promised = 0) => {
    const side = sides[from];
    const updates = sizeUpdates(block.sizeUpdate, side.allowedTable);
    const bytes = side.encoder.encode(fields, block.styles, updates);
    const n = Math.max(block.fragments, Math.ceil(bytes.length / FRAME_BUDGET), 1);
    const size = Math.ceil(bytes.length / n);
    for (let i = 0; i < n; i++) {
      const piece = bytes.subarray(i * size, (i + 1) * size);
      const isLast = i === n - 1;
      if (i === 0) {
        let flags = (isLast ? FLAG.END_HEADERS : 0) | (isEnd && type === FRAME.HEADERS ? FLAG.END_STREAM : 0);
        const parts: Buffer[] = [];
        if (block.padding !== null) {
          flags |= FLAG.PADDED;
          parts.push(Buffer.from([block.padding]));
        }
        if (type === FRAME.PUSH_PROMISE) parts.push(u32(promised));
        else if (block.hasPriority) {
          flags |= FLAG.PRIORITY;
          parts.push(u32(stream > 2 ? stream - 2 : 0), Buffer.from([(stream * 37) & 0xff]));
        }
        parts.push(piece);
        if (block.padding !== null) parts.push(Buffer.alloc(block.padding));
        emit(from, type, flags, stream, Buffer.concat(parts));
      } else {
        emit(from, FRAME.CONTINUATION, isLast ? FLAG.END_HEADERS : 0, stream, piece);
      }
    }
  };

  // The streams' frames, interleaved by the schedule.
  const streams = spec.streams.map((s) => ({
    spec: s,
    id: 0,
    client: directionActions('client', s.request),
    server: directionActions('server', s.response),
    done: 0,
    isReset: false,
    isClientStopped: false,
    isServerStopped: false,
  }));
  if (spec.upgrade !== null) {
    // The upgraded request is stream 1, already sent: only its response is left.
    const response = directionActions('server', spec.upgrade.response);
    streams.unshift({ spec: { request: spec.upgrade.response, response: spec.upgrade.response, reset: null }, id: 1, client: [], server: response, done: 1, isReset: false, isClientStopped: true, isServerStopped: false });
  }
  const total = streams.reduce((n, s) => n + s.client.length + s.server.length, 0);
  let nextId = spec.upgrade !== null ? 3 : 1;
  let lastOpened = 0;
  let picks = 0;
  let emitted = 0;
  const extrasAt = (k: number) => spec.extras.filter((e) => e.at % (total + 1) === k);
  const mutationAt = (k: number) => mutation !== null && isInjected(mutation.kind) && mutation.at % (total + 1) === k;

  const emitExtra = (e: ExtraSpec) => {
    const from = e.side;
    switch (e.kind) {
      case 'ping':
        return emit(from, FRAME.PING, e.value & 1 ? FLAG.ACK : 0, 0, Buffer.alloc(8, e.value & 0xff));
      case 'priority':
        return emit(from, FRAME.PRIORITY, 0, (e.value % 9) * 2 + 1, Buffer.concat([u32(0), Buffer.from([e.value & 0xff])]));
      case 'window-update':
        return emit(from, FRAME.WINDOW_UPDATE, 0, e.value & 1 ? lastOpened : 0, u32(1 + (e.value % 65_535)));
      case 'settings-table': {
        const entries: Array<[number, number]> = [[SETTINGS.HEADER_TABLE_SIZE, TABLE_SIZES[e.value % TABLE_SIZES.length]!]];
        emit(from, FRAME.SETTINGS, 0, 0, settingsPayload(entries));
        return applySettings(from, entries);
      }
      case 'settings-frame-size':
        return emit(from, FRAME.SETTINGS, 0, 0, settingsPayload([[SETTINGS.MAX_FRAME_SIZE, DEFAULT_MAX_FRAME + (e.value % 3) * 16_384]]));
      case 'settings-ack':
        return emit(from, FRAME.SETTINGS, FLAG.ACK, 0);
      case 'unknown':
        return emit(from, 0x0a + (e.value % 0xf0), e.value & 0xff, e.value & 1 ? lastOpened : 0, Buffer.alloc(e.value % 40, 0x5a));
      case 'goaway':
        // The server's last-stream-id is the newest stream so far (or one before it), or now and
        // then 0: every stream open is above it (none processed, RFC 9113 §6.8).
        return emit(from, FRAME.GOAWAY, 0, 0, Buffer.concat([u32(from === 'server' && e.value % 5 !== 4 ? Math.max(0, lastOpened - (e.value & 1 ? 2 : 0)) : 0), u32(e.value % 14), Buffer.from(e.value % 3 === 0 ? 'debug data' : '')]));
      case 'push-promise': {
        if (from !== 'server' || lastOpened === 0) return;
        const block: BlockSpec = { fields: [], styles: [{ rep: 'incremental', isNameIndexed: true, isHuffman: (e.value & 1) === 1 }], fragments: 1 + (e.value % 2), padding: null, hasPriority: false, sizeUpdate: 'none' };
        const fields: Array<[string, string]> = [[':method', 'GET'], [':scheme', 'http'], [':authority', 'push.example'], [':path', `/pushed/${e.value % 5}`]];
        return emitBlock('server', FRAME.PUSH_PROMISE, lastOpened, block, fields, false, 2 * (1 + (e.value % 50)));
      }
    }
  };

  const emitMutation = (m: MutationSpec) =>
    writeMutation(m, {
      emit,
      push,
      streamFor: (from) => (from === 'client' ? (nextId += 2) - 2 : Math.max(lastOpened, 1)),
      lastOpened: () => lastOpened,
      allowedTable: (from) => sides[from].allowedTable,
      tableLength: (from) => sides[from].encoder.table.length,
    });

  const emitAction = (st: (typeof streams)[number], a: Action) => {
    if (a.kind === 'head' && a.side === 'client') {
      st.id = nextId;
      lastOpened = nextId;
      nextId += 2;
    }
    if (a.kind === 'data') {
      const room = sides[a.side].maxFrame - 256; // pad length + padding
      for (let at = 0; at === 0 || at < a.bytes.length; at += room) {
        const bytes = a.bytes.subarray(at, at + room);
        const isLast = at + room >= a.bytes.length;
        const flags = (a.isEnd && isLast ? FLAG.END_STREAM : 0) | (a.padding !== null ? FLAG.PADDED : 0);
        const payload = a.padding !== null ? Buffer.concat([Buffer.from([a.padding]), bytes, Buffer.alloc(a.padding)]) : bytes;
        emit(a.side, FRAME.DATA, flags, st.id, payload);
      }
      return;
    }
    const fields = a.block.fields;
    const isEnd = a.kind === 'trailers' ? true : a.isEnd;
    emitBlock(a.side, FRAME.HEADERS, st.id, a.block, fields, isEnd);
  };

  const stopAt = spec.stopAfter === null ? total : spec.stopAfter % (total + 1);
  for (; emitted < stopAt; ) {
    for (const e of extrasAt(emitted)) emitExtra(e);
    if (mutationAt(emitted)) emitMutation(mutation!);
    const ready: Array<{ st: (typeof streams)[number]; side: 'client' | 'server' }> = [];
    for (const st of streams) {
      if (!st.isClientStopped && st.client.length > 0) ready.push({ st, side: 'client' });
      if (st.id !== 0 && !st.isServerStopped && st.server.length > 0) ready.push({ st, side: 'server' });
    }
    if (ready.length === 0) break;
    // A server answer crossing a client's reset goes out at once: the js engine waits
    // RESET_GRACE_MS (1 s) for it, and a loaded machine must not decide the outcome.
    const urgent = ready.find((r) => r.side === 'server' && r.st.isReset);
    const { st, side } = urgent ?? ready[spec.schedule.length === 0 ? 0 : spec.schedule[picks++ % spec.schedule.length]! % ready.length]!;
    const r = st.spec.reset;
    if (r && !st.isReset && st.id !== 0 && st.done >= Math.max(1, r.after)) {
      st.isReset = true;
      emit(r.by, FRAME.RST_STREAM, 0, st.id, u32(r.code));
      st.isClientStopped = true;
      if (!(r.by === 'client' && r.isCrossing)) st.isServerStopped = true;
      continue;
    }
    emitAction(st, (side === 'client' ? st.client : st.server).shift()!);
    st.done++;
    emitted++;
  }
  for (const e of extrasAt(emitted)) emitExtra(e);
  if (mutationAt(emitted)) emitMutation(mutation!);
  if (mutation?.kind === 'flip-byte' || mutation?.kind === 'cut-off') applyByteMutation(segments, mutation, log);
  // One exchange per stream opened, plus the plain HTTP/1 ones before an upgrade.
  const exchanges = streams.filter((st) => st.id !== 0).length + (spec.upgrade?.before ?? 0);
  return { steps: cut(segments, spec.pieces), closeFirst: spec.serverClosesFirst ? 'server' : 'client', log, exchanges };
}

function isInjected(kind: MutationKind): boolean {
  return kind !== 'flip-byte' && kind !== 'cut-off' && kind !== 'first-frame-not-settings';
}

/** The size updates a block starts with, legal for a peer that allowed `allowed` bytes. */
function sizeUpdates(kind: BlockSpec['sizeUpdate'], allowed: number): number[] {
  switch (kind) {
    case 'none':
      return [];
    case 'shrink':
      return [Math.min(allowed, 128)];
    case 'grow':
      // Past 64 KiB the js decoder refuses to follow (its bound; an h2-hpack give-up): that is a mutation's job.
      return [Math.min(allowed, 65_536)];
    case 'zero-and-back':
      return [0, Math.min(allowed, 4096)];
  }
}

/** Flips one byte of a side's bytes (after the client preface), or cuts the side off there. */
function applyByteMutation(segments: Step[], m: MutationSpec, log: string[]): void {
  const mine = segments.filter((s) => s.from === m.side);
  const skip = m.side === 'client' ? H2_PREFACE.length : 0;
  const total = mine.reduce((n, s) => n + s.bytes.length, 0) - skip;
  if (total <= 0) return;
  let at = skip + (m.at % total);
  log.push(`${m.kind} on the ${m.side} side at byte ${at}`);
  for (const s of mine) {
    if (at < s.bytes.length) {
      if (m.kind === 'flip-byte') {
        s.bytes = Buffer.from(s.bytes);
        s.bytes[at] = s.bytes[at] === m.byte ? m.byte ^ 0xff : m.byte;
        return;
      }
      s.bytes = s.bytes.subarray(0, at);
      at = 0;
      continue;
    }
    if (m.kind === 'cut-off' && at === 0) s.bytes = Buffer.alloc(0);
    else at -= s.bytes.length;
  }
  for (let i = segments.length - 1; i >= 0; i--) if (segments[i]!.bytes.length === 0) segments.splice(i, 1);
}

/** Cuts each segment into pieces whose sizes cycle through `sizes`, within MAX_STEPS writes in all. */
function cut(segments: Step[], sizes: number[]): Step[] {
  // Same-side neighbours may be left after a cut-off removed what was between them.
  const merged: Step[] = [];
  for (const s of segments) {
    const last = merged[merged.length - 1];
    if (last?.from === s.from) last.bytes = Buffer.concat([last.bytes, s.bytes]);
    else merged.push({ ...s });
  }
  const perSegment = Math.max(1, Math.min(MAX_PIECES_PER_SEGMENT, Math.floor(MAX_STEPS / Math.max(merged.length, 1))));
  const out: Step[] = [];
  let k = 0;
  for (const s of merged) {
    let at = 0;
    for (let p = 0; at < s.bytes.length; p++) {
      const n = p === perSegment - 1 ? s.bytes.length - at : sizes[k++ % sizes.length]!;
      out.push({ from: s.from, bytes: s.bytes.subarray(at, at + n) });
      at += n;
    }
  }
  return out;
}

/** A readable dump of a built conversation (printed with a failing run). */
export function describeH2Conversation(c: BuiltConversation): string {
  return [...c.log, `pieces: ${c.steps.map((s) => `${s.from === 'client' ? '>' : '<'}${s.bytes.length}`).join(' ')}`, `${c.closeFirst} closes first`].join('\n');
}
