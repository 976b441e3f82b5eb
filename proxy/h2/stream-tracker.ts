/**
 * The exchange side of the HTTP/2 observer: turns decoded header blocks and DATA of
 * client-initiated streams into `Exchange` records, from request HEADERS to both
 * END_STREAMs (or a reset), and reports them to the sink. Streams are forgotten as soon as
 * they end, so memory stays bounded by the number of open streams.
 */
import { OBSERVER_GAVE_UP, type HeaderList } from '../../tap-protocol/index.js';
import type { Exchange, ObserverContext } from '../observe.js';
import { appendBody, createExchange } from '../observe.js';
import { GrpcMessageCounter, isGrpcContentType, readGrpcStatus } from './grpc.js';
import { GRPC_ERROR_STATUS_MALFORMED, GRPC_ERROR_STATUS_MISSING, GRPC_INTERNAL, GRPC_UNAVAILABLE, GRPC_UNKNOWN, H2_REFUSED_STREAM, grpcStatusOfMissing, grpcStatusOfReset, parseGrpcTimeoutMs } from './grpc-status.js';

interface StreamState {
  ex: Exchange;
  isRequestEnded: boolean;
  isResponseEnded: boolean;
  hasResponseHead: boolean;
  grpcRequest?: GrpcMessageCounter;
  grpcResponse?: GrpcMessageCounter;
  /** HTTP/2 error code of the RST_STREAM that ended the stream. */
  resetCode?: number;
  /** A grpc-status field was sent but was not a number. */
  isGrpcStatusMalformed?: boolean;
  /** The response head had no `:status`, or one not three digits (`statusOf` 0). */
  isStatusMalformed?: boolean;
  /** Client-reset streams: the grace batch they wait in (see `RESET_GRACE_MS`). */
  resetBatch?: number;
  /** The request's grpc-timeout, ms. */
  grpcTimeoutMs?: number;
}

/**
 * How long a stream the client reset stays open for a response already on its way. The
 * client's RST_STREAM and the server's trailers can cross (gRPC's `cancel_after_first_response`
 * interop case shows it about one run in ten): the server sent its status before it saw the
 * reset, and the client receives it. Reading the two directions, the observer may see the
 * reset first; waiting this long (one to two times it) lets it report what passed through.
 */
export const RESET_GRACE_MS = 1000;
/** Most client-reset streams waiting at once; past it the oldest ends at once (rapid-reset floods). */
export const MAX_RESET_PENDING = 128;

/** Error strings set on exchanges that did not complete. */
export const STREAM_ERROR_RESET = 'reset';
export const STREAM_ERROR_GOAWAY = 'goaway';
export const STREAM_ERROR_UPSTREAM_CLOSED = 'upstream-closed';
/** Error set on exchanges still open when the observer stops following the connection. */
export const STREAM_ERROR_GAVE_UP = OBSERVER_GAVE_UP;
/**
 * Error of a stream whose response head had no `:status` or one that is not three digits: a
 * malformed response (RFC 9113 §8.3.2, §8.1.1), which its client fails as a stream error
 * (nghttp2, so curl and Node, resets it with PROTOCOL_ERROR; grpc-go says "malformed header").
 */
export const STREAM_ERROR_STATUS_MALFORMED = 'status-malformed';

export class StreamTracker {
  private readonly streams = new Map<number, StreamState>();
  /**
   * Ids of the streams in `streams`, ascending (client ids only grow), plus ids of streams that
   * have ended since: those are dropped when the list is twice the open count, so its length
   * stays within a constant of the open streams'.
   */
  private openIds: number[] = [];
  /** Highest client stream id seen: lower ids are closed (RFC 9113 §5.1.1). */
  private lastClientStream = 0;
  /** Streams above the server's GOAWAY last-stream-id will not be processed. */
  private goawayLastStream = Number.POSITIVE_INFINITY;
  /** Client-reset streams waiting for a response that crossed the reset, oldest first. */
  private readonly resetPending = new Map<number, StreamState>();
  private resetTimer: NodeJS.Timeout | undefined;
  private resetBatch = 0;

  constructor(private readonly ctx: ObserverContext) {}

  get openStreams(): number {
    return this.streams.size;
  }

