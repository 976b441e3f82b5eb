/**
 * Edits a YAML document's source text so that only what the injection changed differs: a
 * structural diff of the original and injected objects, walked along the parsed node tree,
 * becomes text splices at the nodes' source ranges (new keys after a map's last pair, new list
 * items before or after existing ones, a changed value in place). Every byte of the source the
 * injection did not change stays as it was: indentation, comments, quoting, blank lines, flow
 * collections. Re-rendering the document (yaml's `toString`) would re-indent lists and reflow
 * everything. What the walk does not handle (anchors, complex keys, a flow collection that grows)
 * is replaced whole at the smallest enclosing node; the caller checks the result parses back to
 * the injected object and otherwise renders the document as before.
 */
import { Document, isAlias, isMap, isPair, isScalar, isSeq, type Node, type Pair, type YAMLMap, type YAMLSeq } from 'yaml';

/** One splice of the source: [start, end) replaced by text. */
export interface TextEdit {
  start: number;
  end: number;
  text: string;
}

interface Style {
  /** Spaces per nesting level. */
  indent: number;
  /** Whether a list under a key is indented (`key:\n  - a`) or not (`key:\n- a`). */
  indentSeq: boolean;
}

type Plain = Record<string, unknown>;
const isPlainObject = (v: unknown): v is Plain => typeof v === 'object' && v !== null && !Array.isArray(v);

/** Deep equality of JSON-like values (key order ignored, as in a Kubernetes object). */
export function deepEqual(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (Array.isArray(a) || Array.isArray(b)) return Array.isArray(a) && Array.isArray(b) && a.length === b.length && a.every((x, i) => deepEqual(x, b[i]));
  if (!isPlainObject(a) || !isPlainObject(b)) return false;
  const ka = Object.keys(a);
  return ka.length === Object.keys(b).length && ka.every((k) => Object.hasOwn(b, k) && deepEqual(a[k], b[k]));
}

/**
 * The splices turning `doc` (parsed from `src`) from `original` into `mutated`, or undefined when
 * the document's root is not a block map (the caller then renders the document whole).
 */
