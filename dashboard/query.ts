/**
 * One query language with the CLI: the dashboard's query text is parsed by the same flag parser
 * (`parseCommandArgs` with `FILTER_OPTIONS`) and filter builder (`filtersFromArgs`) as
 * `meshtap tap`, so the dashboard cannot accept a query the CLI would read differently, and
 * "copy as CLI command" is the query text behind `meshtap tap TARGET -n NS`. Besides the filters it
 * takes `--reveal-header NAME` (repeatable), as `meshtap tap` does: the tap API decides, by the
 * same permission (tap-bodies) and grant, whether the header may be shown.
 */
import { listFlag, parseCommandArgs, parseDurationMs, UsageError, type OptionSpec } from '../common/index.js';
import type { TapFilter } from '../tap-protocol/index.js';
import { FILTER_OPTIONS, filtersFromArgs, hiddenHeaderFilterError } from '../tap-api/index.js';
import { joinQuery, splitQuery } from './query-text.js';

export type QueryResult = { ok: true; matches: TapFilter[][]; revealHeaders: string[]; words: string[] } | { ok: false; error: string };

/** What the query bar takes: `meshtap tap`'s filter flags and its `--reveal-header`. */
export const QUERY_OPTIONS: OptionSpec = { ...FILTER_OPTIONS, 'reveal-header': { type: 'string', multiple: true } };

/** An HTTP header name (RFC 9110 token), or `*` (every sensitive header, as the CLI takes it). */
const HEADER_NAME = /^(\*|[!#$%&'*+.^_`|~0-9A-Za-z-]+)$/;

/** Longest query text accepted (a URL parameter; the sidecars bound regexes themselves). */
export const MAX_QUERY_CHARS = 4096;

/** Parses query text (the tap filter flags) into the tap request's OR-of-ANDs matches. */
export function parseQuery(text: string): QueryResult {
  if (text.length > MAX_QUERY_CHARS) return { ok: false, error: `the query is longer than ${MAX_QUERY_CHARS} characters` };
  const split = splitQuery(text);
  if (!split.ok) return { ok: false, error: split.error };
  const words = split.words;
  if (words.includes('--help') || words.includes('-h')) return { ok: false, error: 'the query takes filter flags and --reveal-header only (see `meshtap tap --help`)' };
  // A word after an unknown flag is that flag's value as the user meant it: the flag is the mistake
  // ('--reveal-header x-api-key' said "'x-api-key' is not a filter flag").
  const strayAt = words.findIndex((w, i) => !w.startsWith('--') && (i === 0 || !takesValue(words[i - 1]!)));
  const unknownAt = words.findIndex((w) => w.startsWith('--') && QUERY_OPTIONS[w.replace(/^--/, '').split('=')[0]!] === undefined);
  const stray = strayAt !== -1 && (unknownAt === -1 || strayAt < unknownAt) ? words[strayAt] : undefined;
  if (stray !== undefined) return { ok: false, error: `'${stray}' is not a filter flag; write e.g. --path /api --status 5xx` };
  try {
    const args = parseCommandArgs({ name: 'query', summary: '', help: '', options: QUERY_OPTIONS, allowPositionals: false }, words);
    if (!args) return { ok: false, error: 'the query takes filter flags and --reveal-header only' };
    const revealHeaders = listFlag(args, 'reveal-header');
    const bad = revealHeaders.find((h) => !HEADER_NAME.test(h));
    if (bad !== undefined) return { ok: false, error: `--reveal-header: '${bad}' is not a header name (e.g. --reveal-header authorization)` };
    const matches = filtersFromArgs(args);
    // The tap API would refuse it (a filter on a hidden value is an oracle); say so before asking.
    const hidden = hiddenHeaderFilterError(matches, revealHeaders);
    if (hidden !== undefined) return { ok: false, error: hidden };
    return { ok: true, matches, revealHeaders: [...new Set(revealHeaders.map((h) => h.toLowerCase()))], words };
  } catch (err) {
    const message = err instanceof UsageError ? err.message.replace(/ \(see 'meshtap query --help'\)$/, '').replace(/^query: /, '') : String(err);
    return { ok: false, error: message };
  }
}

function takesValue(flag: string): boolean {
  const name = flag.replace(/^--/, '').split('=')[0]!;
  return flag.startsWith('--') && !flag.includes('=') && QUERY_OPTIONS[name]?.type === 'string';
}

/** What a tap source means in CLI flags. */
export interface CliSource {
  /** `live` or `history` (flight recorders). */
  source: 'live' | 'history';
  /** History window, e.g. `5m`. */
  since?: string;
  maxRps?: number;
}

/** The `meshtap tap …` command line that shows what the dashboard shows. */
export function cliCommand(target: string, namespace: string, query: string, s: CliSource): string {
  const split = splitQuery(query);
  const words = ['meshtap', 'tap', target];
  if (!target.startsWith('ns/')) words.push('-n', namespace);
  if (split.ok) words.push(...split.words);
  if (s.source === 'history') words.push('--since', s.since ?? '5m');
  if (s.maxRps !== undefined) words.push('--max-rps', String(s.maxRps));
  return joinQuery(words);
}

/** Parses the history window (`5m`) the way `meshtap tap --since` does. */
export function parseSince(text: string): { ok: true; ms: number } | { ok: false; error: string } {
  try {
    return { ok: true, ms: parseDurationMs(text, '--since') };
  } catch (err) {
    return { ok: false, error: (err as Error).message };
  }
}
