/**
 * Turns observed exchanges into tap events (DESIGN §5), metrics and flight-recorder entries.
 * One sink per connection. `req`/`rsp` events are built only while someone taps; an `end`
 * event is built at once while someone taps (or bodies were captured), and otherwise only if a
 * flight-recorder query ever reads that exchange (`pushDeferred`): the same event, made later.
 */
import { isUtf8 } from 'node:buffer';
import { isoTime } from '../common/index.js';
import { isFailedByError, isUnobserved, redactAuthority, redactHeaderCredentials, redactUrlCredentials, type HeaderList, type TapBody, type TapEvent } from '../tap-protocol/index.js';
import { hasCompressedGrpcFrame, isEncodedBody } from './body-redact.js';
import { EVENT_OVERHEAD_BYTES, HEADER_PAIR_OVERHEAD_BYTES, headersBytes, type ExchangeEventMaker, type FlightRecorder } from './flight-recorder.js';
import type { ShownRequest } from './metric-labels.js';
import type { HttpRoute, ProxyMetrics } from './metrics.js';
import { createBodyCapture, type BodyCapture, type Exchange, type ExchangeSink, type GiveUpReason } from './observe.js';
import type { ConnectionInfo } from './engine.js';
import { hostOf, type PeerDirectory, type PeerIdentity } from './peers.js';
import type { EventText, TapHub } from './tap-hub.js';

export interface Identity {
  /** `deploy/web` */
  workload?: string;
  namespace?: string;
  pod?: string;
}

export type { ConnectionInfo } from './engine.js';

export interface ObservationServices {
  identity: Identity;
  metrics: ProxyMetrics;
  recorder: FlightRecorder;
  hub: TapHub;
  /** Body capture limit per direction, bytes. */
  bodyLimit: number;
  /** Whether the flight recorder keeps bodies (then bodies are always captured). */
  recorderBodies: boolean;
  /** Content types whose bodies are captured (`application/json`, `text/*`); empty or absent: all. */
  captureContentTypes?: readonly string[];
  /** A body over the capture limit: `truncate` (keep the first bodyLimit bytes, default) or `drop` (keep none). */
  bodyOverLimit?: 'truncate' | 'drop';
  /**
   * Other sidecars by address, when the tap API told us: names the workload behind an outbound
   * destination (`tap --to`) and behind an inbound caller's IP. Looked up per event (7c).
   */
  peers?: PeerDirectory;
}

let cachedSecond = -1;
let cachedPrefix = '';
/**
 * ISO-8601 time of a performance.now() instant. The `YYYY-MM-DDTHH:MM:SS.` prefix is cached
 * per second: a Date + toISOString per event was a measurable share of per-request cost. Written by
 * isoTime, not Date's toISOString, which loads ICU's time-zone data (common/utc-time.ts).
 */
export function wallClock(perfMs: number): string {
  const ms = performance.timeOrigin + perfMs;
  const second = Math.floor(ms / 1000);
  if (second !== cachedSecond) {
    cachedSecond = second;
    cachedPrefix = isoTime(second * 1000).slice(0, 20);
  }
  const frac = Math.floor(ms - second * 1000);
  return cachedPrefix + (frac < 10 ? '00' : frac < 100 ? '0' : '') + frac + 'Z';
}

/** The request headers with URL credentials redacted (redact.ts; the same list when there are none). */
function requestHeadersOf(ex: Exchange): HeaderList {
  return redactHeaderCredentials(ex.requestHeaders);
}

/**
 * `redactHeaderCredentials` remembering its last answer: an exchange's `req`, `rsp` and `end`
 * events show the same request (and response) header list, and a header list is never changed
 * once made (observers assign whole lists), so the same list object redacts to the same result.
 */
function lastRedaction(): (list: HeaderList) => HeaderList {
  let raw: HeaderList | undefined;
  let shown: HeaderList = [];
  return (list) => {
    if (list !== raw) {
      shown = redactHeaderCredentials(list);
      raw = list;
    }
    return shown;
  };
}

/**
 * `estimateEventBytes` of the `end` event `ex` makes (see `endEvent`), without making it (raw
 * header sizes; off by a few bytes only where redaction rewrote a URL in another header such as
 * `Referer`). Used for events made now and on a query alike, so the recorder's bound comes out
 * the same whichever way the event was made.
 */
