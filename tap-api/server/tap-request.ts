/**
 * Validation of the TapRequest a client POSTs (untrusted JSON). Only the shape is checked here;
 * filter semantics are the sidecar's (it refuses filters it cannot evaluate). Bounded: at most
 * MAX_MATCHES matches of MAX_FILTERS filters each.
 */
import type { Result } from '../../common/index.js';
import { type TapFilter, type TapRequest, DEFAULT_SENSITIVE_HEADERS, compilePathRegex, filteredHeaderNames } from '../../tap-protocol/index.js';

const SENSITIVE: ReadonlySet<string> = new Set(DEFAULT_SENSITIVE_HEADERS);

export const MAX_MATCHES = 32;
export const MAX_FILTERS = 32;
export const MAX_REVEAL_HEADERS = 64;

const FIELDS = new Set([
  'method',
  'scheme',
  'authority',
  'pathPrefix',
  'pathRegex',
  'src',
  'dst',
  'header',
  'status',
  'grpcStatus',
  'minLatencyMs',
  'dstWorkload',
  'dstNamespace',
]);

/** Parses a request body; an absent body means "everything, no bodies". */
export function parseTapRequest(body: unknown): Result<TapRequest, string> {
  if (body === undefined) return { ok: true, value: { matches: [], bodies: false } };
  if (typeof body !== 'object' || body === null || Array.isArray(body)) return { ok: false, error: 'tap request must be a JSON object' };
  const o = body as Record<string, unknown>;
  const matches = o.matches ?? [];
  if (!Array.isArray(matches) || matches.length > MAX_MATCHES) return { ok: false, error: `matches must be a list of at most ${MAX_MATCHES} filter lists` };
  const out: TapFilter[][] = [];
  for (const [i, m] of matches.entries()) {
    if (!Array.isArray(m) || m.length > MAX_FILTERS) return { ok: false, error: `matches[${i}] must be a list of at most ${MAX_FILTERS} filters` };
    for (const [j, f] of m.entries()) {
      const err = checkFilter(f);
      if (err) return { ok: false, error: `matches[${i}][${j}]: ${err}` };
    }
    out.push(m as TapFilter[]);
  }
  if (o.bodies !== undefined && typeof o.bodies !== 'boolean') return { ok: false, error: 'bodies must be true or false' };
  const req: TapRequest = { matches: out, bodies: o.bodies === true };
  for (const k of ['sinceMs', 'last', 'maxRps'] as const) {
    const v = o[k];
    if (v === undefined) continue;
    if (typeof v !== 'number' || !Number.isFinite(v) || v <= 0) return { ok: false, error: `${k} must be a positive number` };
    req[k] = v;
  }
  if (o.follow !== undefined) {
    if (typeof o.follow !== 'boolean') return { ok: false, error: 'follow must be true or false' };
    req.follow = o.follow;
  }
  if (o.endsOnly !== undefined) {
    if (typeof o.endsOnly !== 'boolean') return { ok: false, error: 'endsOnly must be true or false' };
    req.endsOnly = o.endsOnly;
  }
  if (o.revealHeaders !== undefined) {
    const r = o.revealHeaders;
    if (!Array.isArray(r) || r.length > MAX_REVEAL_HEADERS || !r.every((h) => typeof h === 'string' && h.length > 0 && h.length < 256)) {
      return { ok: false, error: `revealHeaders must be a list of at most ${MAX_REVEAL_HEADERS} header names` };
    }
    req.revealHeaders = (r as string[]).map((h) => h.toLowerCase());
  }
  // A filter on a redacted header's value would answer "is this the secret?": it needs the header revealed.
  const revealed = new Set(req.revealHeaders ?? []);
  if (!revealed.has('*')) {
    const hidden = filteredHeaderNames(out).find((h) => SENSITIVE.has(h) && !revealed.has(h));
    if (hidden !== undefined) return { ok: false, error: `filtering on header '${hidden}' needs it revealed too (--reveal-header ${hidden}, which needs the tap-bodies permission)` };
  }
  // A client-supplied grant is ignored: the tap API signs its own.
  return { ok: true, value: req };
}

function checkFilter(f: unknown): string | undefined {
  if (typeof f !== 'object' || f === null) return 'a filter must be an object';
  const o = f as Record<string, unknown>;
  if (typeof o.field !== 'string' || !FIELDS.has(o.field)) return `unknown filter field ${JSON.stringify(o.field)}`;
  if (o.negate !== undefined && typeof o.negate !== 'boolean') return 'negate must be true or false';
  if (o.field === 'minLatencyMs') return typeof o.value === 'number' && Number.isFinite(o.value) ? undefined : 'value must be a number';
  if (typeof o.value !== 'string' || o.value.length > 4096) return 'value must be a string (at most 4096 characters)';
  if (o.field === 'header' && (typeof o.name !== 'string' || o.name === '')) return 'header filters need a name';
  if (o.field === 'pathRegex') {
    // The sidecars run path regexes on RE2 (linear time): refuse what they would refuse, up front.
    const re = compilePathRegex(o.value);
    if (!re.ok) return re.error;
  }
  return undefined;
}
