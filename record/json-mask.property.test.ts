/**
 * diffJson (replay's body comparison, `--ignore` masks) over generated JSON values and masks:
 * exactly the differences the recursive walk it replaced found (kept here as the reference), on
 * any body depth without a stack overflow, and in time linear in the body with `..` masks. The
 * recursion copied the path per node (quadratic in the depth), tried every split of the path
 * among `..` tokens (cubic with one), and overflowed the stack on a 16 KiB recorded `[[[…]]]`
 * (replay reported "Maximum call stack size exceeded"). The deep cases run under a vm timeout.
 */
import * as vm from 'node:vm';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { diffJson, parseMask, type JsonDifference } from './json-mask.js';
import { matchesRedacted } from './redacted-match.js';

type Token = NonNullable<ReturnType<typeof parseMask>>[number];

/** The recursive diffJson (up to session 7): the reference, for shallow values. */
function referenceDiff(expected: unknown, actual: unknown, masks: readonly string[]): JsonDifference[] {
  const compiled = masks.map((m) => parseMask(m)).filter((t): t is Token[] => t !== undefined);
  const matchTokens = (tokens: Token[], path: Array<string | number>): boolean => {
    if (tokens.length === 0) return true;
    if (path.length === 0) return false;
    const [t, ...rest] = tokens;
    const [p, ...prest] = path;
    if (t!.kind === 'any') return matchTokens(rest, prest);
    if (t!.kind === 'key') return String(p) === t!.name && matchTokens(rest, prest);
    return (String(p) === t!.name && matchTokens(rest, prest)) || matchTokens(tokens, prest);
  };
  const covers = (path: Array<string | number>): boolean => compiled.some((t) => matchTokens(t, path));
  const ident = /^[A-Za-z_$][\w$]*$/;
  const format = (path: Array<string | number>): string =>
    '$' + path.map((k) => (typeof k === 'number' ? `[${k}]` : ident.test(k) ? `.${k}` : `[${JSON.stringify(k)}]`)).join('');
  const out: JsonDifference[] = [];
  const walk = (e: unknown, a: unknown, path: Array<string | number>): void => {
    if (covers(path) && path.length > 0) return;
    if (Array.isArray(e) && Array.isArray(a)) {
      for (let i = 0; i < Math.max(e.length, a.length); i++) walk(e[i], a[i], [...path, i]);
      return;
    }
    if (e && a && typeof e === 'object' && typeof a === 'object' && !Array.isArray(e) && !Array.isArray(a)) {
      const keys = new Set([...Object.keys(e), ...Object.keys(a)]);
      for (const k of keys) walk((e as Record<string, unknown>)[k], (a as Record<string, unknown>)[k], [...path, k]);
      return;
    }
    if (typeof e === 'string' && (typeof a === 'string' || typeof a === 'number') && matchesRedacted(e, String(a))) return;
    if (!Object.is(e, a)) out.push({ path: format(path), expected: e, actual: a });
  };
  if (!covers([]) || masks.length === 0) walk(expected, actual, []);
  return out;
}

const KEYS = ['a', 'b', '0', 'x y'];
const leaf = fc.constantFrom(0, 1, '1', 'a', 'b[redacted]', '[redacted]', null, true);
/** A pair of values sharing their shape (what replay compares), leaves and some keys differing. */
type Pair = { kind: 'leaf'; e: unknown; a: unknown } | { kind: 'array'; items: Pair[] } | { kind: 'object'; entries: Array<[string, Pair, 'both' | 'e' | 'a']> };
const pair = fc.letrec<{ value: Pair; array: Pair; object: Pair }>((tie) => ({
  value: fc.oneof({ depthSize: 'medium', withCrossShrink: true }, fc.tuple(leaf, leaf, fc.boolean()).map(([e, a, same]): Pair => ({ kind: 'leaf', e, a: same ? e : a })), tie('array'), tie('object')),
  array: fc.array(tie('value'), { maxLength: 3 }).map((items): Pair => ({ kind: 'array', items })),
  object: fc
    .uniqueArray(fc.tuple(fc.constantFrom(...KEYS), tie('value'), fc.constantFrom('both' as const, 'both' as const, 'both' as const, 'e' as const, 'a' as const)), { maxLength: 3, selector: (t) => t[0] })
    .map((entries): Pair => ({ kind: 'object', entries })),
})).value;
function side(p: Pair, which: 'e' | 'a'): unknown {
  if (p.kind === 'leaf') return p[which];
  if (p.kind === 'array') return p.items.map((i) => side(i, which));
  return Object.fromEntries(p.entries.filter(([, , on]) => on === 'both' || on === which).map(([k, v]) => [k, side(v, which)]));
}
const segment = fc.oneof(
  { weight: 4, arbitrary: fc.constantFrom('.a', '.b', '[0]', '..a', '..b', '..0') },
  { weight: 1, arbitrary: fc.constantFrom('[1]', '[*]', '.*', "['x y']", '["0"]', '.', '[x]') },
);
const mask = fc.array(segment, { maxLength: 4 }).map((s) => '$' + s.join(''));