function estimateEndEventBytes(ex: Exchange): number {
  let n = EVENT_OVERHEAD_BYTES + redactUrlCredentials(ex.path).length + redactAuthority(ex.authority).length;
  // An authority with userinfo came from a Host header that redaction rewrites: size the rewritten list.
  n += ex.headerBytes && ex.authority.indexOf('@') < 0 ? ex.headerBytes('request', HEADER_PAIR_OVERHEAD_BYTES) : headersBytes(requestHeadersOf(ex));
  if (ex.status) n += ex.headerBytes ? ex.headerBytes('response', HEADER_PAIR_OVERHEAD_BYTES) : headersBytes(ex.responseHeaders);
  if (ex.trailers.length > 0) n += headersBytes(ex.trailers);
  if (ex.requestTrailers.length > 0) n += headersBytes(ex.requestTrailers);
  return n + (ex.grpcMessage?.length ?? 0);
}

/**
 * Whether a body of `contentType` may be captured: `types` holds `type/subtype` or `type/*`
 * (parameters ignored, case-insensitive); an empty list allows every type, and a body without a
 * content type is captured only then.
 */
export function isCapturedContentType(types: readonly string[] | undefined, contentType: string | undefined): boolean {
  if (!types || types.length === 0) return true;
  if (!contentType) return false;
  const t = contentType.split(';')[0]!.trim().toLowerCase();
  return types.some((a) => a === t || (a.endsWith('/*') && t.startsWith(a.slice(0, -1))));
}

function contentTypeOf(headers: HeaderList): string | undefined {
  for (const [k, v] of headers) if (k.length === 12 && k.toLowerCase() === 'content-type') return v;
  return undefined;
}

export function bodyToTap(c: BodyCapture, overLimit: 'truncate' | 'drop' = 'truncate'): TapBody {
  if (c.omitted !== undefined) return { size: c.size, truncated: c.size > 0, encoding: 'utf8', data: '', omitted: c.omitted };
  if (overLimit === 'drop' && c.truncated) return { size: c.size, truncated: true, encoding: 'utf8', data: '', omitted: 'too-large' };
  // Nothing captured (a GET's request, a 204): what the general case gives for no bytes, without a Buffer.
  if (c.captured === 0) return { size: c.size, truncated: c.truncated, encoding: 'utf8', data: '' };
  const data = c.chunks.length === 1 ? c.chunks[0] : Buffer.concat(c.chunks, c.captured);
  const text = isUtf8(data);
  return { size: c.size, truncated: c.truncated, encoding: text ? 'utf8' : 'base64', data: data.toString(text ? 'utf8' : 'base64') };
}

/** Makes one connection's tap events (DESIGN §5) from its exchanges: `req`/`rsp` bases and whole `end` events. */
export interface EventMaker {
  baseEvent(kind: TapEvent['kind'], ex: Exchange, atMs: number): TapEvent;
  /** The `end` event of a finished exchange (with its bodies when they were captured). */
  endEvent(ex: Exchange): TapEvent;
  /** The exchange's request and response headers as its events show them (URL credentials redacted). */
  requestHeaders(ex: Exchange): HeaderList;
  responseHeaders(ex: Exchange): HeaderList;
  /** The identity members baseEvent adds (`,"dstWorkload":…`, '' for none), as JSON.stringify writes them. */
  identityJson(): string;
}

/**
 * The event maker of connection `conn`: identity and peer names (looked up again whenever the
 * peer directory changed), URL credentials redacted. Also used for exchanges the native
 * engine's flight recorder kept in C++ (native-recorder.ts), so history reads the same.
 */
