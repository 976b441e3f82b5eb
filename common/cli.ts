/**
 * kubectl-shaped command-line parsing shared by every `meshtap` command: strict flags,
 * `--help` on every command, one-line usage errors (exit 2) that say what to do next.
 * Built on node:util parseArgs (no dependency).
 */
import { parseArgs, type ParseArgsConfig } from 'node:util';
import { configValueFor } from './config.js';
import { UsageError } from './errors.js';
import { wrapHelpText } from './help-text.js';

export type OptionSpec = NonNullable<ParseArgsConfig['options']>;

export interface CommandSpec {
  /** e.g. `proxy` */
  name: string;
  /** One line for `meshtap --help`. */
  summary: string;
  /** Full `--help` text (usage, flags, examples). */
  help: string;
  options: OptionSpec;
  /** Whether positionals are accepted (e.g. TARGET). */
  allowPositionals?: boolean;
}

export interface ParsedArgs {
  values: Record<string, string | boolean | string[] | boolean[] | undefined>;
  positionals: string[];
  /** Tokens in command-line order (for order-sensitive flags such as `--not`). */
  tokens: NonNullable<ReturnType<typeof parseArgs>['tokens']>;
}

/**
 * Parses argv for a command. Throws UsageError with a one-line message on an unknown flag
 * or a missing value. Returns undefined when `--help` was asked (help already printed).
 */
export function parseCommandArgs(spec: CommandSpec, argv: string[]): ParsedArgs | undefined {
  if (argv.includes('--help') || argv.includes('-h')) {
    const dashdash = argv.indexOf('--');
    const helpAt = Math.max(argv.indexOf('--help'), argv.indexOf('-h'));
    if (dashdash === -1 || helpAt < dashdash) {
      const help = wrapHelpText(spec.help);
      process.stdout.write(help.endsWith('\n') ? help : help + '\n');
      return undefined;
    }
  }
  try {
    const parsed = parseArgs({
      args: argv,
      options: spec.options,
      allowPositionals: spec.allowPositionals ?? false,
      strict: true,
      tokens: true,
    });
    return { values: parsed.values as ParsedArgs['values'], positionals: parsed.positionals, tokens: parsed.tokens ?? [] };
  } catch (err) {
    const msg = (err instanceof Error ? err.message.split('\n')[0]! : String(err))
      .replace(/\. To specify a positional.*$/, '')
      // node says "Option '--limit' argument is ambiguous." for `--limit -1`: say what to write.
      .replace(/^Option '(--[^']+)' argument is ambiguous\.$/, "$1 needs a value; one that starts with '-' is written $1=VALUE");
    // A misspelled flag names the closest real one, as an unknown command does ('--tap-ap' -> '--tap-api').
    const unknown = /^Unknown option '--([^'=]+)'/.exec(msg)?.[1];
    const near = unknown === undefined ? undefined : suggestClosest(unknown, Object.keys(spec.options));
    throw new UsageError(`${spec.name}: ${msg}${near ? `; did you mean '--${near}'?` : ''} (see 'meshtap ${spec.name} --help')`);
  }
}

/** Reads a string flag, or its environment variable, or the config file's value for it, or a default. */
export function stringFlag(args: ParsedArgs, name: string, envName?: string, fallback?: string): string | undefined {
  const v = args.values[name];
  if (typeof v === 'string') return v;
  if (envName && process.env[envName]) return process.env[envName];
  if (envName) {
    const fromFile = configValueFor(envName);
    if (fromFile !== undefined) return fromFile;
  }
  return fallback;
}

/** Reads a repeatable string flag as a list. */
export function listFlag(args: ParsedArgs, name: string): string[] {
  const v = args.values[name];
  if (v === undefined) return [];
  return (Array.isArray(v) ? v : [v]).map(String);
}

/**
 * Parses `5m`, `30s`, `100ms`, `1h`, `1m30s` into milliseconds. A unit is required (as kubectl's
 * and Go's durations): a bare `30` could mean 30 ms or 30 s, and guessing wrong filters silently.
 * `aboveZero`: a flag for which zero means nothing useful (a window, a timeout, a run's length) refuses
 * `0s` rather than printing an empty table or stopping at once.
 */
export function parseDurationMs(text: string, flag: string, opts: { aboveZero?: boolean; atMostHours?: number } = {}): number {
  const t = text.trim();
  if (/^\d+(?:\.\d+)?$/.test(t)) throw new UsageError(`${flag}: '${text}' has no unit; add one, e.g. ${t}ms or ${t}s`);
  const UNIT: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 };
  const re = /(\d+(?:\.\d+)?)(ms|s|m|h)/gy;
  let total = 0;
  let at = 0;
  let m: RegExpExecArray | null;
  while (at < t.length && (m = re.exec(t)) !== null) {
    total += Number(m[1]) * UNIT[m[2]!]!;
    at = re.lastIndex;
  }
  if (t === '' || at !== t.length) throw new UsageError(`${flag}: '${text}' is not a duration; use e.g. 500ms, 30s, 5m, 1h`);
  if (opts.aboveZero && total === 0) throw new UsageError(`${flag}: '${text}' is zero; give a duration above zero, e.g. 30s`);
  if (opts.atMostHours !== undefined && total > opts.atMostHours * 3_600_000) throw new UsageError(`${flag}: '${text}' is too long; give at most ${opts.atMostHours}h`);
  return total;
}

