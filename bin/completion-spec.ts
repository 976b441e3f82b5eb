/**
 * What shell completion offers for each command, derived from the command table (bin/commands.ts)
 * and each command's own parse spec and `--help` text, so completion cannot drift from what the
 * CLI accepts: flags come from the spec the parser uses; what a flag's value may be comes from the
 * metavar its help line shows (`-o, --output FORMAT  text (default), wide, json`, `--direction
 * in|out|all`, `--kubeconfig FILE`); positionals from the usage line (`TARGET`, `TYPE/NAME`, `FILE`,
 * a sub-command word such as `network-policy` or `bash|zsh|fish`).
 */
import type { CommandSpec } from '../common/index.js';
import { TARGET_SHORT_KINDS } from '../tap-api/index.js';

/** What the value of a flag or a positional completes to. */
export type ValueCompletion = { kind: 'words'; words: string[] } | { kind: 'files' } | { kind: 'targets' } | { kind: 'none' };

export interface FlagCompletion {
  /** `output` (written `--output`). */
  long: string;
  /** `o` (written `-o`). */
  short?: string;
  /** Undefined for a boolean flag (it takes no value). */
  value?: ValueCompletion;
}

export interface CommandCompletion {
  name: string;
  summary: string;
  flags: FlagCompletion[];
  positional: ValueCompletion;
}

/** Resource words a TARGET starts with (`deploy/`, `pod/`, …), as completion candidates. */
export const TARGET_PREFIXES: readonly string[] = TARGET_SHORT_KINDS.map((k) => `${k}/`);

const FILE_METAVAR = /^(FILE|DIR|PATH|OUT(\.\w+)?|[A-Z]*FILE|\w+\.(har|jsonl|yaml|json|csv|xml))$/;
/** A flag value or positional naming a workload: `TARGET`, `TYPE/NAME`, `deploy/NAME`. */
const TARGET_METAVAR = /^(TARGET|TYPE\/NAME|deploy\/NAME)$/;
/** Positionals also take a bare type (`stat deploy`, `edges TYPE [NAME]`). */
const TARGET_POSITIONAL = /^(TARGET|TYPE(\[?\/NAME\]?)?|deploy\/NAME)$/;
const WORD = /^[a-z][a-z0-9-]*=?$/;

/** `text (default), wide (adds P95) or json (EdgeList)` -> [text, wide, json]; undefined if it is prose. */
export function listedValues(description: string): string[] | undefined {
  const plain = description.replace(/\([^)]*\)/g, ' ');
  for (const part of plain.split(':')) {
    const items = part.split(/,|\bor\b/).map((x) => x.trim()).filter(Boolean);
    const words = items.map((x) => (/^([a-z][a-z0-9-]*=)[A-Z]+$/.exec(x)?.[1] ?? x));
    if (words.length >= 2 && words.every((w) => WORD.test(w))) return words;
  }
  return undefined;
}

/** The value completion of a flag from its metavar and description. */
function valueOf(metavar: string | undefined, description: string): ValueCompletion {
  if (!metavar) return { kind: 'none' };
  if (metavar.includes('|') && metavar.split('|').every((w) => WORD.test(w))) return { kind: 'words', words: metavar.split('|') };
  if (FILE_METAVAR.test(metavar)) return { kind: 'files' };
  if (TARGET_METAVAR.test(metavar)) return { kind: 'targets' };
  if (metavar === 'FORMAT' || metavar === 'MODE' || metavar === 'WHEN') {
    const words = listedValues(description);
    if (words) return { kind: 'words', words };
  }
  return { kind: 'none' };
}

/** A help text's placeholder for a value: `FILE`, `[in:|out:]LISTEN=TARGET`, `in|out|all`, `deploy/NAME`. */
const isMetavar = (t: string) => /^[A-Z[]/.test(t) || /^[a-z0-9-]+(\|[a-z0-9-]+)+$/.test(t) || /^[a-z]+\/[A-Z]+$/.test(t);

/** `--name METAVAR  description` from a help text: a flag's definition line wins over inline mentions. */
function helpLines(help: string): Map<string, { metavar?: string; description: string }> {
  const out = new Map<string, { metavar?: string; description: string }>();
  for (const line of help.split('\n')) {
    for (const m of line.matchAll(/(?:^|\s)(?:-\w, )?--([a-z][\w-]*)(?:[ =]([^\s,]+))?/g)) {
      const metavar = m[2] !== undefined && isMetavar(m[2]) ? m[2] : undefined;
      // A definition line: the flag (and metavar), two or more spaces, then prose that is not another flag.
      const rest = line.slice(m.index! + m[0].length);
      const description = /^\s{2,}(?!-)/.test(rest) ? rest.trim() : '';
      const prev = out.get(m[1]!);
      if (!prev || (prev.description === '' && description !== '')) out.set(m[1]!, { ...(metavar ? { metavar } : {}), description });
    }
  }
  return out;
}

/** The lines of a help text's `Usage:` section (up to its first blank line). */
function usageLines(help: string): string[] {
  const lines = help.split('\n');
  const start = lines.findIndex((l) => l.startsWith('Usage:'));
  if (start === -1) return [];
  const end = lines.findIndex((l, i) => i > start && l.trim() === '');
  return lines.slice(start, end === -1 ? undefined : end);
}

/** The positional completion of a command, from the first word after `meshtap NAME` in its usage lines. */
function positionalOf(name: string, help: string, spec: CommandSpec): ValueCompletion {
  if (!spec.allowPositionals) return { kind: 'none' };
  const first = usageLines(help)
    .flatMap((l) => [...l.matchAll(new RegExp(`meshtap ${name} ([^\\s]+)`, 'g'))].map((m) => m[1]!))
    .filter((w) => !w.startsWith('-') && !w.startsWith('['));
  const subs = first.filter((w) => w.split('|').every((x) => WORD.test(x)));
  if (subs.length) return { kind: 'words', words: [...new Set(subs.flatMap((w) => w.split('|')))] };
  if (first.some((w) => TARGET_POSITIONAL.test(w))) return { kind: 'targets' };
  if (first.some((w) => FILE_METAVAR.test(w))) return { kind: 'files' };
  return { kind: 'none' };
}

/** One command's completion, from its table entry and its loaded spec. */
export function completionOf(name: string, summary: string, spec: CommandSpec): CommandCompletion {
  const lines = helpLines(spec.help);
  // A flag shown only by its short name in a usage line (`[-o text|wide|json]`).
  for (const [long, o] of Object.entries(spec.options)) {
    if (!o.short || lines.get(long)?.metavar) continue;
    const m = new RegExp(`(?:^|[\\s\\[])-${o.short} ([^\\s\\],]+)`, 'm').exec(spec.help);
    if (m && isMetavar(m[1]!)) lines.set(long, { metavar: m[1]!, description: lines.get(long)?.description ?? '' });
  }
  const flags: FlagCompletion[] = Object.entries(spec.options).map(([long, o]) => {
    const line = lines.get(long);
    return {
      long,
      ...(o.short ? { short: o.short } : {}),
      ...(o.type === 'string' ? { value: valueOf(line?.metavar, line?.description ?? '') } : {}),
    };
  });
  flags.push({ long: 'help', short: 'h' });
  return { name, summary, flags, positional: positionalOf(name, spec.help, spec) };
}