export function createEventMaker(conn: ConnectionInfo, services: Pick<ObservationServices, 'identity' | 'peers' | 'bodyOverLimit'>): EventMaker {
  const { identity } = services;
  const self = conn.proxy === 'in' ? 'dst' : 'src';

  // The other end: named by the address it is reached at (outbound) or calls from (inbound: its
  // IP; the port is ephemeral). The name is looked up again whenever the directory changed, so a
  // connection opened before its peer registered is named from then on (issue 10 item 7c).
  const peerAddress = conn.proxy === 'out' ? conn.dst : hostOf(conn.src);
  let peerVersion = -1;
  let peer: PeerIdentity | undefined;
  const currentPeer = (): PeerIdentity | undefined => {
    const dir = services.peers;
    if (dir && dir.version !== peerVersion) {
      peerVersion = dir.version;
      peer = dir.lookup(peerAddress);
    }
    return peer;
  };
  // The last stream's id (an exchange's three events share one string) and header lists as shown.
  let idStream = -1;
  let id = '';
  const shownRequest = lastRedaction();
  const shownResponse = lastRedaction();
  /** The members after `path`: this sidecar's identity and the peer's, in this order. */
  const addIdentity = (e: Pick<TapEvent, 'srcWorkload' | 'srcNamespace' | 'dstWorkload' | 'dstNamespace' | 'pod'>): void => {
    if (identity.workload) {
      if (self === 'dst') e.dstWorkload = identity.workload;
      else e.srcWorkload = identity.workload;
    }
    if (identity.namespace) {
      if (self === 'dst') e.dstNamespace = identity.namespace;
      else e.srcNamespace = identity.namespace;
    }
    const p = currentPeer();
    if (p) {
      if (self === 'src') {
        if (p.workload) e.dstWorkload = p.workload;
        e.dstNamespace = p.namespace;
      } else {
        if (p.workload) e.srcWorkload = p.workload;
        e.srcNamespace = p.namespace;
      }
    }
    if (identity.pod) e.pod = identity.pod;
  };
  const baseEvent = (kind: TapEvent['kind'], ex: Exchange, atMs: number): TapEvent => {
    if (ex.stream !== idStream) {
      idStream = ex.stream;
      id = `${conn.id}.${ex.stream}`;
    }
    const e: TapEvent = {
      kind,
      id,
      ts: wallClock(atMs),
      proxy: conn.proxy,
      src: conn.src,
      dst: conn.dst,
      protocol: ex.protocol,
      method: ex.method,
      scheme: ex.scheme,
      authority: redactAuthority(ex.authority),
      path: redactUrlCredentials(ex.path),
    };
    addIdentity(e);
    return e;
  };
  // identityJson's last answer, for the peer it was made with (currentPeer returns one object per directory version).
  let identityOf: PeerIdentity | undefined | null = null;
  let identityText = '';
  const identityJson = (): string => {
    const p = currentPeer();
    if (p !== identityOf) {
      identityOf = p;
      const o: Pick<TapEvent, 'srcWorkload' | 'srcNamespace' | 'dstWorkload' | 'dstNamespace' | 'pod'> = {};
      addIdentity(o);
      const text = JSON.stringify(o);
      identityText = text === '{}' ? '' : `,${text.slice(1, -1)}`;
    }
    return identityText;
  };

  /** The `end` event of a finished exchange (with its bodies when they were captured). */
  const endEvent = (ex: Exchange): TapEvent => {
    const e = baseEvent('end', ex, ex.endMs);
    e.requestHeaders = shownRequest(ex.requestHeaders);
    if (ex.status) {
      e.status = ex.status;
      e.latencyMs = ex.responseMs - ex.startMs;
      e.responseHeaders = shownResponse(ex.responseHeaders);
    }
    if (ex.trailers.length > 0) e.trailers = redactHeaderCredentials(ex.trailers);
    if (ex.requestTrailers.length > 0) e.requestTrailers = redactHeaderCredentials(ex.requestTrailers);
    if (ex.grpcStatus !== undefined) e.grpcStatus = ex.grpcStatus;
    if (ex.grpcMessage !== undefined) e.grpcMessage = ex.grpcMessage;
    e.durationMs = ex.endMs - ex.startMs;
    e.requestBytes = ex.requestBytes;
    e.responseBytes = ex.responseBytes;
    if (ex.protocol === 'grpc') {
      e.requestMessages = ex.requestMessages;
      e.responseMessages = ex.responseMessages;
    }
    if (ex.requestBody) e.requestBody = bodyToTap(ex.requestBody, services.bodyOverLimit);
    if (ex.responseBody) e.responseBody = bodyToTap(ex.responseBody, services.bodyOverLimit);
    if (ex.error) {
      e.error = ex.error;
      // How top and the dashboard classify it as the series do (tap-protocol outcome.ts).
      if (ex.isResponseComplete === true) e.responseComplete = true;
    }
    if (ex.unprocessed !== undefined) e.unprocessed = ex.unprocessed;
    return e;
  };

  return { baseEvent, endEvent, requestHeaders: (ex) => shownRequest(ex.requestHeaders), responseHeaders: (ex) => shownResponse(ex.responseHeaders), identityJson };
}

const recordedEventMakers = new WeakMap<object, ExchangeEventMaker>();

/**
 * How the flight recorder makes the `end` event of an exchange it kept as a compact record: the
 * connection's event maker, made again at query time (with the peer names known then, as a
 * deferred entry's is). One function per sidecar's services, so the recorder keeps it once.
 */
