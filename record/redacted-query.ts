/**
 * Query parameters a recording holds as `[redacted]` (tap-protocol/redact-query.ts: the tapper's
 * grant did not reveal them), as replay and mock treat them: like a redacted header, a redacted
 * parameter is never re-sent (replay drops it rather than send the text `[redacted]`), and a
 * mock takes any value for it (the recording cannot say which value was sent).
 */
import { queryNames, redactQuerySecrets, REDACTED, type QueryNames } from '../tap-protocol/index.js';

const ENCODED_REDACTED = encodeURIComponent(REDACTED);

function isRedactedValue(value: string): boolean {
  return value === REDACTED || value === ENCODED_REDACTED;
}

/** `path` without its `name=[redacted]` query parameters (the same string when it has none). */
export function withoutRedactedParams(path: string): string {
  const q = path.indexOf('?');
  if (q < 0 || (path.indexOf(REDACTED, q) < 0 && path.indexOf(ENCODED_REDACTED, q) < 0)) return path;
  const hash = path.indexOf('#', q);
  const end = hash < 0 ? path.length : hash;
  const kept = path
    .slice(q + 1, end)
    .split('&')
    .filter((p) => !isRedactedValue(p.slice(p.indexOf('=') + 1)) || p.indexOf('=') < 0);
  return `${path.slice(0, q)}${kept.length > 0 ? `?${kept.join('&')}` : ''}${path.slice(end)}`;
}

/** Names of the query parameters that are `[redacted]` in any of `paths` (undefined: none). */
export function redactedParamNames(paths: Iterable<string>): QueryNames | undefined {
  const names = new Set<string>();
  for (const path of paths) {
    const q = path.indexOf('?');
    if (q < 0 || path.indexOf(REDACTED, q) < 0) continue;
    for (const p of path.slice(q + 1).split(/[&#]/)) {
      const eq = p.indexOf('=');
      if (eq > 0 && isRedactedValue(p.slice(eq + 1))) names.add(p.slice(0, eq).toLowerCase());
    }
  }
  return names.size > 0 ? queryNames(names) : undefined;
}

/** A request path as a recording with `names` redacted would hold it (for matching against it). */
export function asRecorded(path: string, names: QueryNames | undefined): string {
  return names ? redactQuerySecrets(path, names) : path;
}
