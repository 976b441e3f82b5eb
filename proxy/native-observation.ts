/**
 * The JS half of the native engine's observation: C++ detects each connection's protocol and
 * observes HTTP/1 itself (native/src/core/detect-driver.h, h1-observer.h); this file turns its
 * records back into what the js engine's observers would have reported.
 *
 * - a connection is announced (`open`) only before the first record JS needs: an HTTP/1 or opaque
 *   connection nobody taps sends nothing at all; detections, detect timeouts, give-ups and lost
 *   batches are counted in C++ and read at scrape (native/src/core/detect-driver.h), never here;
 * - HTTP/1: metrics and the flight recorder are kept in C++ (native/src/core/metrics-h1-sink.h),
 *   and only exchanges that began while a tap subscriber was attached come here as records:
 *   `Http1Exchange` objects built by the js observer's own head parser (openExchange,
 *   parseResponseHead, parseFieldSection), reported to the same exchange sink in its tap-only
 *   mode, so tap events are the js engine's by construction; no byte of an HTTP/1 connection
 *   crosses to JS, only heads (and bodies while someone asked for them);
 * - HTTP/2 and gRPC observed in C++ (`h2-native`, and h2c after a 101 when C++ follows it):
 *   likewise, metrics and recorder in C++ (native/src/core/metrics-h2-sink.h), and only streams
 *   begun while someone tapped come here, as records with their header lists as the js observer decodes them:
 *   `Exchange` objects filled exactly as proxy/h2/stream-tracker.ts fills them, reported to the
 *   same tap-only exchange sink;
 * - no connection's bytes come to JS: a detection of `h2` (bytes to follow), an h2c that JS should
 *   follow, or a data record are refused as a divergence (unobserved, counted as `internal`); C++
 *   sends none of them since issue 14 part 2, and so the native engine never loads the js observers
 *   (their modules cost the idle sidecar memory: docs/decisions.md);
 * - opaque: nothing after the detection record.
 */
import { createLogger } from '../common/index.js';
import type { NativeExchangeEnd, NativeH2End, NativeH2Head, NativeH2Outcome, NativeRecordHandler } from '../native/index.js';
import { OBSERVER_GAVE_UP } from '../tap-protocol/index.js';
import type { ConnectionInfo } from './engine.js';
import { createExchangeSink, type ObservationServices, type TapExchangeSink } from './exchange-events.js';
import { openParsedExchange } from './http1/exchange-start.js';
import { parseFieldSection, parseRequestHead, parseResponseHead, type HeadResult, type RequestHead, type ResponseHead } from './http1/head-parse.js';
import type { Http1Exchange } from './http1/http1-exchange.js';
import type { ObservationOptions } from './observation-driver.js';
import { appendBody, createExchange, GIVE_UP_REASONS, type BodyCapture, type Exchange, type GiveUpReason } from './observe.js';

const log = createLogger('proxy.conn');
const detectLog = createLogger('detect');

/** Error on exchanges still open when the record batch overflowed (the js driver's close reason). */
const LOST_ERROR = 'observer-lost';

type NativeConn =
  | { kind: 'detecting'; info: ConnectionInfo }
  | { kind: 'h1'; info: ConnectionInfo; sink: TapExchangeSink; open: Map<number, Http1Exchange> }
  /** HTTP/2 observed in C++: streams begun while tapped, by stream id (stream 1 of h2c may be an Http1Exchange). */
  | { kind: 'h2-native'; info: ConnectionInfo; sink: TapExchangeSink; open: Map<number, Exchange> };

/**
 * Parses of recent heads by their text. A client repeats its request head and a server its
 * response head (within the second of its `Date`) exchange after exchange: the parse, and the
 * header list decoded from it when an event first reads it, is made once and shared. A parse is a
 * function of the head's text, and what it holds is never changed once made (a header list is
 * decoded once into the section and kept; exchanges assign whole lists). Bounded: at most
 * HEAD_CACHE_ENTRIES heads of at most HEAD_CACHE_MAX_CHARS each, emptied when full; refused heads
 * are not kept.
 */
