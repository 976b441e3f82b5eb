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

/**
 * A mask read as an automaton over path segments: `states` are the token positions the path so
 * far can have reached (ascending, no repeats); the mask covers the path once one reaches the
 * end (a mask covers everything under it). `..name` both stays (skips a level) and moves on at
 * `name`. Stepping one segment costs the mask's length: matching by recursion instead tried
 * every way to split the path among the `..` tokens (cubic on a deep body with one, worse with
 * more) and copied the path at each step.
 */
function step(tokens: readonly Token[], states: readonly number[], key: string | number): number[] {
  const next: number[] = [];
  const add = (s: number): void => {
    if (next[next.length - 1] !== s) next.push(s);
  };
  for (const i of states) {
    const t = tokens[i];
    if (t === undefined) continue; // at the end: the walk stopped above
    if (t.kind === 'deep') {
      add(i);
      if (String(key) === t.name) add(i + 1);
    } else if (t.kind === 'any' || String(key) === t.name) add(i + 1);
  }
  return next;
}

const START: readonly number[] = [0];

/** Whether some mask's states reached its end. */
function isCovered(compiled: readonly Token[][], states: ReadonlyArray<readonly number[]>): boolean {
  for (let m = 0; m < compiled.length; m++) {
    const s = states[m]!;
    if (s[s.length - 1] === compiled[m]!.length) return true;
  }
  return false;
}

/** Compiled masks: `covers(path)` is true when some mask hides that path. */
export function compileMasks(masks: readonly string[]): { covers(path: Array<string | number>): boolean } {
  const compiled = masks.map((m) => parseMask(m)).filter((t): t is Token[] => t !== undefined);
  return {
    covers: (path) =>
      compiled.some((tokens) => {
        let states: readonly number[] = START;
        if (tokens.length === 0) return true;
        for (const key of path) {
          states = step(tokens, states, key);
          if (states.length === 0) return false;
          if (states[states.length - 1] === tokens.length) return true;
        }
        return false;
      }),
  };
}

/** Renders a path as `$.a[0].b`. */
export function formatPath(path: Array<string | number>): string {
  return '$' + path.map(segment).join('');
}

/** One node still to compare: its key under its parent, its depth, and the parent's mask states. */
interface Pending {
  e: unknown;
  a: unknown;
  key: string | number;
  depth: number;
  states: ReadonlyArray<readonly number[]>;
}

/**
 * All differences between two JSON values, skipping masked paths, in document order (expected's
 * keys first). Iterative, with one shared path: a recursive walk that copied the path per node
 * overflowed the stack on a deep body (8,000 levels: a 16 KiB recorded `[[[…]]]`) and took time
 * quadratic in the depth.
 */
export function diffJson(expected: unknown, actual: unknown, masks: readonly string[] = []): JsonDifference[] {
  const compiled = masks.map((m) => parseMask(m)).filter((t): t is Token[] => t !== undefined);
  const out: JsonDifference[] = [];
  if (compiled.some((t) => t.length === 0)) return out; // `$` hides everything
  const path: Array<string | number> = [];
  const stack: Pending[] = [];
  const visit = (e: unknown, a: unknown, states: ReadonlyArray<readonly number[]>): void => {
    if (Array.isArray(e) && Array.isArray(a)) {
      for (let i = Math.max(e.length, a.length) - 1; i >= 0; i--) stack.push({ e: e[i], a: a[i], key: i, depth: path.length + 1, states });
      return;
    }
    if (e && a && typeof e === 'object' && typeof a === 'object' && !Array.isArray(e) && !Array.isArray(a)) {
      const keys = [...new Set([...Object.keys(e), ...Object.keys(a)])];
      for (let i = keys.length - 1; i >= 0; i--) {
        const k = keys[i]!;
        stack.push({ e: (e as Record<string, unknown>)[k], a: (a as Record<string, unknown>)[k], key: k, depth: path.length + 1, states });
      }
      return;
    }
    // A recorded string holding [redacted] (the recording tap did not see the secret) matches what fits it.
    if (typeof e === 'string' && (typeof a === 'string' || typeof a === 'number') && matchesRedacted(e, String(a))) return;
    if (!Object.is(e, a)) out.push({ path: formatPath(path), expected: e, actual: a });
  };
  visit(expected, actual, compiled.map(() => START));
  for (let p = stack.pop(); p !== undefined; p = stack.pop()) {
    path.length = p.depth - 1;
    path.push(p.key);
    const states = compiled.length === 0 ? p.states : compiled.map((tokens, m) => step(tokens, p.states[m]!, p.key));
    if (isCovered(compiled, states)) continue;
    visit(p.e, p.a, states);
  }
  return out;
}
