/**
 * The flight recorder under the native engine: exchanges observed in C++ (HTTP/1, and HTTP/2 and
 * gRPC streams) are kept in C++ memory as compact records (native/src/core/recorder-ring.h,
 * bounded by bytes, oldest evicted first) and become `end` TapEvents only here, when a history
 * query reads them; exchanges observed in JS (HTTP/2 whose bytes JS reads) stay in the js
 * recorder. Queries merge both by time, so `tap --since/--last` and `record --since` read one
 * history.
 *
 * A record becomes an event the way a live one does: HTTP/1 heads go through the js observer's
 * own parser (openExchange, parseResponseHead, parseFieldSection) into an `Http1Exchange`; an
 * HTTP/2 stream's header lists fill an `Exchange` as proxy/h2/stream-tracker.ts fills it; the
 * connection's event maker (exchange-events.ts) makes the event, with today's peer names.
 */
import type { NativeEngine, NativeRecordedExchange } from '../native/index.js';
import type { TapEvent } from '../tap-protocol/index.js';
import { createEventMaker, isCapturedContentType, wallClock, type EventMaker, type ObservationServices } from './exchange-events.js';
import { drainCursor, mergedCursor, type FlightRecorder, type HistoryList } from './flight-recorder.js';
import { openExchange } from './http1/exchange-start.js';
import { applyH2Outcome } from './native-observation.js';
import { parseFieldSection, parseResponseHead } from './http1/head-parse.js';
import { createExchange, type BodyCapture, type Exchange } from './observe.js';

function contentTypeOf(headers: ReadonlyArray<[string, string]>): string | undefined {
  for (const [k, v] of headers) if (k.length === 12 && k.toLowerCase() === 'content-type') return v;
  return undefined;
}

/**
 * A recorded body as the js engine had captured it. `hasHead`: the head its Content-Type is read
 * from was seen; a response that never came has no type to judge (the js engine judges a response
 * body at its head, exchange-events.ts responseHead), so nothing of it is said to be omitted.
 */
function captureOf(b: { data: Buffer; size: number; truncated: boolean }, limit: number, contentType: string | undefined, types: readonly string[] | undefined, hasHead = true): BodyCapture {
  const c: BodyCapture = { limit, chunks: b.data.length > 0 ? [b.data] : [], captured: b.data.length, size: b.size, truncated: b.truncated };
  if (hasHead && !isCapturedContentType(types, contentType)) {
    c.omitted = 'content-type';
    c.chunks = [];
    c.captured = 0;
  }
  return c;
}

/** The Exchange of a recorded HTTP/2 stream (`r.h2` set), as the stream tracker had filled it. */
function h2ExchangeOf(r: NativeRecordedExchange): Exchange {
  const h = r.h2!;
  const ex = createExchange(r.stream, h.isGrpc ? 'grpc' : 'h2', r.startMs);
  ex.method = h.method;
  ex.scheme = h.scheme;
  ex.authority = h.authority;
  ex.path = h.path;
  ex.requestHeaders = h.requestHeaders;
  if (h.hasResponseHead) {
    // status 0: a head without a valid :status (stream-tracker.ts keeps its fields, and the body's capture reads them).
    ex.status = r.status;
    ex.responseHeaders = h.responseHeaders;
    ex.responseMs = r.responseMs;
  }
  applyH2Outcome(ex, h);
  return ex;
}

/** The `end` event of one recorded exchange, or undefined if its heads no longer parse (cannot happen: C++ parsed them). */
function toEvent(r: NativeRecordedExchange, maker: EventMaker, services: ObservationServices): TapEvent | undefined {
  const ex = r.h2 !== undefined ? h2ExchangeOf(r) : http1ExchangeOf(r);
  if (ex === undefined) return undefined;
  ex.requestBytes = r.requestBytes;
  ex.responseBytes = r.responseBytes;
  if (r.error !== undefined) ex.error = r.error;
  if (r.responseComplete === true) ex.isResponseComplete = true;
  ex.endMs = r.endMs;
  if (r.bodies !== undefined) {
    ex.requestBody = captureOf(r.bodies[0]!, services.bodyLimit, contentTypeOf(ex.requestHeaders), services.captureContentTypes);
    const hasResponseHead = r.h2 !== undefined ? r.h2.hasResponseHead : r.status !== 0;
    ex.responseBody = captureOf(r.bodies[1]!, services.bodyLimit, contentTypeOf(ex.responseHeaders), services.captureContentTypes, hasResponseHead);
  }
  return maker.endEvent(ex);
}

