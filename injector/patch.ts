/**
 * JSON Patch by diffing, never by hand-written paths: rfc6902 computes the operations from
 * the original and mutated objects, so keys with `/` come out `~1`-escaped, missing
 * parents are added whole and existing arrays/maps are extended in place.
 */
import { createPatch } from 'rfc6902';
import type { PatchOperation } from './types.js';

/** RFC 6902 operations turning `original` into `mutated`. */
export function diffPatch(original: unknown, mutated: unknown): PatchOperation[] {
  return createPatch(original, mutated) as PatchOperation[];
}
