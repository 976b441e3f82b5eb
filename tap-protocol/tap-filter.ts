/**
 * Tap matching: AND within a match, OR across matches (an empty list matches everything),
 * `negate` per condition. Request-side conditions decide at `req`; status and latency at
 * `rsp`; gRPC status only at `end` — a subscriber's events are held back until its match
 * can be decided (see tap-hub.ts).
 */
import { createRequire } from 'node:module';
import type { RE2JS as RE2JSClass } from 're2js';
import { MeshtapError, type Result } from '../common/index.js';
import type { TapEvent } from './events.js';
import type { TapFilter } from './tap-types.js';

export type DecisionPoint = 'req' | 'rsp' | 'end';

export const GRPC_STATUS_NAMES = [
  'OK', 'CANCELLED', 'UNKNOWN', 'INVALID_ARGUMENT', 'DEADLINE_EXCEEDED', 'NOT_FOUND', 'ALREADY_EXISTS',
  'PERMISSION_DENIED', 'RESOURCE_EXHAUSTED', 'FAILED_PRECONDITION', 'ABORTED', 'OUT_OF_RANGE',
  'UNIMPLEMENTED', 'INTERNAL', 'UNAVAILABLE', 'DATA_LOSS', 'UNAUTHENTICATED',
] as const;

/** `14`, `UNAVAILABLE`, `Unavailable` → 14; undefined if unknown. */
export function parseGrpcStatus(value: string): number | undefined {
  if (/^\d+$/.test(value)) return Number(value) <= 16 ? Number(value) : undefined;
  const i = GRPC_STATUS_NAMES.indexOf(value.toUpperCase().replace(/[- ]/g, '_') as (typeof GRPC_STATUS_NAMES)[number]);
  if (i >= 0) return i;
  // CamelCase names as Linkerd prints them (DeadlineExceeded)
  const snake = value.replace(/([a-z])([A-Z])/g, '$1_$2').toUpperCase();
  const j = GRPC_STATUS_NAMES.indexOf(snake as (typeof GRPC_STATUS_NAMES)[number]);
  return j >= 0 ? j : undefined;
}

const MAX_REGEX_LENGTH = 256;
/** Most path regexes in one tap request: compiling one of MAX_REGEX_LENGTH costs up to ~2 ms of the sidecar's thread. */
export const MAX_PATH_REGEXES = 16;

/**
 * re2js, loaded (its CommonJS build, synchronously) at the first path regex: its 263 KB of source
 * cost every sidecar ~1.2 MB of RSS at start-up, and most sidecars never see a regex filter.
 */
let re2js: typeof RE2JSClass | undefined;
function regexEngine(): typeof RE2JSClass {
  re2js ??= (createRequire(import.meta.url)('re2js') as { RE2JS: typeof RE2JSClass }).RE2JS;
  return re2js;
}

type Predicate = (e: TapEvent) => boolean;

/**
 * Compiles a path regex for RE2 (linear time in the path's length, whatever the pattern).
 * A tapper's regex runs on the sidecar's event loop, which is the traffic's: a backtracking
 * engine let `(a|a)+$` freeze it on a long path. The trade-off: RE2 has no backreferences or
 * lookaround; such a pattern is refused with a message saying so.
 */
export function compilePathRegex(value: string): Result<{ test(path: string): boolean }> {
  if (value.length > MAX_REGEX_LENGTH) return { ok: false, error: `path regex is longer than ${MAX_REGEX_LENGTH} characters; simplify it` };
  try {
    const RE2JS = regexEngine();
    return { ok: true, value: RE2JS.compile(RE2JS.translateRegExp(value)) };
  } catch (err) {
    return { ok: false, error: `path regex ${JSON.stringify(value)}: ${(err as Error).message} (RE2 syntax: no backreferences or lookaround)` };
  }
}

function statusPredicate(value: string): Result<(s: number) => boolean> {
  if (/^[1-5]xx$/i.test(value)) {
    const c = Number(value[0]);
    return { ok: true, value: (s) => Math.floor(s / 100) === c };
  }
  if (/^\d{3}$/.test(value)) return { ok: true, value: (s) => s === Number(value) };
  return { ok: false, error: `status '${value}' is not a code (404) or a class (5xx)` };
}

function addrMatches(addr: string, want: string): boolean {
  if (addr === want) return true;
  // `10.0.0.1` matches `10.0.0.1:8080`; `[::1]` or `::1` matches `[::1]:80`
  const host = addr.startsWith('[') ? addr.slice(1, addr.indexOf(']')) : addr.slice(0, addr.lastIndexOf(':'));
  return host === want || `[${host}]` === want;
}

