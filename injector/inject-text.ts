/**
 * `meshtap inject` on text: YAML (multi-document streams) or JSON. YAML is edited in
 * place by applying the injection's JSON Patch to the parsed document tree, so comments,
 * key order and styles of everything the injector did not touch survive.
 */
import { parseAllDocuments, isCollection, isSeq, type Document } from 'yaml';
import type { MeshConfig } from './config.js';
import { injectObject, type ObjectReport } from './inject-object.js';
import { diffPatch } from './patch.js';
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
  for (const doc of docs) {
    const original: unknown = doc.toJS({ maxAliasCount: 100 });
    if (original === null || original === undefined) continue;
    const result = injectObject(original, config);
    reports.push(...result.reports);
    if (result.object !== original) applyPatchToDocument(doc, diffPatch(original, result.object));
  }
  return { ok: true, output: docs.map((d) => d.toString({ lineWidth: 0, flowCollectionPadding: false })).join(''), reports };
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
