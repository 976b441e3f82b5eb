/**
 * Kubernetes label selectors (`-l/--selector`, the `labelSelector` query parameter), as kubectl
 * writes them: `k=v`, `k==v`, `k!=v`, `k in (a,b)`, `k notin (a,b)`, `k` (exists), `!k`, joined
 * by commas (AND). Parsed once, checked against a pod's labels. A malformed selector is an error
 * that says what is wrong (the CLI exits 2, the tap API answers 400), never "matches nothing".
 */
import type { Result } from '../../common/index.js';

/** A parsed selector: whether a pod's labels match. */
export type LabelMatcher = (labels: Record<string, string>) => boolean;

/** Longest selector accepted (bounded work per pod). */
export const MAX_SELECTOR_CHARS = 1024;

const KEY = /^([a-z0-9]([-a-z0-9.]{0,251}[a-z0-9])?\/)?[A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?$/;
const VALUE = /^([A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?)?$/;

/** Splits at commas outside `( … )`. */
function terms(text: string): string[] {
  const out: string[] = [];
  let depth = 0;
  let cur = '';
  for (const c of text) {
    if (c === '(') depth++;
    if (c === ')') depth--;
    if (c === ',' && depth === 0) {
      out.push(cur.trim());
      cur = '';
    } else cur += c;
  }
  out.push(cur.trim());
  return out;
}

/** Parses a selector; the error names the term that is wrong. */
export function parseLabelSelector(text: string): Result<LabelMatcher, string> {
  if (text.length > MAX_SELECTOR_CHARS) return { ok: false, error: `a label selector has at most ${MAX_SELECTOR_CHARS} characters` };
  const tests: LabelMatcher[] = [];
  for (const t of terms(text)) {
    const bad = (why: string): Result<LabelMatcher, string> => ({ ok: false, error: `label selector term '${t}' ${why} (e.g. app=web,tier!=db,env in (prod,staging))` });
    let m: RegExpExecArray | null;
    if (t === '') return bad('is empty');
    if ((m = /^(\S+)\s+(in|notin)\s+\((.*)\)$/.exec(t))) {
      const [, key, op, list] = m as unknown as [string, string, string, string];
      const values = list.split(',').map((v) => v.trim());
      if (!KEY.test(key) || values.some((v) => !VALUE.test(v))) return bad('is not a valid key and value list');
      tests.push(op === 'in' ? (l) => key in l && values.includes(l[key]!) : (l) => !(key in l && values.includes(l[key]!)));
    } else if ((m = /^!\s*(\S+)$/.exec(t))) {
      const key = m[1]!;
      if (!KEY.test(key)) return bad('is not a valid key');
      tests.push((l) => !(key in l));
    } else if ((m = /^([^!=\s]+)\s*(!=|==|=)\s*(\S*)$/.exec(t))) {
      const [, key, op, value] = m as unknown as [string, string, string, string];
      if (!KEY.test(key) || !VALUE.test(value)) return bad('is not a valid key and value');
      tests.push(op === '!=' ? (l) => l[key] !== value : (l) => l[key] === value);
    } else if (KEY.test(t)) {
      tests.push((l) => t in l);
    } else return bad('is not understood');
  }
  return { ok: true, value: (labels) => tests.every((f) => f(labels)) };
}
