/**
 * The folder boundaries of DESIGN §2 / STYLE "Boundaries", checked on the source itself: a
 * product file reaches another top-level folder only through that folder's `index.ts`, the
 * folders' import graph has no cycle, and `common/` imports nothing else of the project.
 * Tests (`test/`, `*.test.ts`, test helpers) may import anything and are not checked; so may
 * `bench/`, whose micro-benchmarks time one internal piece (docs/decisions.md).
 */
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, normalize, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');
/** Not product code, or not ours. */
const SKIPPED_DIRS = new Set(['node_modules', 'dist', 'test', 'bench', '.git', 'build']);

function isProductFile(rel: string): boolean {
  return rel.endsWith('.ts') && !rel.endsWith('.test.ts') && !rel.endsWith('.d.ts') && !rel.includes('/test-support/') && rel.includes('/');
}

function productFiles(dir = ROOT): string[] {
  const out: string[] = [];
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    if (entry.isDirectory()) {
      if (!SKIPPED_DIRS.has(entry.name) && !entry.name.startsWith('.')) out.push(...productFiles(join(dir, entry.name)));
    } else {
      const rel = relative(ROOT, join(dir, entry.name));
      if (isProductFile(rel)) out.push(rel);
    }
  }
  return out;
}

/** Every relative module a file imports, re-exports or loads dynamically, as a repository path. */
function importsOf(file: string): string[] {
  const text = readFileSync(join(ROOT, file), 'utf8');
  const specs = [...text.matchAll(/(?:\bfrom\s*|\bimport\s*\(\s*|^\s*import\s+)'(\.{1,2}\/[^']+)'/gm)].map((m) => m[1]!);
  return specs.map((s) => normalize(join(dirname(file), s)).replace(/\.js$/, '.ts'));
}

const folderOf = (path: string): string => path.split('/')[0]!;

/**
 * The dashboard page (dashboard/ui, bundled for the browser) may import tap-protocol's outcome.ts
 * directly: the success rule the series, `top` and the page share, in a file that imports nothing.
 */
const isBrowserException = (file: string, target: string): boolean => file.startsWith('dashboard/ui/') && target === 'tap-protocol/outcome.ts';

/** The product import graph: file -> the files it imports in other top-level folders. */
const crossings = productFiles().flatMap((file) => importsOf(file).filter((t) => folderOf(t) !== folderOf(file)).map((target) => ({ file, target })));

/** A cycle in the folder graph, as `a -> b -> a`, or undefined. */
function findCycle(edges: Map<string, Set<string>>): string | undefined {
  const state = new Map<string, 'open' | 'done'>();
  const stack: string[] = [];
  const visit = (node: string): string | undefined => {
    if (state.get(node) === 'done') return undefined;
    if (state.get(node) === 'open') return [...stack.slice(stack.indexOf(node)), node].join(' -> ');
    state.set(node, 'open');
    stack.push(node);
    for (const next of edges.get(node) ?? []) {
      const cycle = visit(next);
      if (cycle) return cycle;
    }
    stack.pop();
    state.set(node, 'done');
    return undefined;
  };
  for (const node of edges.keys()) {
    const cycle = visit(node);
    if (cycle) return cycle;
  }
  return undefined;
}

describe('folder boundaries', () => {
  it('finds the product files and their crossings (the check below is not vacuous)', () => {
    expect(productFiles()).toContain('proxy/forwarder.ts');
    expect(crossings).toContainEqual({ file: 'proxy/sidecar.ts', target: 'tap-protocol/index.ts' });
  });

  it("a product file imports another top-level folder only through that folder's index.ts", () => {
    const reaching = crossings.filter(({ file, target }) => target !== `${folderOf(target)}/index.ts` && !isBrowserException(file, target)).map(({ file, target }) => `${file} -> ${target}`);
    expect(reaching).toEqual([]);
  });

  it('the one exception, the browser page reaching tap-protocol/outcome.ts, imports nothing at run time (session 13)', () => {
    // The dashboard page is bundled for the browser: tap-protocol/index.ts pulls in Node modules it cannot take.
    expect(crossings).toContainEqual({ file: 'dashboard/ui/format.ts', target: 'tap-protocol/outcome.ts' });
    const text = readFileSync(join(ROOT, 'tap-protocol/outcome.ts'), 'utf8');
    expect([...text.matchAll(/^\s*import\s+(?!type\b)/gm)]).toEqual([]);
  });

  it('common/ imports nothing else of the project', () => {
    expect(crossings.filter(({ file }) => folderOf(file) === 'common').map(({ file, target }) => `${file} -> ${target}`)).toEqual([]);
  });

  it('the top-level folders import each other without a cycle', () => {
    const edges = new Map<string, Set<string>>();
    for (const { file, target } of crossings) {
      const from = folderOf(file);
      if (!edges.has(from)) edges.set(from, new Set());
      edges.get(from)!.add(folderOf(target));
    }
    expect(findCycle(edges)).toBeUndefined();
  });

  it('the cycle finder names a cycle when there is one', () => {
    const edges = new Map([
      ['proxy', new Set(['tap-protocol'])],
      ['tap-protocol', new Set(['common', 'proxy'])],
    ]);
    expect(findCycle(edges)).toBe('proxy -> tap-protocol -> proxy');
  });
});