/** RFC 3339 date-time, with a zone (`2026-12-06T05:00:00Z`, `…+01:00`, fractions allowed). */
const RFC3339 = /^\d{4}-\d{2}-\d{2}[Tt ]\d{2}:\d{2}:\d{2}(\.\d+)?([Zz]|[+-]\d{2}:\d{2})$/;

/**
 * Parses a point in time as Hubble's `--since/--until` do: a duration back from now (`5m`) or
 * an absolute RFC 3339 time (`2026-12-06T05:00:00Z`). Returns epoch ms.
 */
export function parseTimeOrAgo(text: string, flag: string, nowMs = Date.now()): number {
  const t = text.trim();
  if (RFC3339.test(t)) {
    const ms = Date.parse(t);
    if (!Number.isNaN(ms)) return ms;
  }
  if (/^\d{4}-/.test(t)) throw new UsageError(`${flag}: '${text}' is not an RFC 3339 time; e.g. 2026-12-06T05:00:00Z or 2026-12-06T06:00:00+01:00`);
  try {
    return nowMs - parseDurationMs(t, flag);
  } catch (err) {
    if (/^\d+(?:\.\d+)?$/.test(t)) throw err; // "has no unit" says it best
    throw new UsageError(`${flag}: '${text}' is neither a duration (5m, 1h) nor an RFC 3339 time (2026-12-06T05:00:00Z)`);
  }
}

/** Parses a positive integer flag. */
export function parseCount(text: string, flag: string): number {
  if (!/^\d+$/.test(text) || Number(text) <= 0) throw new UsageError(`${flag}: '${text}' is not a positive whole number`);
  return Number(text);
}

/** Parses a byte size: `64KiB`, `8MiB`, `1048576`, `4k`, `2M`. */
export function parseBytes(text: string, flag: string): number {
  const m = /^(\d+)\s*(b|k|kb|kib|m|mb|mib|g|gb|gib)?$/i.exec(text.trim());
  if (!m) throw new UsageError(`${flag}: '${text}' is not a size; use e.g. 65536, 64KiB, 8MiB`);
  const unit = (m[2] ?? 'b').toLowerCase();
  const mult = unit.startsWith('k') ? 1024 : unit.startsWith('m') ? 1024 ** 2 : unit.startsWith('g') ? 1024 ** 3 : 1;
  return Number(m[1]) * mult;
}

/** Splits `host:port` / `[v6]:port` / `:port` into parts. */
export function parseHostPort(text: string, flag: string): { host: string; port: number } {
  const m = /^(?:\[([^\]]+)\]|([^:]*)):(\d{1,5})$/.exec(text.trim());
  const port = m ? Number(m[3]) : NaN;
  if (!m || port > 65535) throw new UsageError(`${flag}: '${text}' is not HOST:PORT (e.g. 127.0.0.1:4191)`);
  return { host: m[1] ?? (m[2] || '0.0.0.0'), port };
}

/**
 * An address to connect to (`--proxy`, `--admin` of `stat`): HOST:PORT with a host and a port
 * other than 0, returned as the text to connect to (`[v6]:port` kept bracketed). `:4190` is a
 * listen address (every interface): as a destination node's URL parser threw "Invalid URL" and
 * the commands printed a stack (review13).
 */
export function parseConnectAddress(text: string, flag: string): string {
  const { host, port } = parseHostPort(text, flag);
  if (/^\s*:/.test(text) || port === 0) throw new UsageError(`${flag}: '${text}' is not an address to connect to: ${port === 0 ? 'port 0 means any free port when listening' : 'give its host'} (e.g. 127.0.0.1:4191)`);
  return host.includes(':') ? `[${host}]:${port}` : `${host}:${port}`;
}

/** Edit distance counting a swap of two neighbours as one edit (`tpa` → `tap` is 1). */
export function editDistance(a: string, b: string): number {
  const d: number[][] = Array.from({ length: a.length + 1 }, (_, i) => Array.from({ length: b.length + 1 }, (_, j) => (i === 0 ? j : j === 0 ? i : 0)));
  for (let i = 1; i <= a.length; i++) {
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      d[i]![j] = Math.min(d[i - 1]![j]! + 1, d[i]![j - 1]! + 1, d[i - 1]![j - 1]! + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) d[i]![j] = Math.min(d[i]![j]!, d[i - 2]![j - 2]! + 1);
    }
  }
  return d[a.length]![b.length]!;
}

/**
 * The candidate closest to a mistyped word, for "did you mean …?" (as kubectl and git do);
 * undefined when nothing is close (at most 2 edits, and fewer than the word's length).
 */
export function suggestClosest(word: string, candidates: Iterable<string>): string | undefined {
  let best: string | undefined;
  let bestD = Infinity;
  for (const c of candidates) {
    const dist = editDistance(word.toLowerCase(), c.toLowerCase());
    if (dist < bestD) {
      best = c;
      bestD = dist;
    }
  }
  return best !== undefined && bestD <= Math.min(2, Math.max(1, word.length - 1)) ? best : undefined;
}
