/**
 * The exchange side of the HTTP/2 observer: turns decoded header blocks and DATA of
 * client-initiated streams into `Exchange` records, from request HEADERS to both
 * END_STREAMs (or a reset), and reports them to the sink. Streams are forgotten as soon as
 * they end, so memory stays bounded by the number of open streams.
 */
import type { HeaderList } from '../events.js';
import type { Exchange, ObserverContext } from '../observe.js';
import { appendBody, createExchange } from '../observe.js';
import { GrpcMessageCounter, isGrpcContentType, readGrpcStatus } from './grpc.js';

interface StreamState {
  ex: Exchange;
  isRequestEnded: boolean;
  isResponseEnded: boolean;
  hasResponseHead: boolean;
  grpcRequest?: GrpcMessageCounter;
  grpcResponse?: GrpcMessageCounter;
}

/** Error strings set on exchanges that did not complete. */
export const STREAM_ERROR_RESET = 'reset';
export const STREAM_ERROR_GOAWAY = 'goaway';
export const STREAM_ERROR_UPSTREAM_CLOSED = 'upstream-closed';

export class StreamTracker {
  private readonly streams = new Map<number, StreamState>();
  /** Highest client stream id seen: lower ids are closed (RFC 9113 §5.1.1). */
  private lastClientStream = 0;
  /** Streams above the server's GOAWAY last-stream-id will not be processed. */
  private goawayLastStream = Number.POSITIVE_INFINITY;

  constructor(private readonly ctx: ObserverContext) {}

  get openStreams(): number {
    return this.streams.size;
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
    const ex = createExchange(streamId, isGrpc ? 'grpc' : 'h2', this.ctx.now());
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
    }
    this.streams.set(streamId, created);
    this.ctx.sink.requestHead(ex);
    if (streamId > this.goawayLastStream) this.finish(streamId, created, STREAM_ERROR_GOAWAY);
    else if (isEndStream) this.requestEnded(streamId, created);
    return true;
  }

  /** A header block from the server: informational, final head, or trailers. */
  responseHeaders(streamId: number, headers: HeaderList, isEndStream: boolean): void {
    const st = this.streams.get(streamId);
    if (!st) return;
    const ex = st.ex;
    if (!st.hasResponseHead) {
      const status = statusOf(headers);
      if (status >= 100 && status < 200) return; // 1xx: informational, not reported
      st.hasResponseHead = true;
      ex.status = status;
      ex.responseHeaders = headers;
      ex.responseMs = this.ctx.now();
      if (st.grpcResponse && isEndStream) this.applyGrpcStatus(ex, headers); // trailers-only
      this.ctx.sink.responseHead(ex);
    } else {
      ex.trailers = headers;
      if (st.grpcResponse) this.applyGrpcStatus(ex, headers);
    }
    if (isEndStream) this.responseEnded(streamId, st);
  }

  /** DATA bytes (padding already removed) of one stream, in one direction. */
  data(isFromClient: boolean, streamId: number, buf: Buffer, start: number, end: number): void {
    const st = this.streams.get(streamId);
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
    const st = this.streams.get(streamId);
    if (!st) return;
    if (isFromClient) this.requestEnded(streamId, st);
    else this.responseEnded(streamId, st);
  }

  /** RST_STREAM from either side: over now; an error unless the response was complete. */
  reset(streamId: number): void {
    const st = this.streams.get(streamId);
    if (st) this.finish(streamId, st, st.isResponseEnded ? undefined : STREAM_ERROR_RESET);
  }

  /** The server's GOAWAY: client streams above `lastStreamId` were never processed. */
  goaway(lastStreamId: number): void {
    if (lastStreamId < this.goawayLastStream) this.goawayLastStream = lastStreamId;
    for (const [id, st] of this.streams) {
      if (id > lastStreamId) this.finish(id, st, STREAM_ERROR_GOAWAY);
    }
  }

  /** The server will send nothing more: streams with a complete response end cleanly. */
  serverEnded(): void {
    for (const [id, st] of this.streams) {
      this.finish(id, st, st.isResponseEnded ? undefined : STREAM_ERROR_UPSTREAM_CLOSED);
    }
  }

  /** Ends every open stream with `error` (connection closed, observer gave up). */
  endAll(error: string): void {
    for (const [id, st] of this.streams) this.finish(id, st, st.isResponseEnded ? undefined : error);
  }

  private applyGrpcStatus(ex: Exchange, headers: HeaderList): void {
    const { status, message } = readGrpcStatus(headers);
    if (status !== undefined) ex.grpcStatus = status;
    if (message !== undefined) ex.grpcMessage = message;
  }

  private requestEnded(streamId: number, st: StreamState): void {
    st.isRequestEnded = true;
    if (st.isResponseEnded) this.finish(streamId, st, undefined);
  }

  private responseEnded(streamId: number, st: StreamState): void {
    st.isResponseEnded = true;
    if (st.isRequestEnded) this.finish(streamId, st, undefined);
  }

  private finish(streamId: number, st: StreamState, error: string | undefined): void {
    this.streams.delete(streamId);
    const ex = st.ex;
    if (error !== undefined) ex.error = error;
    if (st.grpcRequest && st.grpcResponse) {
      ex.requestMessages = st.grpcRequest.messages;
      ex.requestCompressed = st.grpcRequest.isCompressed;
      ex.responseMessages = st.grpcResponse.messages;
      ex.responseCompressed = st.grpcResponse.isCompressed;
    }
    ex.endMs = this.ctx.now();
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