  /**
   * Added to a stream's id to make its exchange's number (`<conn>.<number>`, DESIGN §5): 0, but
   * after an h2c upgrade made by a connection's Nth HTTP/1 request, N - 1, so exchange numbers go
   * on after the HTTP/1 ones: the upgraded request keeps N (it is stream 1), stream s is N - 1 + s.
   * Before, stream s was numbered s, and shared its id with HTTP/1 exchange s (the upgraded one
   * included, while both were open: a tap filtered on one was given the other). Upgraded on the
   * first request (the usual case), numbers are the stream ids.
   */
  private numberOffset = 0;

  /**
   * An HTTP/1 request upgraded to h2c (RFC 7540 §3.2) is stream 1, its request already complete;
   * its response comes as h2 frames. The exchange keeps its id; its protocol becomes h2.
   */
  adoptUpgraded(ex: Exchange): void {
    ex.protocol = 'h2';
    this.numberOffset = ex.stream - 1;
    this.lastClientStream = 1;
    this.streams.set(1, { ex, isRequestEnded: true, isResponseEnded: false, hasResponseHead: false });
    this.openIds.push(1);
  }

  /**
   * A header block from the client. Returns false when a new stream would exceed
   * `maxStreams` (the caller gives up).
   */
  requestHeaders(streamId: number, headers: HeaderList, isEndStream: boolean): boolean {
    const st = this.streams.get(streamId);
    if (st) {
      // A second block from the client is the request's trailers.
      if (!st.isRequestEnded) {
        st.ex.requestTrailers = headers;
        if (isEndStream) this.requestEnded(streamId, st);
      }
      return true;
    }
    if (streamId % 2 === 0 || streamId <= this.lastClientStream) return true; // closed or not ours
    if (this.streams.size >= this.ctx.limits.maxStreams) return false;
    this.lastClientStream = streamId;
    const isGrpc = isGrpcContentType(headers);
    const ex = createExchange(streamId + this.numberOffset, isGrpc ? 'grpc' : 'h2', this.ctx.now());
    ex.requestHeaders = headers;
    // Pseudo-headers should come first (RFC 9113 §8.3), but a peer that misorders them is
    // still observed: the whole list is scanned.
    for (const [name, value] of headers) {
      if (name.charCodeAt(0) !== 0x3a) continue;
      if (name === ':method') ex.method = value;
      else if (name === ':scheme') ex.scheme = value;
      else if (name === ':authority') ex.authority = value;
      else if (name === ':path') ex.path = value;
    }
    const created: StreamState = { ex, isRequestEnded: false, isResponseEnded: false, hasResponseHead: false };
    if (isGrpc) {
      created.grpcRequest = new GrpcMessageCounter();
      created.grpcResponse = new GrpcMessageCounter();
      for (const [name, value] of headers) {
        if (name === 'grpc-timeout') created.grpcTimeoutMs = parseGrpcTimeoutMs(value);
      }
    }
    this.streams.set(streamId, created);
    if (this.openIds.length >= 2 * this.streams.size + 32) this.openIds = this.openIds.filter((id) => this.streams.has(id));
    this.openIds.push(streamId);
    this.ctx.sink.requestHead(ex);
    if (streamId > this.goawayLastStream) {
      ex.unprocessed = 'goaway';
      this.finish(streamId, created, STREAM_ERROR_GOAWAY);
    }
    else if (isEndStream) this.requestEnded(streamId, created);
    return true;
  }

  /** A header block from the server: informational, final head, or trailers. */
  responseHeaders(streamId: number, headers: HeaderList, isEndStream: boolean): void {
    const st = this.streams.get(streamId) ?? this.resetPending.get(streamId);
    if (!st) return;
    const ex = st.ex;
    if (!st.hasResponseHead) {
      const status = statusOf(headers);
      if (status >= 100 && status < 200) return; // 1xx: informational, not reported
      st.hasResponseHead = true;
      if (status === 0) st.isStatusMalformed = true;
      ex.status = status;
      ex.responseHeaders = headers;
      ex.responseMs = this.ctx.now();
      if (st.grpcResponse && isEndStream) this.applyGrpcStatus(ex, headers, st); // trailers-only
      this.ctx.sink.responseHead(ex);
    } else {
      ex.trailers = headers;
      if (st.grpcResponse) this.applyGrpcStatus(ex, headers, st);
    }
    if (isEndStream) this.responseEnded(streamId, st);
  }