function headParseCache<T>(parse: (head: string) => HeadResult<T>): (head: string) => HeadResult<T> {
  // The last head of each length, compared whole: a Map keyed by the text would hash every fresh
  // head (~2 ns a character), much of what the parse costs.
  const parsed = new Map<number, { head: string; result: HeadResult<T> }>();
  return (head) => {
    if (head.length > HEAD_CACHE_MAX_CHARS) return parse(head);
    const known = parsed.get(head.length);
    if (known !== undefined && known.head === head) return known.result;
    const r = parse(head);
    if (!r.ok) return r;
    if (parsed.size >= HEAD_CACHE_ENTRIES && known === undefined) parsed.clear();
    parsed.set(head.length, { head, result: r });
    return r;
  };
}
const HEAD_CACHE_ENTRIES = 32;
const HEAD_CACHE_MAX_CHARS = 2048;

/** What the end of an HTTP/2 stream observed in C++ adds to its Exchange, as stream-tracker.ts adds it (live records and history alike). */
export function applyH2Outcome(ex: Exchange, o: NativeH2Outcome): void {
  if (o.requestTrailers.length > 0) ex.requestTrailers = o.requestTrailers;
  if (o.trailers.length > 0) ex.trailers = o.trailers;
  if (ex.protocol === 'grpc') {
    ex.requestMessages = o.requestMessages;
    ex.responseMessages = o.responseMessages;
    ex.requestCompressed = o.requestCompressed;
    ex.responseCompressed = o.responseCompressed;
  }
  if (o.grpcStatus !== undefined) ex.grpcStatus = o.grpcStatus;
  if (o.grpcMessage !== undefined) ex.grpcMessage = o.grpcMessage;
  if (o.unprocessed !== undefined) ex.unprocessed = o.unprocessed;
}

/** The record handler's observation part (everything but engine-wide counters). */
export type NativeObservationHandler = Omit<NativeRecordHandler, 'connectError' | 'boundHit'> & {
  /** Ends every connection still followed (the engine stopped). */
  closeAll(): void;
};

/**
 * Follows the native engine's connections from their records. `unobserve(id)` tells C++ to stop
 * sending records for a connection (JS stopped following it). `_observation` is kept for the
 * engine's call (the limits C++ applies come from the same options).
 */