export function spliceEdits(src: string, doc: Document, original: unknown, mutated: unknown): TextEdit[] | undefined {
  const root = doc.contents;
  if (!isMap(root) || root.flow || !isPlainObject(original) || !isPlainObject(mutated)) return undefined;
  const edits: TextEdit[] = [];
  const style = detectStyle(src, root);
  const lineStart = (pos: number) => src.lastIndexOf('\n', pos - 1) + 1;
  const column = (pos: number) => pos - lineStart(pos);
  const onlySpacesBefore = (pos: number) => src.slice(lineStart(pos), pos).trim() === '';
  /** The offset just after the line holding the last character before `end` (a newline is added at EOF). */
  const afterLine = (end: number): { at: number; newline: boolean } => {
    if (end > 0 && src[end - 1] === '\n') return { at: end, newline: false };
    const nl = src.indexOf('\n', end);
    return nl === -1 ? { at: src.length, newline: true } : { at: nl + 1, newline: false };
  };
  const indentLines = (text: string, col: number, first: boolean) =>
    text
      .split('\n')
      .map((l, i) => (l === '' || (i === 0 && !first) ? l : ' '.repeat(col) + l))
      .join('\n');
  const render = (value: unknown) => new Document(value).toString({ indent: style.indent, indentSeq: style.indentSeq, lineWidth: 0 }).replace(/\n$/, '');
  const insertAfter = (end: number, block: string) => {
    const { at, newline } = afterLine(end);
    edits.push({ start: at, end: at, text: `${newline ? '\n' : ''}${block}\n` });
  };
  /** Where a node's own content ends (a block collection's range includes its last newline). */
  const contentEnd = (node: Node | null | undefined, fallback: number) => node?.range?.[1] ?? fallback;

  const pairKey = (pair: Pair): string | undefined => (isScalar(pair.key) && typeof pair.key.value === 'string' && pair.key.range ? pair.key.value : undefined);

  /** `key: value` rendered at the pair's column, replacing the pair from its key to the end of its value. */
  const replacePair = (pair: Pair, key: string, value: unknown) => {
    const keyNode = pair.key as Node;
    const start = keyNode.range![0];
    const end = contentEnd(pair.value as Node | null, keyNode.range![1]);
    const trailingNewline = src[end - 1] === '\n';
    edits.push({ start, end, text: indentLines(render({ [key]: value }), column(start), false) + (trailingNewline ? '\n' : '') });
  };

  /** The offset of an item's `- ` marker, if it starts its line. */
  const dashOf = (item: Node): number | undefined => {
    let p = item.range![0] - 1;
    while (p >= 0 && src[p] === ' ') p--;
    return p >= 0 && src[p] === '-' && onlySpacesBefore(p) ? p : undefined;
  };

  const diffMap = (node: YAMLMap, orig: Plain, mut: Plain): boolean => {
    const pairs = node.items;
    if (pairs.length === 0 || pairs.some((p) => !isPair(p) || pairKey(p) === undefined)) return false;
    const keyCol = column((pairs[0]!.key as Node).range![0]);
    for (const pair of pairs) {
      const key = pairKey(pair)!;
      if (!Object.hasOwn(mut, key)) {
        const start = (pair.key as Node).range![0];
        if (!onlySpacesBefore(start)) return false; // the first key of a list item: left to the parent
        const { at } = afterLine(contentEnd(pair.value as Node | null, (pair.key as Node).range![1]));
        edits.push({ start: lineStart(start), end: at, text: '' });
      } else if (!deepEqual(orig[key], mut[key])) {
        if (!diffNode(pair.value as Node | null, orig[key], mut[key])) replacePair(pair, key, mut[key]);
      }
    }
    const added = Object.keys(mut).filter((k) => !Object.hasOwn(orig, k));
    if (added.length > 0) {
      const last = pairs[pairs.length - 1]!;
      const block = indentLines(render(Object.fromEntries(added.map((k) => [k, mut[k]]))), keyCol, true);
      insertAfter(contentEnd(last.value as Node | null, (last.key as Node).range![1]), block);
    }
    return true;
  };

  /** Same list item, changed inside: a container of the same name, an object of a List with the same kind and name. */
  const sameItem = (a: unknown, b: unknown, sameLength: boolean) => {
    if (!isPlainObject(a) || !isPlainObject(b)) return sameLength;
    if (typeof a.name === 'string') return a.name === b.name;
    if (typeof a.kind === 'string' && isPlainObject(a.metadata) && isPlainObject(b.metadata)) return a.kind === b.kind && a.metadata.name === b.metadata.name;
    return sameLength; // as many items as before: item i is item i, changed
  };

  const diffSeq = (node: YAMLSeq, orig: unknown[], mut: unknown[]): boolean => {
    const items = node.items as Node[];
    if (items.length === 0 || items.length !== orig.length) return false;
    const dashes = items.map(dashOf);
    if (dashes.some((d) => d === undefined)) return false;
    const dashCol = column(dashes[0]!);
    const item = (value: unknown, first: boolean) => indentLines(render([value]), dashCol, first);
    let p = 0;
    for (const m of mut) {
      if (p < orig.length && deepEqual(orig[p], m)) {
        p++;
      } else if (p < orig.length && sameItem(orig[p], m, orig.length === mut.length)) {
        if (!diffNode(items[p], orig[p], m)) {
          const end = contentEnd(items[p], dashes[p]!);
          edits.push({ start: dashes[p]!, end, text: item(m, false) + (src[end - 1] === '\n' ? '\n' : '') });
        }
        p++;
      } else if (p < orig.length) {
        const at = lineStart(dashes[p]!);
        edits.push({ start: at, end: at, text: `${item(m, true)}\n` });
      } else {
        insertAfter(contentEnd(items[items.length - 1], dashes[items.length - 1]!), item(m, true));
      }
    }
    return p === orig.length; // an original item the walk did not meet: replace the list whole
  };

  /** Edits for one node; false when it must be replaced whole by its parent. */
  const diffNode = (node: Node | null, orig: unknown, mut: unknown): boolean => {
    if (deepEqual(orig, mut)) return true;
    if (!node || isAlias(node) || node.anchor) return false;
    const mark = edits.length;
    const ok =
      isMap(node) && !node.flow && isPlainObject(orig) && isPlainObject(mut)
        ? diffMap(node, orig, mut)
        : isSeq(node) && !node.flow && Array.isArray(orig) && Array.isArray(mut)
          ? diffSeq(node, orig, mut)
          : false;
    if (!ok) edits.length = mark; // half a walk is no edit: the parent replaces the node whole
    return ok;
  };

  if (!diffMap(root, original, mutated)) return undefined;
  // Added lines end as the file's lines do (a CRLF manifest stays CRLF).
  if (src.includes('\r\n')) for (const e of edits) e.text = e.text.replace(/\r?\n/g, '\r\n');
  return edits;
}

/** Applies splices to a text (later offsets first; at one offset, in the order they were made). */
export function applyEdits(src: string, edits: readonly TextEdit[]): string {
  const ordered = edits.map((e, i) => ({ ...e, i })).sort((a, b) => b.start - a.start || b.i - a.i);
  let out = src;
  for (const e of ordered) out = out.slice(0, e.start) + e.text + out.slice(e.end);
  return out;
}

/** The document's own indentation width and list style, so added lines look like their neighbours. */
function detectStyle(src: string, root: YAMLMap): Style {
  const style: Style = { indent: 2, indentSeq: true };
  let foundIndent = false;
  let foundSeq = false;
  const column = (pos: number) => pos - (src.lastIndexOf('\n', pos - 1) + 1);
  const visit = (map: YAMLMap) => {
    for (const pair of map.items) {
      if (foundIndent && foundSeq) return;
      if (!isPair(pair) || !(pair.key as Node | null)?.range) continue;
      const keyCol = column((pair.key as Node).range![0]);
      const value = pair.value as Node | null;
      if (isMap(value) && !value.flow && value.items.length > 0 && (value.items[0]!.key as Node | null)?.range) {
        if (!foundIndent) {
          const d = column((value.items[0]!.key as Node).range![0]) - keyCol;
          if (d > 0) {
            style.indent = d;
            foundIndent = true;
          }
        }
        visit(value);
      } else if (isSeq(value) && !value.flow && value.items.length > 0 && (value.items[0] as Node).range) {
        if (!foundSeq) {
          let p = (value.items[0] as Node).range![0] - 1;
          while (p >= 0 && src[p] === ' ') p--;
          if (src[p] === '-') {
            style.indentSeq = column(p) > keyCol;
            foundSeq = true;
          }
        }
        for (const it of value.items) if (isMap(it) && !it.flow) visit(it);
      }
    }
  };
  visit(root);
  return style;
}