function diffWithin(e: unknown, a: unknown, masks: string[]): JsonDifference[] {
  const sandbox = vm.createContext({ diffJson, e, a, masks });
  return vm.runInContext('diffJson(e, a, masks)', sandbox, { timeout: 5_000 }) as JsonDifference[];
}

describe('diffJson (properties)', () => {
  it('finds exactly the differences the recursive walk found, with any masks', () => {
    fc.assert(
      fc.property(pair, fc.array(mask, { maxLength: 3 }), (p, masks) => {
        const e = side(p, 'e');
        const a = side(p, 'a');
        expect(diffJson(e, a, masks)).toEqual(referenceDiff(e, a, masks));
      }),
      { numRuns: 3_000 },
    );
  });

  it('reads masks as the examples say', () => {
    const e = { a: { a: { b: 1, c: 1 } }, b: [{ ts: 1 }, { ts: 1 }], id: 1 };
    const a = { a: { a: { b: 2, c: 1 } }, b: [{ ts: 2 }, { ts: 3 }], id: 2 };
    const cases: Array<[string[], string[]]> = [
      [[], ['$.a.a.b', '$.b[0].ts', '$.b[1].ts', '$.id']],
      [['$..a.b'], ['$.b[0].ts', '$.b[1].ts', '$.id']], // `..a` skips one `a` and matches the next
      [['$..ts', '$.id'], ['$.a.a.b']],
      [['$.b[*]', '$.a'], ['$.id']],
      [['$.b[1]', '$..a..b'], ['$.b[0].ts', '$.id']],
      [['$'], []],
      [['not a mask'], ['$.a.a.b', '$.b[0].ts', '$.b[1].ts', '$.id']],
    ];
    for (const [masks, paths] of cases) {
      expect(diffJson(e, a, masks).map((d) => d.path), masks.join(' ')).toEqual(paths);
      expect(referenceDiff(e, a, masks).map((d) => d.path)).toEqual(paths);
    }
  });

  it('compares a body 32,768 levels deep (64 KiB of [ and ]) without overflowing the stack', () => {
    const deep = (leafValue: number): unknown => JSON.parse('['.repeat(32_768) + String(leafValue) + ']'.repeat(32_768));
    expect(diffWithin(deep(1), deep(1), [])).toEqual([]);
    const d = diffWithin(deep(1), deep(2), []);
    expect(d.map((x) => [x.expected, x.actual, x.path.length])).toEqual([[1, 2, 1 + 3 * 32_768]]);
  });

  it('applies `..` masks to a body 3,000 levels deep in linear time (cubic before)', () => {
    const nested = (inner: string): unknown => JSON.parse('{"a":'.repeat(3_000) + inner + '}'.repeat(3_000));
    expect(diffWithin(nested('{"ts":1,"v":1}'), nested('{"ts":2,"v":1}'), ['$..b', '$..a..ts'])).toEqual([]);
    expect(diffWithin(nested('{"ts":1,"v":1}'), nested('{"ts":2,"v":2}'), ['$..b..c', '$..ts']).map((x) => x.expected)).toEqual([1]);
  });
});
