/**
 * Tap filters (proxy/tap-types.ts) evaluated against recorded exchanges, so `replay` and
 * `convert` select with the very filters `tap` and `record` use: AND within a match, OR
 * across matches, an empty list matches everything.
 */
import type { TapFilter } from '../../proxy/tap-types.js';
import type { RecordedExchange } from './format.js';

const GRPC_CODES = [
  'OK', 'CANCELLED', 'UNKNOWN', 'INVALID_ARGUMENT', 'DEADLINE_EXCEEDED', 'NOT_FOUND', 'ALREADY_EXISTS',
  'PERMISSION_DENIED', 'RESOURCE_EXHAUSTED', 'FAILED_PRECONDITION', 'ABORTED', 'OUT_OF_RANGE',
  'UNIMPLEMENTED', 'INTERNAL', 'UNAVAILABLE', 'DATA_LOSS', 'UNAUTHENTICATED',
];

/** gRPC status name or number -> number (undefined when unknown). */
export function grpcCodeOf(text: string): number | undefined {
  if (/^\d+$/.test(text)) return Number(text);
  const i = GRPC_CODES.indexOf(text.toUpperCase().replace(/-/g, '_'));
  return i === -1 ? undefined : i;
}

function statusMatches(status: number | undefined, want: string): boolean {
  if (status === undefined) return false;
  const cls = /^([1-5])xx$/i.exec(want);
  if (cls) return Math.floor(status / 100) === Number(cls[1]);
  return String(status) === want;
}

function testOne(ex: RecordedExchange, f: TapFilter): boolean {
  switch (f.field) {
    case 'method':
      return ex.method.toUpperCase() === f.value.toUpperCase();
    case 'scheme':
      return ex.scheme === f.value;
    case 'authority':
      return ex.authority === f.value;
    case 'pathPrefix':
      return ex.path.startsWith(f.value);
    case 'pathRegex':
      return new RegExp(f.value).test(ex.path);
    case 'src':
      return ex.src === f.value || ex.src.startsWith(f.value + ':');
    case 'dst':
      return ex.dst === f.value || ex.dst.startsWith(f.value + ':');
    case 'header': {
      const name = f.name.toLowerCase();
      return (ex.requestHeaders ?? []).some(([n, v]) => n.toLowerCase() === name && (f.value === '' || v === f.value));
    }
    case 'status':
      return statusMatches(ex.status, f.value);
    case 'grpcStatus':
      return ex.grpcStatus !== undefined && ex.grpcStatus === grpcCodeOf(f.value);
    case 'minLatencyMs':
      return (ex.latencyMs ?? ex.durationMs ?? 0) >= f.value;
    case 'dstWorkload':
      return ex.dstWorkload === f.value;
    case 'dstNamespace':
      return ex.dstNamespace === f.value;
  }
}

/** True when the exchange passes the filters (OR of ANDs; negated conditions invert). */
export function matchesFilters(ex: RecordedExchange, matches: readonly (readonly TapFilter[])[]): boolean {
  if (matches.length === 0) return true;
  return matches.some((all) => all.every((f) => testOne(ex, f) !== (f.negate ?? false)));
}