function compileOne(f: TapFilter): Result<{ test: Predicate; point: DecisionPoint }> {
  let test: Predicate;
  let point: DecisionPoint = 'req';
  switch (f.field) {
    case 'method': {
      const v = f.value.toUpperCase();
      test = (e) => e.method.toUpperCase() === v;
      break;
    }
    case 'scheme':
      test = (e) => e.scheme === f.value;
      break;
    case 'authority':
      test = (e) => e.authority === f.value;
      break;
    case 'pathPrefix':
      test = (e) => e.path.startsWith(f.value);
      break;
    case 'pathRegex': {
      const re = compilePathRegex(f.value);
      if (!re.ok) return re;
      const compiled = re.value;
      test = (e) => compiled.test(e.path);
      break;
    }
    case 'src':
      test = (e) => addrMatches(e.src, f.value);
      break;
    case 'dst':
      test = (e) => addrMatches(e.dst, f.value);
      break;
    case 'header': {
      const name = f.name.toLowerCase();
      test = (e) => (e.requestHeaders ?? []).some(([k, v]) => k.toLowerCase() === name && v === f.value);
      break;
    }
    case 'status': {
      const p = statusPredicate(f.value);
      if (!p.ok) return p;
      test = (e) => e.status !== undefined && p.value(e.status);
      point = 'rsp';
      break;
    }
    case 'grpcStatus': {
      const code = parseGrpcStatus(f.value);
      if (code === undefined) return { ok: false, error: `grpc status '${f.value}' is not a code (0-16) or a name (UNAVAILABLE)` };
      test = (e) => e.grpcStatus === code;
      point = 'end';
      break;
    }
    case 'minLatencyMs':
      test = (e) => e.latencyMs !== undefined && e.latencyMs >= f.value;
      point = 'rsp';
      break;
    case 'dstWorkload':
      test = (e) => e.dstWorkload === f.value;
      break;
    case 'dstNamespace':
      test = (e) => e.dstNamespace === f.value;
      break;
    default:
      return { ok: false, error: `unknown filter field '${(f as { field: string }).field}'` };
  }
  const negated = f.negate ? (e: TapEvent) => !test(e) : test;
  return { ok: true, value: { test: negated, point } };
}

export interface CompiledMatch {
  test: Predicate;
  /** The earliest event at which the match can be decided. */
  point: DecisionPoint;
  /**
   * False when no condition reads a field that can hold a secret (path, authority, a header): the
   * match then need not test the redacted view of an event (tap-hub `redactedMatch`). Absent: it may.
   */
  readsSecrets?: boolean;
  /**
   * True when the match accepts every exchange (no filter at all). Then a rate-limited tap's
   * losses can be decided before any event is made (the native engine's tap gate, tap-hub.ts).
   * Absent: it may not.
   */
  matchesAll?: boolean;
}

/** Filter fields whose values may hold secrets (a query token, URL credentials, a header's value). */
const SECRET_BEARING_FIELDS: ReadonlySet<string> = new Set(['pathPrefix', 'pathRegex', 'authority', 'header']);

const ORDER: Record<DecisionPoint, number> = { req: 0, rsp: 1, end: 2 };

/**
 * Lower-case names of the headers that `matches` filter on. A filter on a header's value is an
 * oracle for that value (does the guess match?), so callers refuse filters on headers the
 * subscriber may not see unredacted.
 */
export function filteredHeaderNames(matches: readonly TapFilter[][]): string[] {
  const names = new Set<string>();
  for (const m of matches) for (const f of m) if (f.field === 'header' && typeof f.name === 'string') names.add(f.name.toLowerCase());
  return [...names];
}

/** Compiles matches; a bad filter is a MeshtapError (MT_BAD_FILTER) naming what to fix. */
export function compileMatches(matches: TapFilter[][]): CompiledMatch {
  if (matches.length === 0) return { test: () => true, point: 'req', readsSecrets: false, matchesAll: true };
  // Counted before anything is compiled: the sidecar compiles a request's filters before it
  // checks the grant, on the traffic's thread (4,000 counted regexes took 7.6 s).
  const regexes = matches.reduce((n, m) => n + (Array.isArray(m) ? m.filter((f) => f?.field === 'pathRegex').length : 0), 0);
  if (regexes > MAX_PATH_REGEXES) throw new MeshtapError('MT_BAD_FILTER', `at most ${MAX_PATH_REGEXES} path regexes in one tap (${regexes} given); join them with |`);
  let point: DecisionPoint = 'req';
  const ands: Predicate[][] = [];
  for (const m of matches) {
    const preds: Predicate[] = [];
    for (const f of m) {
      const c = compileOne(f);
      if (!c.ok) throw new MeshtapError('MT_BAD_FILTER', c.error);
      preds.push(c.value.test);
      if (ORDER[c.value.point] > ORDER[point]) point = c.value.point;
    }
    ands.push(preds);
  }
  const readsSecrets = matches.some((m) => m.some((f) => SECRET_BEARING_FIELDS.has(f.field)));
  // An empty AND group accepts every exchange, so the OR of the groups does too.
  const matchesAll = matches.some((m) => m.length === 0);
  return { test: (e) => ands.some((preds) => preds.every((p) => p(e))), point, readsSecrets, matchesAll };
}
