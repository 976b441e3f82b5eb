/**
 * Header lists as replay and mock send them: pseudo-headers (`:method` …), hop-by-hop
 * headers (RFC 9110 §7.6.1) and redacted values are never re-sent; names compare
 * case-insensitively (h1 keeps case, h2 is lower case).
 */
import { REDACTED, type HeaderList } from '../tap-protocol/index.js';

/** Connection-specific headers: meaningful for one hop only, forbidden in HTTP/2. */
export const HOP_BY_HOP_HEADERS: ReadonlySet<string> = new Set([
  'connection', 'keep-alive', 'proxy-connection', 'transfer-encoding', 'te', 'trailer', 'upgrade',
  'http2-settings', 'proxy-authenticate',
]);

/** True for `:method`, `:path`, … */
export function isPseudoHeader(name: string): boolean {
  return name.startsWith(':');
}

/** Headers worth sending again: no pseudo, no hop-by-hop, no `[redacted]` values, no host (from the target). */
export function sendableHeaders(headers: HeaderList | undefined, extraSkip: ReadonlySet<string> = new Set()): HeaderList {
  return (headers ?? []).filter(([n, v]) => {
    const name = n.toLowerCase();
    return !isPseudoHeader(name) && !HOP_BY_HOP_HEADERS.has(name) && name !== 'host' && v !== REDACTED && !extraSkip.has(name);
  });
}

/** First value of a header (case-insensitive). */
export function headerValue(headers: HeaderList | undefined, name: string): string | undefined {
  const lower = name.toLowerCase();
  return headers?.find(([n]) => n.toLowerCase() === lower)?.[1];
}

/**
 * Header list -> node's `{name: value | value[]}` with lower-case names. The object has no
 * prototype: header names come from the traffic, and on a plain `{}` a header named `__proto__`
 * was dropped (assigning a string to it is ignored) and one named `constructor` read Object's
 * constructor as its "previous value". node:http, node:http2 and undici take such objects as is,
 * and spreading one (`{...out}`) keeps `__proto__` as an own key.
 */
export function headersToObject(headers: HeaderList): Record<string, string | string[]> {
  const out = Object.create(null) as Record<string, string | string[]>;
  for (const [n, v] of headers) {
    const name = n.toLowerCase();
    const prev = out[name];
    // Appended in place: copying the list per value made a recording's N repeats of one header O(N²).
    if (prev === undefined) out[name] = v;
    else if (Array.isArray(prev)) prev.push(v);
    else out[name] = [prev, v];
  }
  return out;
}

/** node's incoming header object (or raw list) -> header list. */
export function headersFromObject(headers: Record<string, string | string[] | number | undefined>): HeaderList {
  const out: HeaderList = [];
  for (const [n, v] of Object.entries(headers)) {
    if (v === undefined) continue;
    for (const one of Array.isArray(v) ? v : [v]) out.push([n, String(one)]);
  }
  return out;
}

/** Case-insensitive grouping: lower-case name -> values in order. */
export function groupHeaders(headers: HeaderList | undefined): Map<string, string[]> {
  const map = new Map<string, string[]>();
  for (const [n, v] of headers ?? []) {
    const name = n.toLowerCase();
    const list = map.get(name);
    if (list) list.push(v);
    else map.set(name, [v]);
  }
  return map;
}
