/** Small formatting helpers shared by the views. */
import type { HeaderList, TapEvent } from '../../tap-protocol/index.js';
// The one file of tap-protocol the page bundles (the index pulls in Node modules): it imports nothing.
import { endOutcome, isFailedResponse, outcomeTone } from '../../tap-protocol/outcome.js';

export { outcomeTone };

export const fmtMs = (v: number | undefined): string =>
  v === undefined ? '–' : v < 1 ? `${Math.round(v * 1000)}µs` : v < 10 ? `${v.toFixed(2)}ms` : v < 1000 ? `${v.toFixed(1)}ms` : `${(v / 1000).toFixed(2)}s`;

export const fmtBytes = (v: number | undefined): string =>
  v === undefined ? '–' : v < 1024 ? `${v} B` : v < 1024 * 1024 ? `${(v / 1024).toFixed(1)} KiB` : `${(v / 1024 / 1024).toFixed(1)} MiB`;

export const fmtPct = (v: number | undefined): string => (v === undefined ? '–' : `${(v * 100).toFixed(v >= 0.9995 || v === 0 ? 0 : 1)}%`);

export const fmtRps = (v: number | undefined): string => (v === undefined ? '–' : v >= 10 ? v.toFixed(0) : v.toFixed(1));

/** `12:03:04.123` in local time. */
export function fmtTime(iso: string): string {
  const d = new Date(iso);
  const p = (n: number, w = 2) => String(n).padStart(w, '0');
  return `${p(d.getHours())}:${p(d.getMinutes())}:${p(d.getSeconds())}.${p(d.getMilliseconds(), 3)}`;
}

/** gRPC status names (grpc/status.h). */
export const GRPC_NAMES = ['OK', 'CANCELLED', 'UNKNOWN', 'INVALID_ARGUMENT', 'DEADLINE_EXCEEDED', 'NOT_FOUND', 'ALREADY_EXISTS', 'PERMISSION_DENIED',
  'RESOURCE_EXHAUSTED', 'FAILED_PRECONDITION', 'ABORTED', 'OUT_OF_RANGE', 'UNIMPLEMENTED', 'INTERNAL', 'UNAVAILABLE', 'DATA_LOSS', 'UNAUTHENTICATED'];

/**
 * success | failure | pending (no response yet) | uncounted (not a response: a stream its server
 * never processed, or an exchange whose outcome meshtap did not see), as the series count them:
 * the rule is tap-protocol's (outcome.ts), which `meshtap top` and the metrics share.
 */
export function outcomeOf(e: TapEvent): 'ok' | 'fail' | 'pending' | 'uncounted' {
  if (e.kind !== 'end') return e.status === undefined ? 'pending' : isFailedResponse(e.status, e.grpcStatus) ? 'fail' : 'ok';
  const o = endOutcome(e);
  return o === 'success' ? 'ok' : o === 'failure' ? 'fail' : 'uncounted';
}

/** An `end` whose outcome meshtap did not see: its observer gave up first (outcome.ts isUnobserved). */
export const isOutcomeUnseen = (e: TapEvent): boolean => e.kind === 'end' && endOutcome(e) === 'unobserved';

/** The path without its query string (what `--path` filters on as a prefix). */
export const pathOnly = (path: string): string => path.split('?')[0] || '/';

/** Short workload name: `deploy/web` → `web`. */
export const shortWorkload = (w: string | undefined): string => (w ? w.replace(/^[a-z]+\//, '') : '');

export const REDACTED = '[redacted]';

export function headerValue(h: HeaderList | undefined, name: string): string | undefined {
  return h?.find(([n]) => n.toLowerCase() === name)?.[1];
}

/** Success-rate colour class: green at ≥ 99 %, amber at ≥ 95 %, red below. */
export function successClass(rate: number | undefined): string {
  if (rate === undefined) return 'sr-none';
  return rate >= 0.99 ? 'sr-good' : rate >= 0.95 ? 'sr-warn' : 'sr-bad';
}
