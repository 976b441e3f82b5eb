/**
 * `-o jsonpath=TEMPLATE`, the subset of kubectl's JSONPath templates that fits one event at a
 * time: text with `{.field.sub}`, `{.list[0]}`, `{.list[*]}` (values joined by a space, as
 * kubectl prints them) and quoted literals such as `{"\t"}`. `{range}`/filters are kubectl's
 * list tools and have no use on a stream of single events; they are refused with a usage error.
 */
import { UsageError } from '../../common/index.js';

type Step = { key: string } | { index: number } | { all: true };
type Piece = { text: string } | { path: Step[] };

/** Parses a template once; throws UsageError (exit 2) saying what is wrong. */
export function compileJsonPath(template: string, escapeValue: (text: string) => string = (t) => t): (value: unknown) => string {
  const pieces: Piece[] = [];
  let i = 0;
  while (i < template.length) {
    const open = template.indexOf('{', i);
    if (open === -1) {
      pieces.push({ text: template.slice(i) });
      break;
    }
    if (open > i) pieces.push({ text: template.slice(i, open) });
    const close = template.indexOf('}', open);
    if (close === -1) throw new UsageError(`-o jsonpath: unclosed '{' in '${template}'; e.g. -o jsonpath='{.path}'`);
    pieces.push(parseExpression(template.slice(open + 1, close).trim(), template));
    i = close + 1;
  }
  return (value) => pieces.map((p) => ('text' in p ? p.text : escapeValue(render(evaluate(value, p.path))))).join('');
}

function parseExpression(expr: string, template: string): Piece {
  const literal = /^"((?:[^"\\]|\\.)*)"$/.exec(expr) ?? /^'([^']*)'$/.exec(expr);
  if (literal) return { text: literal[1]!.replace(/\\([nt"\\])/g, (_m, c: string) => (c === 'n' ? '\n' : c === 't' ? '\t' : c)) };
  if (!expr.startsWith('.') && !expr.startsWith('$')) {
    throw new UsageError(`-o jsonpath: '{${expr}}' is not supported (fields like {.path}, {.requestHeaders[0]}, {.x[*]} and literals like {"\\t"} are); see 'meshtap tap --help'`);
  }
  const steps: Step[] = [];
  const re = /\.([A-Za-z_][A-Za-z0-9_-]*)|\[(\d+|\*)\]/gy;
  let at = expr.startsWith('$') ? 1 : 0;
  if (expr === '.' || expr === '$') return { path: [] };
  re.lastIndex = at;
  while (at < expr.length) {
    const m = re.exec(expr);
    if (!m) throw new UsageError(`-o jsonpath: cannot read '{${expr}}' in '${template}' (near '${expr.slice(at)}')`);
    if (m[1] !== undefined) steps.push({ key: m[1] });
    else if (m[2] === '*') steps.push({ all: true });
    else steps.push({ index: Number(m[2]) });
    at = re.lastIndex;
  }
  return { path: steps };
}

function evaluate(value: unknown, path: Step[]): unknown[] {
  let current: unknown[] = [value];
  for (const step of path) {
    const next: unknown[] = [];
    for (const v of current) {
      if (v === null || v === undefined) continue;
      if ('key' in step) next.push((v as Record<string, unknown>)[step.key]);
      else if ('index' in step) {
        if (Array.isArray(v)) next.push(v[step.index]);
      } else if (Array.isArray(v)) next.push(...v);
      else if (typeof v === 'object') next.push(...Object.values(v));
    }
    current = next;
  }
  return current.filter((v) => v !== undefined);
}

function render(values: unknown[]): string {
  return values.map((v) => (typeof v === 'object' && v !== null ? JSON.stringify(v) : String(v))).join(' ');
}
