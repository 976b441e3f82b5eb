/**
 * The contract between the connection layer and the protocol observers (HTTP/1, HTTP/2).
 *
 * Observers never own bytes: the connection layer forwards every chunk first and then hands
 * the observer a view of what was forwarded. An observer parses incrementally, fills one
 * `Exchange` record per request/response pair and reports it to its `ExchangeSink`.
 * An observer must never throw and never block: on anything it cannot follow it calls
 * `sink.giveUp(reason)` once and ignores all further input (the connection stays forwarded).
 */
import type { HeaderList, Protocol, UnprocessedReason } from '../tap-protocol/index.js';

/** Bounded copy of body bytes, made only while someone asked for bodies. */
export interface BodyCapture {
  /** Capture limit in bytes. */
  readonly limit: number;
  chunks: Buffer[];
  /** Bytes captured so far (<= limit). */
  captured: number;
  /** Whole body size seen so far. */
  size: number;
  truncated: boolean;
  /** Set when the capture keeps no bytes at all (content type not allowed): only `size` counts. */
  omitted?: 'content-type';
}

export function createBodyCapture(limit: number): BodyCapture {
  return { limit, chunks: [], captured: 0, size: 0, truncated: false };
}

/** Appends (a copy of, at most the remaining room of) `data` to a capture. */
export function appendBody(capture: BodyCapture, data: Buffer): void {
  capture.size += data.length;
  if (capture.omitted !== undefined) return;
  const room = capture.limit - capture.captured;
  if (room <= 0) {
    if (data.length > 0) capture.truncated = true;
    return;
  }
  const take = data.length <= room ? data.length : room;
  // A copy (data may be a view of a batch or socket read); no view of a view when all of it fits.
  capture.chunks.push(Buffer.from(take === data.length ? data : data.subarray(0, take)));
  capture.captured += take;
  if (take < data.length) capture.truncated = true;
}

/** One HTTP exchange as an observer sees it. Observers fill it in place. */
export interface Exchange {
  /** HTTP/1: 1-based sequence number on the connection; HTTP/2: the stream id. */
  stream: number;
  protocol: Protocol;
  method: string;
  scheme: string;
  authority: string;
  path: string;
  requestHeaders: HeaderList;
  /** Request trailers (HTTP/1 chunked trailers, h2 trailing HEADERS from the client). */
  requestTrailers: HeaderList;
  /** Final (non-1xx) response status; 0 until the response head was seen. */
  status: number;
  responseHeaders: HeaderList;
  /** Response trailers (h1 chunked trailers, h2 trailing HEADERS, gRPC status). */
  trailers: HeaderList;
  grpcStatus?: number;
  grpcMessage?: string;
  /** Body bytes after de-framing (h1: after de-chunking; h2: DATA payload minus padding). */
  requestBytes: number;
  responseBytes: number;
  /** gRPC length-prefixed messages seen per direction. */
  requestMessages: number;
  responseMessages: number;
  /** gRPC: compressed flag seen on any message per direction. */
  requestCompressed: boolean;
  responseCompressed: boolean;
  /** performance.now() when the request started / response head seen / exchange ended. */
  startMs: number;
  responseMs: number;
  endMs: number;
  /** Set by the sink in `requestHead` when bodies are wanted; observers append to them. */
  requestBody?: BodyCapture;
  responseBody?: BodyCapture;
  /** Why the exchange did not complete: `reset`, `upstream-closed`, `client-closed`, … */
  error?: string;
  /**
   * HTTP/1: the response ended as its framing says (or switched protocols), so an `error` tells
   * of the request alone (its body cut). HTTP/2 leaves it unset: a stream whose response ended
   * reports no error, whatever its request did (stream-tracker.ts).
   */
  isResponseComplete?: boolean;
  /**
   * HTTP/2: the server never processed this stream (RST_STREAM REFUSED_STREAM or above a GOAWAY's
   * last-stream-id, before any response HEADERS): not a response (stream-tracker.ts).
   */
  unprocessed?: UnprocessedReason;
  /**
   * Optional: `sum(name.length + value.length + perFieldBytes)` over the request or response
   * headers, without decoding them. HTTP/1 keeps heads as text and decodes a list when it is
   * first read; this lets the flight recorder size an exchange it may never turn into an
   * event. Lists that offer it never hold h2 pseudo-headers.
   */
  headerBytes?(which: 'request' | 'response', perFieldBytes: number): number;
}

