/**
 * Success or failure of one exchange: the one rule behind the series (response_total,
 * route_response_total: `meshtap stat`, edges, routes, the dashboard's workloads) and the readers
 * of events (`meshtap top`, the dashboard's tap table), so the figures agree wherever they are read.
 * Linkerd's classification (DESIGN §6: no response, 5xx, a failing gRPC code), plus an exchange
 * whose response was cut short (docs/decisions.md, session 12 exact12; session 13 small13).
 *
 * This file imports nothing at run time: the dashboard page bundles it for the browser, where the
 * rest of tap-protocol (Node's crypto, gRPC) cannot go.
 */
import type { Protocol, TapEvent } from './events.js';

/** gRPC codes that count as failure (DESIGN §6): UNKNOWN, DEADLINE_EXCEEDED, PERMISSION_DENIED, INTERNAL, UNAVAILABLE, DATA_LOSS. */
export const GRPC_FAILURE_CODES: ReadonlySet<number> = new Set([2, 4, 7, 13, 14, 15]);

/**
 * Whether a response is a failure by what it said: none (`status` 0 or absent), a 5xx, or a
 * failing gRPC code.
 */
export function isFailedResponse(status: number | undefined, grpcStatus: number | undefined): boolean {
  return !status || status >= 500 || (grpcStatus !== undefined && GRPC_FAILURE_CODES.has(grpcStatus));
}

/**
 * Whether an exchange that ended with an error failed for it: the error cut the response short
 * (a reset, a lost connection, a GOAWAY), or it is a gRPC call (any error there means the call
 * did not end with its server's own status). An HTTP/1 error after the response had come whole
 * (`isResponseComplete`: the client cut its request body after an early 413) tells of the
 * request alone: the status decides, as for an HTTP/2 stream whose response ended.
 */
export function isFailedByError(hasError: boolean, isResponseComplete: boolean, protocol: Protocol): boolean {
  return hasError && (!isResponseComplete || protocol === 'grpc');
}

/**
 * The `error` of an exchange meshtap stopped following before it ended: the observer gave up on
 * its connection (its own bounds: a head over 64 KiB, 1,000 streams, 1,000 pipelined requests;
 * or bytes it could not parse, which it forwards unchanged). Its outcome was not seen.
 */
export const OBSERVER_GAVE_UP = 'observer-gave-up';

/**
 * Whether an exchange's outcome went unseen: it ended because the observer gave up on its
 * connection before its response had come whole. The client may well have got its response;
 * meshtap does not know, so the series count its request and no response (docs/decisions.md,
 * session 14). An HTTP/1 response that had come whole is classified by its status as usual, and so
 * is a 5xx whose head was seen: a failure whether its body arrived or was cut (review15; a 503 on
 * such a connection read as no response at all).
 */
export function isUnobserved(error: string | undefined, isResponseComplete: boolean, status: number | undefined): boolean {
  return error === OBSERVER_GAVE_UP && !isResponseComplete && !(status !== undefined && status >= 500);
}

/** The classification of an `end` event, as the series counted its exchange. */
export function isFailedEnd(e: Pick<TapEvent, 'status' | 'grpcStatus' | 'error' | 'responseComplete' | 'protocol'>): boolean {
  return isFailedByError(e.error !== undefined, e.responseComplete === true, e.protocol) || isFailedResponse(e.status, e.grpcStatus);
}

/**
 * How `meshtap top` and the dashboard's tap table count an `end` event: as the series counted it;
 * `unprocessed` (a stream its server never processed) or `unobserved` (its outcome went unseen:
 * `isUnobserved`) are outside response_total: neither success nor failure.
 */
export function endOutcome(e: Pick<TapEvent, 'status' | 'grpcStatus' | 'error' | 'responseComplete' | 'protocol' | 'unprocessed'>): 'success' | 'failure' | 'unprocessed' | 'unobserved' {
  if (e.unprocessed !== undefined) return 'unprocessed';
  if (isUnobserved(e.error, e.responseComplete === true, e.status)) return 'unobserved';
  return isFailedEnd(e) ? 'failure' : 'success';
}

/**
 * How an event reads at a glance: one rule for `tap --color` and the dashboard's table and badge
 * (review15: the CLI painted every gRPC code but OK red, NOT_FOUND included, which the dashboard
 * showed green and the series count a success). `bad` exactly where the series count a failure
 * (a response head by isFailedResponse, an `end` by endOutcome), so red lines add up to `stat`'s
 * failures; `warn` for what counts as success yet did not succeed (a 4xx, a gRPC code other than OK
 * that is not a failure: NOT_FOUND, INVALID_ARGUMENT, CANCELLED…) and for what is not counted (never
 * processed, outcome unseen); `pending` before a response head; `good` else.
 */
export function outcomeTone(e: Pick<TapEvent, 'kind' | 'status' | 'grpcStatus' | 'error' | 'responseComplete' | 'protocol' | 'unprocessed'>): 'good' | 'warn' | 'bad' | 'pending' {
  let outcome: ReturnType<typeof endOutcome>;
  if (e.kind === 'end') outcome = endOutcome(e);
  else if (e.status === undefined) return 'pending';
  else outcome = isFailedResponse(e.status, e.grpcStatus) ? 'failure' : 'success';
  if (outcome === 'failure') return 'bad';
  if (outcome !== 'success') return 'warn';
  return (e.status !== undefined && e.status >= 400) || (e.grpcStatus !== undefined && e.grpcStatus !== 0) ? 'warn' : 'good';
}
