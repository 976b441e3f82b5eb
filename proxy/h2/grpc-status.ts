/**
 * The gRPC status a client would report when the server's own `grpc-status` is missing or
 * unusable. A tap that shows "no status" while every client logged INTERNAL or CANCELLED
 * misleads, and counting such calls as successes (as a missing status once was) hides outages.
 *
 * Rules, from gRPC's PROTOCOL-HTTP2.md and http-grpc-status-mapping.md, as grpc-go and
 * grpc-js apply them:
 * - no `grpc-status` at the end of a 200 response: INTERNAL (grpc-go: "server closed the
 *   stream without sending trailers"; grpc-js: "Call ended without gRPC status");
 * - no `grpc-status` on a non-200 response: from the HTTP status (404 UNIMPLEMENTED, 503
 *   UNAVAILABLE, …);
 * - a `grpc-status` that is not `1*DIGIT` (`abc`, ` 13 `, `-1`, `0x2`): UNKNOWN (gRPC core
 *   and grpc-js for non-numbers; clients disagree on the lenient spellings, so none is guessed);
 * - RST_STREAM before the status: by its error code (CANCEL → CANCELLED, or DEADLINE_EXCEEDED
 *   when it came as the request's `grpc-timeout` ran out: the client's deadline; REFUSED_STREAM →
 *   UNAVAILABLE, ENHANCE_YOUR_CALM → RESOURCE_EXHAUSTED, INADEQUATE_SECURITY →
 *   PERMISSION_DENIED, anything else INTERNAL);
 * - the connection went away first (closed, GOAWAY): UNAVAILABLE.
 */

/** gRPC status codes used here (grpc/status.proto). */
export const GRPC_CANCELLED = 1;
export const GRPC_UNKNOWN = 2;
export const GRPC_DEADLINE_EXCEEDED = 4;
export const GRPC_RESOURCE_EXHAUSTED = 8;
export const GRPC_PERMISSION_DENIED = 7;
export const GRPC_UNIMPLEMENTED = 12;
export const GRPC_INTERNAL = 13;
export const GRPC_UNAVAILABLE = 14;
export const GRPC_UNAUTHENTICATED = 16;

/** `error` values of gRPC exchanges whose status was not sent in a usable form. */
export const GRPC_ERROR_STATUS_MISSING = 'grpc-status-missing';
export const GRPC_ERROR_STATUS_MALFORMED = 'grpc-status-malformed';

/** HTTP/2 error codes (RFC 9113 §7) that map to something other than INTERNAL. */
/** Also what marks a stream the server never processed (stream-tracker.ts, RFC 9113 §8.7). */
export const H2_REFUSED_STREAM = 0x7;
const H2_CANCEL = 0x8;
const H2_ENHANCE_YOUR_CALM = 0xb;
const H2_INADEQUATE_SECURITY = 0xc;

/**
 * How much sooner than its grpc-timeout a client's CANCEL may be seen and still be its deadline:
 * max(50 ms, 5 % up to 1 s). The client's clock starts when it writes grpc-timeout, ours when we
 * read the request; in between, and again between its timer and our read of the reset, lie its and
 * our scheduling (a loaded client or sidecar is late by tens of ms: measured -23 ms at 300 ms on a
 * loaded machine, so 2 ms / 2 % called such deadlines CANCELLED). The 5 % leaves room for a client
 * that rounds the timeout up to a coarser unit; the 1 s cap keeps a long call's own cancel its own
 * (uncapped, a CANCEL 3 min before a 1 h timeout read DEADLINE_EXCEEDED; scheduling is not
 * proportional to the timeout). Equal in the native engine (grpc-status.cc).
 */
export function deadlineToleranceMs(timeoutMs: number): number {
  return Math.max(50, Math.min(timeoutMs * 0.05, 1000));
}

/**
 * The status a client reports for a stream reset with HTTP/2 error `code`, `elapsedMs` after
 * the request was seen, when the request asked for `timeoutMs` (grpc-timeout) or undefined.
 * A cancel within `deadlineToleranceMs` of the timeout, or after it, is the deadline.
 */
export function grpcStatusOfReset(code: number, elapsedMs = 0, timeoutMs?: number): number {
  switch (code) {
    case H2_CANCEL:
      if (timeoutMs !== undefined && elapsedMs + deadlineToleranceMs(timeoutMs) >= timeoutMs) return GRPC_DEADLINE_EXCEEDED;
      return GRPC_CANCELLED;
    case H2_REFUSED_STREAM:
      return GRPC_UNAVAILABLE;
    case H2_ENHANCE_YOUR_CALM:
      return GRPC_RESOURCE_EXHAUSTED;
    case H2_INADEQUATE_SECURITY:
      return GRPC_PERMISSION_DENIED;
    default:
      return GRPC_INTERNAL;
  }
}

/** The status a client reports for a response that ended without `grpc-status`. */
export function grpcStatusOfMissing(httpStatus: number): number {
  switch (httpStatus) {
    case 200:
      return GRPC_INTERNAL;
    case 400:
      return GRPC_INTERNAL;
    case 401:
      return GRPC_UNAUTHENTICATED;
    case 403:
      return GRPC_PERMISSION_DENIED;
    case 404:
      return GRPC_UNIMPLEMENTED;
    case 429:
    case 502:
    case 503:
    case 504:
      return GRPC_UNAVAILABLE;
    default:
      return GRPC_UNKNOWN;
  }
}

/** grpc-timeout units (PROTOCOL-HTTP2.md: `TimeoutValue TimeoutUnit`, at most 8 digits) in ms. */
export const GRPC_TIMEOUT_UNIT_MS: Readonly<Record<string, number>> = { H: 3_600_000, M: 60_000, S: 1000, m: 1, u: 0.001, n: 0.000001 };
const GRPC_TIMEOUT_VALUE = /^(\d{1,8})([HMSmun])$/;

/** A `grpc-timeout` value in ms, or undefined when it is not well-formed. */
export function parseGrpcTimeoutMs(value: string): number | undefined {
  const m = GRPC_TIMEOUT_VALUE.exec(value);
  return m === null ? undefined : Number(m[1]) * GRPC_TIMEOUT_UNIT_MS[m[2]!]!;
}

const GRPC_STATUS_VALUE = /^\d{1,10}$/;

/** A `grpc-status` value: its code, or undefined when it is not `1*DIGIT`. */
export function parseGrpcStatus(value: string): number | undefined {
  return GRPC_STATUS_VALUE.test(value) ? Number(value) : undefined;
}
