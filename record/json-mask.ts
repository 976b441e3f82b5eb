/**
 * Structural JSON comparison with masks. Differences are reported at JSONPath-like paths
 * (`$.items[2].id`); masks use the same syntax plus `[*]` (any index or key) and `..name`
 * (that key at any depth), e.g. `--ignore '$.id' --ignore '$..updatedAt'`.
 */
import { matchesRedacted } from './redacted-match.js';

/** One JSON difference: where, and both sides (undefined = missing). */
export interface JsonDifference {
  path: string;
  expected: unknown;
  actual: unknown;
}

type Token = { kind: 'key'; name: string } | { kind: 'any' } | { kind: 'deep'; name: string };

const IDENT = /^[A-Za-z_$][\w$]*$/;

function segment(key: string | number): string {
  if (typeof key === 'number') return `[${key}]`;
  return IDENT.test(key) ? `.${key}` : `[${JSON.stringify(key)}]`;
}

/** Parses a mask (`$.a[*].b`, `$..id`, `$['odd key']`); undefined when it is not one. */
export function parseMask(mask: string): Token[] | undefined {
  if (!mask.startsWith('$')) return undefined;
  const tokens: Token[] = [];
  const re = /\.\.([A-Za-z_$][\w$]*)|\.([A-Za-z_$][\w$]*|\*)|\[(\*|\d+|"(?:[^"\\]|\\.)*"|'[^']*')\]/y;
  let at = 1;
  while (at < mask.length) {
    re.lastIndex = at;
    const m = re.exec(mask);
    if (!m) return undefined;
    at = re.lastIndex;
    if (m[1] !== undefined) tokens.push({ kind: 'deep', name: m[1] });
    else if (m[2] !== undefined) tokens.push(m[2] === '*' ? { kind: 'any' } : { kind: 'key', name: m[2] });
    else {
      const inner = m[3]!;
      if (inner === '*') tokens.push({ kind: 'any' });
      else if (inner.startsWith('"')) tokens.push({ kind: 'key', name: JSON.parse(inner) as string });
      else if (inner.startsWith("'")) tokens.push({ kind: 'key', name: inner.slice(1, -1) });
      else tokens.push({ kind: 'key', name: inner });
    }
  }
  return tokens;
}

function matchTokens(tokens: Token[], path: Array<string | number>): boolean {
  if (tokens.length === 0) return true; // a mask covers everything under it
  if (path.length === 0) return false;
  const [t, ...rest] = tokens;
  const [p, ...prest] = path;
  if (t!.kind === 'any') return matchTokens(rest, prest);
  if (t!.kind === 'key') return String(p) === t!.name && matchTokens(rest, prest);
  // deep: match the name here, or skip one level and try again.
  return (String(p) === t!.name && matchTokens(rest, prest)) || matchTokens(tokens, prest);
}

/** Compiled masks: `covers(path)` is true when some mask hides that path. */
export function compileMasks(masks: readonly string[]): { covers(path: Array<string | number>): boolean } {
  const compiled = masks.map((m) => parseMask(m)).filter((t): t is Token[] => t !== undefined);
  return { covers: (path) => compiled.some((t) => matchTokens(t, path)) };
}

/** Renders a path as `$.a[0].b`. */
export function formatPath(path: Array<string | number>): string {
  return '$' + path.map(segment).join('');
}

/** All differences between two JSON values, skipping masked paths. */
export function diffJson(expected: unknown, actual: unknown, masks: readonly string[] = []): JsonDifference[] {
  const covered = compileMasks(masks);
  const out: JsonDifference[] = [];
  const walk = (e: unknown, a: unknown, path: Array<string | number>): void => {
    if (covered.covers(path) && path.length > 0) return;
    if (Array.isArray(e) && Array.isArray(a)) {
      for (let i = 0; i < Math.max(e.length, a.length); i++) walk(e[i], a[i], [...path, i]);
      return;
    }
    if (e && a && typeof e === 'object' && typeof a === 'object' && !Array.isArray(e) && !Array.isArray(a)) {
      const keys = new Set([...Object.keys(e), ...Object.keys(a)]);
      for (const k of keys) walk((e as Record<string, unknown>)[k], (a as Record<string, unknown>)[k], [...path, k]);
      return;
    }
    // A recorded string holding [redacted] (the recording tap did not see the secret) matches what fits it.
    if (typeof e === 'string' && (typeof a === 'string' || typeof a === 'number') && matchesRedacted(e, String(a))) return;
    if (!Object.is(e, a)) out.push({ path: formatPath(path), expected: e, actual: a });
  };
  if (!covered.covers([]) || masks.length === 0) walk(expected, actual, []);
  return out;
}
