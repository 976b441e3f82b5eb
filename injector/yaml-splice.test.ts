/**
 * yaml-splice: each kind of change becomes a splice that leaves the rest of the text as it was,
 * and the result parses to the changed object.
 */
import { describe, expect, it } from 'vitest';
import { parseDocument } from 'yaml';
import { applyEdits, spliceEdits } from './yaml-splice.js';

function splice(src: string, change: (o: any) => void): string | undefined {
  const doc = parseDocument(src);
  const original = doc.toJS();
  const mutated = structuredClone(original);
  change(mutated);
  const edits = spliceEdits(src, doc, original, mutated);
  if (!edits) return undefined;
  const out = applyEdits(src, edits);
  expect(parseDocument(out).toJS()).toEqual(mutated);
  return out;
}

describe('yaml-splice', () => {
  it('replaces a scalar in place, keeping its comment and the other lines', () => {
    const src = 'a: 1   # one\nb:\n    c: x\n';
    expect(splice(src, (o) => (o.a = 2))).toBe('a: 2   # one\nb:\n    c: x\n');
  });

  it('adds keys after the last pair at its column, in the file\'s indentation', () => {
    const src = 'a: 1\nb:\n    c: x\n    # trailing\nd: 2\n';
    expect(splice(src, (o) => (o.b.e = { f: 1 }))).toBe('a: 1\nb:\n    c: x\n    e:\n        f: 1\n    # trailing\nd: 2\n');
  });

  it('removes a key with its line only', () => {
    expect(splice('a: 1\nb: 2 # gone\nc: 3\n', (o) => delete o.b)).toBe('a: 1\nc: 3\n');
  });

  it('inserts list items before the first and after the last, at the dash column', () => {
    const src = 'l:\n- x   # first\n- y\nz: 1\n';
    expect(splice(src, (o) => (o.l = ['w', ...o.l, { k: 'v' }]))).toBe('l:\n- w\n- x   # first\n- y\n- k: v\nz: 1\n');
  });

  it('rewrites a flow collection that changes, on its own line only', () => {
    expect(splice('a: {x: 1}\nb: [1, 2]\n', (o) => (o.a.y = 2))).toBe('a:\n  x: 1\n  y: 2\nb: [1, 2]\n');
  });

  it('an anchored node and its aliases are written out whole (an edit through the anchor would change both)', () => {
    // toJS shares the aliased object, so the change shows in both places, as YAML would mean it.
    expect(splice('base: &b\n  x: 1\nother: *b\nkeep: 1 # as is\n', (o) => (o.base.y = 2))).toBe('base:\n  x: 1\n  y: 2\nother:\n  x: 1\n  y: 2\nkeep: 1 # as is\n');
  });

  it('a root that is not a block map is left to the caller', () => {
    expect(splice('{a: 1}\n', (o) => (o.b = 2))).toBeUndefined();
  });

  it('a file without a final newline gets one before added lines', () => {
    expect(splice('a: 1', (o) => (o.b = 2))).toBe('a: 1\nb: 2\n');
  });
});