  /** DATA bytes (padding already removed) of one stream, in one direction. */
  data(isFromClient: boolean, streamId: number, buf: Buffer, start: number, end: number): void {
    const st = this.streams.get(streamId) ?? (isFromClient ? undefined : this.resetPending.get(streamId));
    if (!st) return;
    const ex = st.ex;
    if (isFromClient) {
      ex.requestBytes += end - start;
      if (ex.requestBody) appendBody(ex.requestBody, buf.subarray(start, end));
      st.grpcRequest?.feed(buf, start, end);
    } else {
      ex.responseBytes += end - start;
      if (ex.responseBody) appendBody(ex.responseBody, buf.subarray(start, end));
      st.grpcResponse?.feed(buf, start, end);
    }
  }

  /** A DATA frame carried END_STREAM. */
  dataEndStream(isFromClient: boolean, streamId: number): void {
    const st = this.streams.get(streamId) ?? (isFromClient ? undefined : this.resetPending.get(streamId));
    if (!st) return;
    if (isFromClient) this.requestEnded(streamId, st);
    else this.responseEnded(streamId, st);
  }

  /**
   * RST_STREAM with HTTP/2 error `code`: over, and an error unless the response was complete.
   * A client's reset waits a little for a response that crossed it (`RESET_GRACE_MS`).
   */
  reset(streamId: number, code: number, isFromClient: boolean): void {
    const pending = this.resetPending.get(streamId);
    if (pending !== undefined) {
      // The server reset a stream the client had reset: nothing more can cross.
      if (!isFromClient) this.finish(streamId, pending, STREAM_ERROR_RESET);
      return;
    }
    const st = this.streams.get(streamId);
    if (!st) return;
    st.resetCode = code;
    if (st.isResponseEnded) return this.finish(streamId, st, undefined);
    if (!isFromClient) {
      // Refused before any response: the server never processed it, and a client may send it
      // again (RFC 9113 §8.7). After the response HEADERS it is a response cut short.
      if (code === H2_REFUSED_STREAM && !st.hasResponseHead) st.ex.unprocessed = 'refused';
      return this.finish(streamId, st, STREAM_ERROR_RESET);
    }
    this.streams.delete(streamId);
    st.ex.endMs = this.ctx.now();
    if (this.resetPending.size >= MAX_RESET_PENDING) {
      const [oldestId, oldest] = this.resetPending.entries().next().value as [number, StreamState];
      this.finish(oldestId, oldest, STREAM_ERROR_RESET);
    }
    st.resetBatch = this.resetBatch;
    this.resetPending.set(streamId, st);
    this.armResetTimer();
  }

  /**
   * The server's GOAWAY: client streams above `lastStreamId` were never processed (RFC 9113 §6.8),
   * and are marked so unless a response HEADERS came on one (a server that says otherwise: then
   * a response cut short).
   */
  goaway(lastStreamId: number): void {
    // Streams above the lowest last-stream-id so far ended at that GOAWAY or when they opened:
    // a GOAWAY that does not lower it has nothing to end. Those it ends are the tail of
    // `openIds`; walking every open stream instead made each 17-byte GOAWAY of a server that
    // repeats them cost 1,000 steps (maxStreams open): 61 M steps per MiB of GOAWAYs.
    if (lastStreamId >= this.goawayLastStream) return;
    this.goawayLastStream = lastStreamId;
    const ids = this.openIds;
    let cut = ids.length;
    while (cut > 0 && ids[cut - 1]! > lastStreamId) cut--;
    // In id order, as they opened (what an in-order walk of the streams ended).
    for (const id of ids.splice(cut)) {
      const st = this.streams.get(id);
      if (!st) continue;
      if (!st.hasResponseHead) st.ex.unprocessed = 'goaway';
      this.finish(id, st, STREAM_ERROR_GOAWAY);
    }
  }

  /** The server will send nothing more: streams with a complete response end cleanly. */
  serverEnded(): void {
    this.flushResets(Number.POSITIVE_INFINITY);
    for (const [id, st] of this.streams) {
      this.finish(id, st, st.isResponseEnded ? undefined : STREAM_ERROR_UPSTREAM_CLOSED);
    }
  }

  /** Ends every open stream with `error` (connection closed, observer gave up). */
  endAll(error: string): void {
    this.flushResets(Number.POSITIVE_INFINITY);
    for (const [id, st] of this.streams) this.finish(id, st, st.isResponseEnded ? undefined : error);
  }