export function createNativeObservation(services: ObservationServices, _observation: ObservationOptions, unobserve: (id: number) => void): NativeObservationHandler {
  const { metrics } = services;
  const conns = new Map<number, NativeConn>();
  const parseRequest = headParseCache<RequestHead>(parseRequestHead);
  const parseResponse = headParseCache<ResponseHead>(parseResponseHead);
  let recordMs = 0;

  const trace = (id: number, from: string, to: string, why?: string) => {
    if (detectLog.isTracing) detectLog.transition(from, to, why ? { conn: id, why } : { conn: id });
  };

  /** The C++ observer and the js head parser disagree (a bug): observation stops, counted as `internal`. */
  const diverged = (id: number, what: string) => {
    metrics.observerGaveUp('internal');
    log.warn('native observer record the js parser refuses; connection continues unobserved', { conn: id, what });
    endOpen(id, OBSERVER_GAVE_UP);
    conns.delete(id);
    unobserve(id);
  };

  /** Ends exchanges still open on a connection the records no longer follow. */
  const endOpen = (id: number, error: string) => {
    const c = conns.get(id);
    if (c?.kind !== 'h1' && c?.kind !== 'h2-native') return;
    for (const ex of c.open.values()) {
      ex.error = error;
      ex.endMs = recordMs;
      c.sink.end(ex);
    }
    c.open.clear();
  };

  /** Tap-only: C++ keeps every connection's metrics and recorder (HTTP/1, h2-native). */
  const sinkOf = (info: ConnectionInfo) => {
    const id = info.id;
    return createExchangeSink(
      info,
      services,
      {
        onGiveUp: (reason: GiveUpReason) => {
          // C++ counted its own observer's give-up.
          log.debug('observer gave up', { conn: id, reason });
          stopFollowing(id, 'gave up');
        },
        onUpgrade: () => stopFollowing(id, 'upgraded'),
      },
      { tapOnly: true },
    );
  };

  const startH1 = (info: ConnectionInfo) => {
    conns.set(info.id, { kind: 'h1', info, sink: sinkOf(info), open: new Map() });
  };

  const stopFollowing = (id: number, why: string) => {
    const c = conns.get(id);
    if (c === undefined) return;
    conns.delete(id);
    trace(id, c.kind, 'unobserved', why);
    unobserve(id); // C++ already stopped unless a js HTTP/2 observer (after h2c) gave up
  };

  const h1 = (id: number) => {
    const c = conns.get(id);
    return c?.kind === 'h1' ? c : undefined;
  };

  const h2n = (id: number) => {
    const c = conns.get(id);
    return c?.kind === 'h2-native' ? c : undefined;
  };

  /** Sizes a capture made from at most bodyLimit bytes per direction as if it had seen every byte. */
  const settleCapture = (capture: BodyCapture | undefined, size: number) => {
    if (capture === undefined) return;
    capture.size = size;
    if (capture.omitted === undefined) capture.truncated = size > capture.captured;
  };

  return {
    open(id, proxy, src, dst, atMs) {
      recordMs = atMs;
      conns.set(id, { kind: 'detecting', info: { id, proxy, src, dst } });
    },
    detected(id, kind, why, atMs) {
      recordMs = atMs;
      const c = conns.get(id);
      if (c?.kind !== 'detecting') return;
      if (kind === 'h2') return diverged(id, 'detection h2 with bytes to follow');
      trace(id, 'detecting', kind, why || undefined);
      if (kind === 'h1') startH1(c.info);
      else if (kind === 'h2-native') conns.set(id, { kind, info: c.info, sink: sinkOf(c.info), open: new Map() });
      else conns.delete(id); // opaque: C++ sends nothing more
    },
    requestHead(id, stream, head, hasBodies, atMs, json) {
      recordMs = atMs;
      const c = h1(id);
      if (c === undefined) return;
      const parsed = parseRequest(head);
      const opened = parsed.ok ? openParsedExchange(parsed.value, stream, atMs) : parsed;
      if (!opened.ok) return diverged(id, `request head: ${opened.error}`);
      const ex = opened.pending.ex;
      c.open.set(stream, ex);
      c.sink.requestHead(ex, json);
      if (!hasBodies) {
        // C++ decided at this head that nobody wanted bodies (a tap with bodies began since): none.
        delete ex.requestBody;
        delete ex.responseBody;
      }
    },
    responseHead(id, stream, head, atMs, json) {
      recordMs = atMs;
      const c = h1(id);
      const ex = c?.open.get(stream);
      if (c === undefined || ex === undefined) return;
      const parsed = parseResponse(head);
      if (!parsed.ok) return diverged(id, `response head: ${parsed.error}`);
      ex.status = parsed.value.status;
      ex.setResponseSection(parsed.value.fields);
      ex.responseMs = atMs;
      c.sink.responseHead(ex, json);
    },
    body(id, stream, isRequest, bytes) {
      const c = conns.get(id);
      const ex = c?.kind === 'h1' || c?.kind === 'h2-native' ? c.open.get(stream) : undefined;
      const capture = isRequest ? ex?.requestBody : ex?.responseBody;
      if (capture !== undefined) appendBody(capture, bytes);
    },
    exchangeEnd(id, stream, end: NativeExchangeEnd, atMs, json) {
      recordMs = atMs;
      const c = h1(id);
      const ex = c?.open.get(stream);
      if (c === undefined || ex === undefined) return;
      c.open.delete(stream);
      ex.requestBytes = end.requestBytes;
      ex.responseBytes = end.responseBytes;
      if (end.requestTrailers !== '') {
        const t = parseFieldSection(end.requestTrailers);
        if (!t.ok) return diverged(id, `request trailers: ${t.error}`);
        ex.requestTrailers = t.value;
      }
      if (end.trailers !== '') {
        const t = parseFieldSection(end.trailers);
        if (!t.ok) return diverged(id, `trailers: ${t.error}`);
        ex.trailers = t.value;
      }
      if (end.error !== undefined) ex.error = end.error;
      if (end.responseComplete) ex.isResponseComplete = true;
      ex.endMs = atMs;
      settleCapture(ex.requestBody, end.requestBytes);
      settleCapture(ex.responseBody, end.responseBytes);
      c.sink.end(ex, json);
    },
    giveUp(id, reason, atMs) {
      recordMs = atMs;
      const c = conns.get(id);
      if (c === undefined) return;
      const why = GIVE_UP_REASONS[reason] ?? 'internal';
      // C++ ended its open exchanges first; what is still open here (C++ abandoned the connection
      // mid-exchange, out of memory) ends the way a give-up ends it.
      endOpen(id, OBSERVER_GAVE_UP);
      if (c.kind === 'h1' || c.kind === 'h2-native') return c.sink.giveUp(why);
      conns.delete(id);
    },
    upgraded(id, atMs) {
      recordMs = atMs;
      h1(id)?.sink.upgraded();
    },
    h2c(id, stream, atMs, isNative) {
      recordMs = atMs;
      const c = h1(id);
      if (c === undefined) return;
      if (!isNative) return diverged(id, 'h2c with bytes to follow');
      // C++ follows the rest (metrics and recorder too): HTTP/2 stream 1 is the upgraded exchange,
      // when it went to JS. Its records name stream 1 (h2-record-sink.cc RecordStream), while the
      // exchange keeps its HTTP/1 number N as its id (later streams are numbered from N + 2 on).
      const ex = c.open.get(stream);
      c.open.delete(stream);
      const open = new Map<number, Exchange>();
      if (ex !== undefined) {
        ex.protocol = 'h2';
        open.set(1, ex);
      }
      conns.set(id, { kind: 'h2-native', info: c.info, sink: c.sink, open });
    },
    h2RequestHead(id, stream, head: NativeH2Head, hasBodies, atMs, json) {
      recordMs = atMs;
      const c = h2n(id);
      if (c === undefined || c.open.has(stream)) return;
      const ex = createExchange(stream, head.isGrpc ? 'grpc' : 'h2', atMs);
      ex.method = head.method;
      ex.scheme = head.scheme;
      ex.authority = head.authority;
      ex.path = head.path;
      ex.requestHeaders = head.headers;
      c.open.set(stream, ex);
      c.sink.requestHead(ex, json);
      if (!hasBodies) {
        // C++ decided at this head that nobody wanted bodies (a tap with bodies began since): none.
        delete ex.requestBody;
        delete ex.responseBody;
      }
    },
    h2ResponseHead(id, stream, status, headers, atMs, json) {
      recordMs = atMs;
      const c = h2n(id);
      const ex = c?.open.get(stream);
      if (c === undefined || ex === undefined) return;
      ex.status = status;
      ex.responseHeaders = headers;
      ex.responseMs = atMs;
      c.sink.responseHead(ex, json);
    },
    h2End(id, stream, end: NativeH2End, atMs, json) {
      recordMs = atMs;
      const c = h2n(id);
      const ex = c?.open.get(stream);
      if (c === undefined || ex === undefined) return;
      c.open.delete(stream);
      applyH2Outcome(ex, end);
      ex.requestBytes = end.requestBytes;
      ex.responseBytes = end.responseBytes;
      if (end.error !== undefined) ex.error = end.error;
      ex.endMs = atMs;
      settleCapture(ex.requestBody, end.requestBytes);
      settleCapture(ex.responseBody, end.responseBytes);
      c.sink.end(ex, json);
    },
    data(id, _fromClient, _bytes, atMs) {
      recordMs = atMs;
      if (conns.has(id)) diverged(id, 'connection bytes');
    },
    end(id, _fromClient, atMs) {
      recordMs = atMs;
      if (conns.has(id)) diverged(id, 'connection end');
    },
    close(id, abortError, atMs) {
      recordMs = atMs;
      const c = conns.get(id);
      if (c === undefined) return;
      // C++ ended its open exchanges and streams before this record; a js HTTP/2 observer ends its own.
      if (c.kind === 'h1' || c.kind === 'h2-native') endOpen(id, abortError ?? 'connection-closed');
      conns.delete(id);
    },
    lost(id) {
      const c = conns.get(id);
      if (c === undefined) return;
      if (c.kind === 'h1' || c.kind === 'h2-native') endOpen(id, LOST_ERROR);
      conns.delete(id);
    },
    closeAll() {
      for (const [id, c] of conns) {
        if (c.kind === 'h1' || c.kind === 'h2-native') endOpen(id, 'connection-closed');
      }
      conns.clear();
    },
  };
}