export function createExchange(stream: number, protocol: Protocol, startMs: number): Exchange {
  return {
    stream,
    protocol,
    method: '',
    scheme: '',
    authority: '',
    path: '',
    requestHeaders: [],
    requestTrailers: [],
    status: 0,
    responseHeaders: [],
    trailers: [],
    requestBytes: 0,
    responseBytes: 0,
    requestMessages: 0,
    responseMessages: 0,
    requestCompressed: false,
    responseCompressed: false,
    startMs,
    responseMs: 0,
    endMs: 0,
  };
}

/** Where observers report. Implemented by the connection layer (events, metrics, recorder). */
export interface ExchangeSink {
  /**
   * The request head is complete (method, path, headers known). The sink may set
   * `ex.requestBody` / `ex.responseBody` captures before returning.
   */
  requestHead(ex: Exchange): void;
  /** The final response head is complete (1xx responses are not reported). */
  responseHead(ex: Exchange): void;
  /**
   * The exchange is over: both bodies complete, or aborted with `ex.error` set. The observer
   * never changes `ex` after this call, so a sink may keep it (the flight recorder does, and
   * makes its event only if it is ever read).
   */
  end(ex: Exchange): void;
  /**
   * The observer stops following this connection (a reason from `GIVE_UP_REASONS`);
   * open exchanges have already been ended with an error. Bytes keep flowing.
   */
  giveUp(reason: GiveUpReason): void;
  /** The connection switched protocols (HTTP/1 Upgrade, CONNECT): the rest is opaque. */
  upgraded(): void;
}

/** Reasons an observer stops following a connection; each is a metric label value. */
export const GIVE_UP_REASONS = [
  'h1-parse', // malformed HTTP/1 head or framing
  'h1-ambiguous-framing', // CL+TE, differing duplicate CL, obs-fold, bare LF where it matters
  'h1-header-too-large',
  'h1-too-many-pipelined', // more pipelined requests awaiting responses than limits.maxStreams
  'h2-frame', // malformed frame, bad preface, frame too large
  'h2-hpack', // HPACK decoding error
  'h2-header-too-large',
  'h2-too-many-streams',
  'internal', // an observer bug (exception); never breaks forwarding
] as const;
export type GiveUpReason = (typeof GIVE_UP_REASONS)[number];

/** Limits every observer honours (DESIGN: bounded everything). */
export interface ObserverLimits {
  /** Largest request/response head (HTTP/1) or decoded header list (HTTP/2), bytes. */
  maxHeaderBytes: number;
  /** HTTP/2: most concurrently tracked streams per connection; HTTP/1: most pipelined requests awaiting responses. */
  maxStreams: number;
  /** HTTP/2: largest HPACK dynamic table the observer will follow, bytes. */
  maxHpackTableBytes: number;
}

export const DEFAULT_OBSERVER_LIMITS: ObserverLimits = {
  maxHeaderBytes: 64 * 1024,
  maxStreams: 1000,
  maxHpackTableBytes: 64 * 1024,
};

/** A per-connection protocol observer. All methods are cheap and never throw. */
export interface ConnectionObserver {
  /** Bytes that were forwarded client -> server (requests). */
  clientData(chunk: Buffer): void;
  /** Bytes that were forwarded server -> client (responses). */
  serverData(chunk: Buffer): void;
  /** The client half-closed (FIN). */
  clientEnd(): void;
  /** The server half-closed (FIN); may complete a close-delimited response. */
  serverEnd(): void;
  /** The connection is gone; end open exchanges with `error` (e.g. `reset`). Idempotent. */
  close(error?: string): void;
}

export interface ObserverContext {
  sink: ExchangeSink;
  limits: ObserverLimits;
  /** Clock in ms (performance.now in production; injectable for tests). */
  now: () => number;
}

export type CreateObserver = (ctx: ObserverContext) => ConnectionObserver;
