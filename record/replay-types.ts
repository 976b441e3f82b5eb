/**
 * What replay sends and what it gets back, independent of the client library, so the
 * diff and the report see HTTP/1, HTTP/2 and gRPC the same way.
 */
import type { HeaderList, Protocol } from '../tap-protocol/index.js';

/** A request ready to send (headers already filtered and rewritten). */
export interface ReplayRequest {
  protocol: Protocol;
  method: string;
  /** Path with query. */
  path: string;
  /** `:authority` / Host to send. */
  authority: string;
  headers: HeaderList;
  /** HTTP body. */
  body: Buffer;
  trailers: HeaderList;
  /** gRPC messages (payloads as sent on the wire, with their compressed flag) and send offsets. */
  messages: Array<{ data: Buffer; compressed: boolean; atMs?: number }>;
  /** Recorded time to wait for the whole exchange, ms (used for the per-call timeout). */
  timeoutMs: number;
}

/** What the target answered. */
export interface ReplayResponse {
  status?: number;
  headers: HeaderList;
  trailers: HeaderList;
  body: Buffer;
  /** True when the body was longer than the comparison limit and was cut. */
  bodyTruncated: boolean;
  /** gRPC: decoded (decompressed) message payloads. */
  messages: Buffer[];
  grpcStatus?: number;
  grpcMessage?: string;
  /** Request start -> response headers, ms. */
  latencyMs: number;
  /** Request start -> end of response, ms. */
  durationMs: number;
}

/** Longest response body kept for comparison. */
export const MAX_COMPARE_BODY_BYTES = 16 * 1024 * 1024;