function recordedEventMaker(services: Pick<ObservationServices, 'identity' | 'peers' | 'bodyOverLimit'>): ExchangeEventMaker {
  let make = recordedEventMakers.get(services);
  if (make === undefined) {
    make = (conn, ex) => createEventMaker(conn, services).endEvent(ex);
    recordedEventMakers.set(services, make);
  }
  return make;
}

/**
 * An event written as JSON by the native engine (native/index.ts NativeEventJson), handed to a
 * tap-only sink beside its exchange: the event it would make, as text, when it is plain.
 */
export interface PrewrittenEvent {
  text: string;
  identityAt: number;
  cutFrom: number;
  cutTo: number;
  bodyChars: number;
}

/**
 * The exchange sink, whose tap-only steps may take the event already written (`json`): published
 * as text when every subscriber it goes to takes every event (tap-hub.ts publishText), else the
 * event object is made as without it.
 */
export interface TapExchangeSink extends ExchangeSink {
  requestHead(ex: Exchange, json?: PrewrittenEvent): void;
  responseHead(ex: Exchange, json?: PrewrittenEvent): void;
  end(ex: Exchange, json?: PrewrittenEvent): void;
}

export function createExchangeSink(
  conn: ConnectionInfo,
  services: ObservationServices,
  hooks: { onGiveUp(reason: GiveUpReason): void; onUpgrade(): void },
  options: {
    /**
     * Events for tap subscribers only: no metrics, no flight recorder (the native engine counts and
     * records its HTTP/1 exchanges in C++ and sends JS only those that began while someone tapped).
     */
    tapOnly?: boolean;
  } = {},
): TapExchangeSink {
  const { metrics, recorder, hub } = services;
  const isTapOnly = options.tapOnly === true;
  const { baseEvent, endEvent, requestHeaders: shownRequest, responseHeaders: shownResponse, identityJson } = createEventMaker(conn, services);
  /** Publishes `json` as text if the hub can (tap-hub.ts publishText); false: publish the event object. */
  const publishedText = (kind: TapEvent['kind'], json: PrewrittenEvent | undefined, ended?: Exchange): boolean => {
    if (json === undefined) return false;
    // Bodies captured here but none in the text (not written for them), or coded: the object says
    // it all. A coded body is withheld per grant (body-redact.ts isEncodedBody), which C++'s plain
    // text does not know: such an end is made as an object and shaped for each subscriber.
    const hasBodies = ended?.requestBody !== undefined;
    if (hasBodies && (json.cutFrom === json.cutTo || isEncodedBody(ended!.requestHeaders) || isEncodedBody(ended!.responseHeaders))) return false;
    // So is a gRPC message marked compressed under no grpc-encoding (body-redact.ts hasCompressedMessage).
    if (hasBodies && ended!.protocol === 'grpc' && (hasCompressedCapture(ended!.requestBody) || hasCompressedCapture(ended!.responseBody))) return false;
    return hub.publishText({ kind, text: json.text, identityAt: json.identityAt, identity: identityJson(), cutFrom: json.cutFrom, cutTo: json.cutTo, bodyChars: json.bodyChars, hasBodies });
  };
  const recordedEvent = recordedEventMaker(services);
  const peerAddress = conn.proxy === 'out' ? conn.dst : hostOf(conn.src);
  const routeCursor = isTapOnly ? undefined : metrics.routes.cursor(conn.proxy === 'in' ? 'inbound' : 'outbound', conn.dst, conn.proxy === 'in' ? peerAddress : undefined);

  // The metrics route of this connection's current authority label (a connection rarely changes
  // it). Labels show what the exchange's req event shows (metric-labels.ts, sec10): made once per exchange.
  let routeAuthority: string | undefined;
  let route: HttpRoute | undefined;
  let labelledEx: Exchange | undefined;
  let labels: ShownRequest = { authority: '', path: '' };
  const labelsOf = (ex: Exchange): ShownRequest => {
    if (ex !== labelledEx) {
      labels = metrics.shownRequest(ex);
      labelledEx = ex;
    }
    return labels;
  };
  const routeOf = (authority: string): HttpRoute => {
    if (authority !== routeAuthority || !route) {
      route = metrics.httpRoute(conn.proxy, authority, conn.dst);
      routeAuthority = authority;
    }
    return route;
  };

  return {
    requestHead(ex, json) {
      if (!isTapOnly) routeOf(labelsOf(ex).authority).request();
      let wantsBodies = false;
      if (hub.hasSubscribers) {
        // With only ends-only taps reading (record, top), no req event: the end says it all.
        let e: TapEvent | undefined;
        if (hub.wantsEarlyEvents) {
          if (!publishedText('req', json)) {
            e = baseEvent('req', ex, ex.startMs);
            e.requestHeaders = shownRequest(ex);
            hub.publish('req', e);
          }
        } else hub.skipped();
        wantsBodies = hub.wantsBodiesFor(e ?? { id: `${conn.id}.${ex.stream}` });
      } else hub.skipped();
      // Body bytes are copied only for an exchange a reading subscriber may be given (or the recorder keeps).
      if (services.recorderBodies || wantsBodies) {
        ex.requestBody = createBodyCapture(services.bodyLimit);
        ex.responseBody = createBodyCapture(services.bodyLimit);
        if (!isCapturedContentType(services.captureContentTypes, contentTypeOf(ex.requestHeaders))) ex.requestBody.omitted = 'content-type';
      }
    },
    responseHead(ex, json) {
      if (ex.responseBody !== undefined && !isCapturedContentType(services.captureContentTypes, contentTypeOf(ex.responseHeaders))) ex.responseBody.omitted = 'content-type';
      if (hub.hasSubscribers && hub.wantsEarlyEvents) {
        if (publishedText('rsp', json)) return;
        const e = baseEvent('rsp', ex, ex.responseMs);
        e.requestHeaders = shownRequest(ex);
        e.status = ex.status;
        e.latencyMs = ex.responseMs - ex.startMs;
        e.responseHeaders = shownResponse(ex);
        hub.publish('rsp', e);
      } else hub.skipped();
    },
    end(ex, json) {
      if (ex.requestBody !== undefined || ex.responseBody !== undefined) metrics.bodyCaptured((ex.requestBody?.captured ?? 0) + (ex.responseBody?.captured ?? 0));
      if (isTapOnly) {
        if (!hub.hasSubscribers) hub.skipped();
        else if (!publishedText('end', json, ex)) hub.publish('end', endEvent(ex));
        return;
      }
      const shown = labelsOf(ex);
      if (isUnobserved(ex.error, ex.isResponseComplete === true, ex.status)) {
        // Its outcome went unseen (the observer gave up on its connection first): its request was
        // counted; no response is (docs/decisions.md, session 14). observer_errors_total says why.
      } else if (ex.unprocessed === undefined) {
        const latencyMs = ex.status ? ex.responseMs - ex.startMs : undefined;
        // A response cut short (an error before it ended: a reset, a lost connection, a GOAWAY) or a
        // gRPC call without the server's own status: a failure, whatever its status or its client's
        // gRPC code. An HTTP/1 error after the response came whole tells of the request alone (its
        // body cut): the status decides, as for HTTP/2 (docs/decisions.md, session 12 exact12).
        const isFailed = isFailedByError(ex.error !== undefined, ex.isResponseComplete === true, ex.protocol);
        routeOf(shown.authority).exchange(routeCursor!, ex.method, shown.path, ex.protocol, ex.status, ex.grpcStatus, latencyMs, isFailed);
      } else {
        // A stream the server never processed (HTTP/2 refused or past a GOAWAY) is no response: its
        // request was counted; it is counted apart, in no response or route series (unproc13).
        routeOf(shown.authority).unprocessed(ex.unprocessed);
      }
      if (!hub.hasSubscribers && ex.requestBody === undefined && ex.responseBody === undefined) {
        hub.skipped();
        // Nobody reads this event now: the recorder keeps a compact record of `ex` and makes the
        // same event from it if a query asks.
        recorder.pushExchange(conn, ex, recordedEvent);
        return;
      }
      const e = endEvent(ex);
      // Without --recorder-bodies the recorder keeps the compact record, whoever was tapping (so
      // tapping does not shorten the history); with it, the event and its bodies.
      if (!services.recorderBodies || (e.requestBody === undefined && e.responseBody === undefined)) recorder.pushExchange(conn, ex, recordedEvent);
      else recorder.push(e, estimateEndEventBytes(ex) + (e.requestBody?.data.length ?? 0) + (e.responseBody?.data.length ?? 0));
      if (hub.hasSubscribers) hub.publish('end', e);
      else hub.skipped();
    },
    giveUp(reason) {
      hooks.onGiveUp(reason);
    },
    upgraded() {
      hooks.onUpgrade();
    },
  };
}

/** Whether a captured gRPC body holds a message marked compressed. */
function hasCompressedCapture(capture: BodyCapture | undefined): boolean {
  return capture !== undefined && hasCompressedGrpcFrame(capture.chunks);
}
