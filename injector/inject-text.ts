/**
 * `meshtap inject` on text: YAML (multi-document streams) or JSON. YAML is edited as text at
 * the changed nodes' source ranges (yaml-splice.ts), so every line the injection did not change
 * stays byte for byte: indentation, comments, quoting, flow style, untouched documents. Where a
 * document cannot be spliced, the injection's JSON Patch is applied to the parsed tree and the
 * stream rendered again (comments and key order kept, indentation yaml's own). JSON is rendered
 * again (2-space indent).
 */
import { parseAllDocuments, isCollection, isSeq, type Document } from 'yaml';
import type { MeshConfig } from './config.js';
import { injectObject, type ObjectReport } from './inject-object.js';
import { diffPatch } from './patch.js';
import { applyEdits, deepEqual, spliceEdits, type TextEdit } from './yaml-splice.js';
import type { PatchOperation } from './types.js';

export type InjectTextResult =
  | { ok: true; output: string; reports: ObjectReport[] }
  | { ok: false; error: string };

/** Injects every object of a YAML or JSON text. A syntax error fails the whole text (nothing half-written). */
export function injectText(text: string, config: MeshConfig): InjectTextResult {
  return /^\s*[[{]/.test(text) ? injectJson(text, config) : injectYaml(text, config);
}

function injectJson(text: string, config: MeshConfig): InjectTextResult {
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch (err) {
    return { ok: false, error: `input is not valid JSON: ${(err as Error).message}` };
  }
  const { object, reports } = injectObject(doc, config);
  return { ok: true, output: JSON.stringify(object, null, 2) + '\n', reports };
}

function injectYaml(text: string, config: MeshConfig): InjectTextResult {
  const docs = parseAllDocuments(text);
  if (!Array.isArray(docs)) return { ok: true, output: text, reports: [] };
  for (const [i, doc] of docs.entries()) {
    const err = doc.errors[0];
    if (err) return { ok: false, error: `document ${i + 1} is not valid YAML: ${err.message.split('\n')[0]}` };
  }
  const reports: ObjectReport[] = [];
  const changes: Array<{ doc: Document; original: unknown; mutated: unknown }> = [];
  const expected: unknown[] = [];
  for (const doc of docs) {
    const original: unknown = doc.toJS({ maxAliasCount: 100 });
    expected.push(original);
    if (original === null || original === undefined) continue;
    const result = injectObject(original, config);
    reports.push(...result.reports);
    if (result.object !== original) {
      changes.push({ doc, original, mutated: result.object });
      expected[expected.length - 1] = result.object;
    }
  }
  return { ok: true, output: splicedOutput(text, changes, expected) ?? renderedOutput(docs, changes), reports };
}

/**
 * The source with only the injected lines changed (yaml-splice.ts), if every changed document
 * could be spliced and the result parses back to exactly the injected objects.
 */
function splicedOutput(text: string, changes: Array<{ doc: Document; original: unknown; mutated: unknown }>, expected: unknown[]): string | undefined {
  const edits: TextEdit[] = [];
  for (const c of changes) {
    const e = spliceEdits(text, c.doc, c.original, c.mutated);
    if (!e) return undefined;
    edits.push(...e);
  }
  const output = applyEdits(text, edits);
  const back = parseAllDocuments(output);
  if (!Array.isArray(back) || back.length !== expected.length || back.some((d) => d.errors.length > 0)) return undefined;
  return back.every((d, i) => deepEqual(d.toJS({ maxAliasCount: 100 }), expected[i])) ? output : undefined;
}

/** Every document rendered again from its edited tree (comments and key order kept; indentation is yaml's). */
function renderedOutput(docs: Document[], changes: Array<{ doc: Document; original: unknown; mutated: unknown }>): string {
  for (const c of changes) applyPatchToDocument(c.doc, diffPatch(c.original, c.mutated));
  return docs.map((d) => d.toString({ lineWidth: 0, flowCollectionPadding: false })).join('');
}

/** `/a/b~1c/0` → ['a', 'b/c', '0']. */
function pointerSegments(pointer: string): string[] {
  return pointer.split('/').slice(1).map((s) => s.replace(/~1/g, '/').replace(/~0/g, '~'));
}

/** Applies add/replace/remove operations to the YAML tree (the only ones a diff of an injection yields). */
function applyPatchToDocument(doc: Document, patch: PatchOperation[]): void {
  for (const op of patch) {
    const segments = pointerSegments(op.path);
    const last = segments.pop() ?? '';
    const parent = segments.length === 0 ? doc.contents : doc.getIn(keysFor(doc, segments), true);
    // Block style for what we add: a one-line flow collection holding a container is unreadable.
    if (isCollection(parent) && parent.flow && op.op !== 'remove') parent.flow = false;
    if (isSeq(parent)) {
      const index = last === '-' ? parent.items.length : Number(last);
      if (op.op === 'add') parent.items.splice(index, 0, doc.createNode(op.value));
      else if (op.op === 'replace') parent.items[index] = doc.createNode(op.value);
      else if (op.op === 'remove') parent.items.splice(index, 1);
      continue;
    }
    const path = [...keysFor(doc, segments), last];
    if (op.op === 'remove') doc.deleteIn(path);
    else doc.setIn(path, op.value);
  }
}

/** Pointer segments as yaml keys: numbers where the node at that point is a sequence. */
function keysFor(doc: Document, segments: string[]): unknown[] {
  const keys: unknown[] = [];
  for (const s of segments) {
    const here = keys.length === 0 ? doc.contents : doc.getIn(keys, true);
    keys.push(isSeq(here) ? Number(s) : s);
  }
  return keys;
}