/** The Http1Exchange of a recorded HTTP/1 exchange, its heads parsed by the js observer's parser. */
function http1ExchangeOf(r: NativeRecordedExchange): Exchange | undefined {
  const opened = openExchange(r.requestHead, r.stream, r.startMs);
  if (!opened.ok) return undefined;
  const ex = opened.pending.ex;
  if (r.status !== 0) {
    const rsp = parseResponseHead(r.responseHead);
    if (!rsp.ok) return undefined;
    ex.status = rsp.value.status;
    ex.setResponseSection(rsp.value.fields);
    ex.responseMs = r.responseMs;
  }
  if (r.requestTrailers !== '') {
    const t = parseFieldSection(r.requestTrailers);
    if (t.ok) ex.requestTrailers = t.value;
  }
  if (r.trailers !== '') {
    const t = parseFieldSection(r.trailers);
    if (t.ok) ex.trailers = t.value;
  }
  return ex;
}

/**
 * One history over the js recorder (`js`: what JS observers record) and the native engine's C++
 * recorder. `native()` is the running engine (undefined once closed: then only `js` answers).
 */
export function createNativeFlightRecorder(js: FlightRecorder, native: () => NativeEngine | undefined, services: ObservationServices): FlightRecorder {
  // The js recorder is made with the sidecar and has evicted nothing yet: its start is ours.
  const createdMs = js.historyStartMs ?? Date.now();
  /** The C++ recorder's snapshot (its query's answer, decoded one record at a time), as the js recorder's snapshot makes events. */
  const nativeSnapshot = (e: NativeEngine, sinceEpochMs: number | undefined, accept?: (e: TapEvent) => boolean): HistoryList => {
    const list = e.recorderQuery(sinceEpochMs);
    const makers = new Map<string, EventMaker>();
    return {
      length: list.length,
      at(i) {
        const r = list.get(i);
        const key = `${r.connId}|${r.proxy}|${r.src}|${r.dst}`;
        let maker = makers.get(key);
        if (maker === undefined) makers.set(key, (maker = createEventMaker({ id: r.connId, proxy: r.proxy, src: r.src, dst: r.dst }, services)));
        const made = toEvent(r, maker, services);
        if (made === undefined) return undefined;
        // `accept` tests the event as it is returned (and shown): a filter scrubs with its bodies' secret values exactly when the tap does.
        const ev = services.recorderBodies ? made : withoutBodies(made);
        if ((sinceEpochMs !== undefined && Date.parse(ev.ts) < sinceEpochMs) || (accept && !accept(ev))) return undefined;
        return ev;
      },
    };
  };
  return {
    push: (event, bytes) => js.push(event, bytes),
    pushDeferred: (source, bytes, toEvent) => js.pushDeferred(source, bytes, toEvent),
    pushExchange: (conn, ex, toEvent) => js.pushExchange(conn, ex, toEvent),
    query(options, accept) {
      return drainCursor(this.cursor(options, accept));
    },
    cursor({ sinceEpochMs, last }, accept) {
      // Oldest first by end time, the js recorder's first on a tie (as the sort of both answers was).
      return mergedCursor(this.snapshots(sinceEpochMs, accept), last);
    },
    snapshots(sinceEpochMs, accept) {
      const fromJs = js.snapshots(sinceEpochMs, accept);
      const e = native();
      return e === undefined ? fromJs : [...fromJs, nativeSnapshot(e, sinceEpochMs, accept)];
    },
    get bytes() {
      return js.bytes + (native()?.recorderStats().bytes ?? 0);
    },
    get size() {
      return js.size + (native()?.recorderStats().count ?? 0);
    },
    get evicted() {
      return js.evicted + (native()?.recorderStats().evicted ?? 0);
    },
    get historyStartMs() {
      // From when both hold everything: the later of the two starts.
      const s = native()?.recorderStats();
      let nativeStart = createdMs;
      if (s !== undefined && s.evicted > 0 && s.oldestEndMs !== undefined) nativeStart = Date.parse(wallClock(s.oldestEndMs));
      return Math.max(js.historyStartMs ?? createdMs, nativeStart);
    },
  };
}

/** The event as the js recorder keeps it without --recorder-bodies. */
function withoutBodies(e: TapEvent): TapEvent {
  if (e.requestBody === undefined && e.responseBody === undefined) return e;
  const { requestBody: _a, responseBody: _b, ...rest } = e;
  return rest;
}