  private armResetTimer(): void {
    if (this.resetTimer !== undefined) return;
    const batch = this.resetBatch++;
    this.resetTimer = setTimeout(() => {
      this.resetTimer = undefined;
      try {
        this.flushResets(batch);
      } catch {
        // A sink that throws from a timer must not escape into the event loop; observation goes on.
      }
      if (this.resetPending.size > 0) this.armResetTimer();
    }, RESET_GRACE_MS);
    this.resetTimer.unref();
  }

  /** Ends client-reset streams of grace batches up to `batch` with the reset. */
  private flushResets(batch: number): void {
    if (batch === Number.POSITIVE_INFINITY && this.resetTimer !== undefined) {
      clearTimeout(this.resetTimer);
      this.resetTimer = undefined;
    }
    for (const [id, st] of this.resetPending) {
      if ((st.resetBatch ?? 0) > batch) break;
      this.finish(id, st, STREAM_ERROR_RESET);
    }
  }

  private applyGrpcStatus(ex: Exchange, headers: HeaderList, st: StreamState): void {
    const { status, message, isMalformed } = readGrpcStatus(headers);
    if (status !== undefined) ex.grpcStatus = status;
    if (message !== undefined) ex.grpcMessage = message;
    if (isMalformed) st.isGrpcStatusMalformed = true;
  }

  /**
   * A gRPC exchange over without a usable grpc-status: the status its client reports instead,
   * and an `error` saying why (see grpc-status.ts). An observer that gave up knows nothing.
   */
  private deriveGrpcStatus(st: StreamState, error: string | undefined): void {
    const ex = st.ex;
    if (error === undefined) {
      ex.grpcStatus = st.isGrpcStatusMalformed ? GRPC_UNKNOWN : grpcStatusOfMissing(ex.status);
      ex.error = st.isGrpcStatusMalformed ? GRPC_ERROR_STATUS_MALFORMED : GRPC_ERROR_STATUS_MISSING;
    } else if (error === STREAM_ERROR_RESET && st.resetCode !== undefined) {
      ex.grpcStatus = grpcStatusOfReset(st.resetCode, ex.endMs - ex.startMs, st.grpcTimeoutMs);
    } else if (error !== STREAM_ERROR_GAVE_UP) {
      ex.grpcStatus = GRPC_UNAVAILABLE; // the connection went away first
    }
  }

  private requestEnded(streamId: number, st: StreamState): void {
    st.isRequestEnded = true;
    if (st.isResponseEnded) this.finish(streamId, st, undefined);
  }

  private responseEnded(streamId: number, st: StreamState): void {
    st.isResponseEnded = true;
    // A client-reset stream whose response crossed the reset: it passed through complete.
    if (st.isRequestEnded || st.resetBatch !== undefined) this.finish(streamId, st, undefined);
  }

  private finish(streamId: number, st: StreamState, error: string | undefined): void {
    const wasPending = this.resetPending.delete(streamId);
    if (!wasPending) this.streams.delete(streamId);
    const ex = st.ex;
    if (error !== undefined) ex.error = error;
    if (st.grpcRequest && st.grpcResponse) {
      ex.requestMessages = st.grpcRequest.messages;
      ex.requestCompressed = st.grpcRequest.isCompressed;
      ex.responseMessages = st.grpcResponse.messages;
      ex.responseCompressed = st.grpcResponse.isCompressed;
    }
    // A client-reset stream ended when it was reset, unless its response came through after.
    if (!(wasPending && error !== undefined)) ex.endMs = this.ctx.now();
    if (st.isStatusMalformed) {
      // Whatever came after (a reset, trailers): its client failed the stream at that head, gRPC
      // clients with INTERNAL (grpc-js: RST_STREAM PROTOCOL_ERROR; grpc-go: malformed header).
      ex.error = STREAM_ERROR_STATUS_MALFORMED;
      if (st.grpcResponse) ex.grpcStatus = GRPC_INTERNAL;
    }
    if (st.grpcResponse && ex.grpcStatus === undefined) this.deriveGrpcStatus(st, error);
    this.ctx.sink.end(ex);
  }
}

/** `:status` as a number; 0 when missing or not three digits. */
function statusOf(headers: HeaderList): number {
  for (const [name, value] of headers) {
    if (name === ':status') return /^\d{3}$/.test(value) ? Number(value) : 0;
  }
  return 0;
}
