/**
 * The tap filter flags shared by tap, top, record, replay, mock and convert -> TapFilter[][]
 * (same flag names as DESIGN §7).
 * `--not` negates the next filter flag; `--or` starts a new match (OR across matches).
 */
import { UsageError, parseDurationMs, type OptionSpec, type ParsedArgs } from '../../common/index.js';
import { compilePathRegex, DEFAULT_SENSITIVE_HEADERS, filteredHeaderNames, parseGrpcStatus, type TapFilter } from '../../tap-protocol/index.js';

/** Flag definitions to merge into a command's options. */
export const FILTER_OPTIONS: OptionSpec = {
  method: { type: 'string', multiple: true },
  scheme: { type: 'string', multiple: true },
  authority: { type: 'string', multiple: true },
  path: { type: 'string', multiple: true },
  'path-regex': { type: 'string', multiple: true },
  header: { type: 'string', multiple: true },
  src: { type: 'string', multiple: true },
  dst: { type: 'string', multiple: true },
  status: { type: 'string', multiple: true },
  'grpc-status': { type: 'string', multiple: true },
  'min-latency': { type: 'string', multiple: true },
  to: { type: 'string', multiple: true },
  'to-namespace': { type: 'string', multiple: true },
  not: { type: 'boolean', multiple: true },
  or: { type: 'boolean', multiple: true },
};

/** Help lines describing the filter flags. */
export const FILTER_HELP = `Filters (AND; --or starts another group; --not negates the next filter):
  --method M  --scheme S  --authority A  --path PREFIX  --path-regex RE
  --header NAME=VALUE  --src IP[:PORT]  --dst IP[:PORT]  --status 5xx|404
  --grpc-status CODE|NAME  --min-latency 100ms  --to deploy/NAME  --to-namespace NS
  --path-regex is RE2 syntax (no backreferences or lookaround); --header on a redacted header
  (authorization, cookie, ...) needs --reveal-header NAME too.`;

function toFilter(name: string, value: string): TapFilter {
  switch (name) {
    case 'method':
      return { field: 'method', value: value.toUpperCase() };
    case 'scheme':
    case 'authority':
    case 'src':
    case 'dst':
      return { field: name, value };
    case 'path':
      return { field: 'pathPrefix', value };
    case 'path-regex':
      {
        // The sidecars run path regexes on RE2 (linear time): say now what they would refuse.
        const re = compilePathRegex(value);
        if (!re.ok) throw new UsageError(`--path-regex: ${re.error}`);
      }
      return { field: 'pathRegex', value };
    case 'header': {
      const eq = value.indexOf('=');
      if (eq <= 0) throw new UsageError(`--header: '${value}' is not NAME=VALUE`);
      return { field: 'header', name: value.slice(0, eq), value: value.slice(eq + 1) };
    }
    case 'status':
      if (!/^([1-5]xx|[1-5]\d\d)$/i.test(value)) throw new UsageError(`--status: '${value}' is not a status (404) or class (5xx)`);
      return { field: 'status', value: value.toLowerCase() };
    case 'grpc-status':
      if (parseGrpcStatus(value) === undefined) throw new UsageError(`--grpc-status: '${value}' is not a gRPC status code or name`);
      return { field: 'grpcStatus', value };
    case 'min-latency':
      return { field: 'minLatencyMs', value: parseDurationMs(value, '--min-latency') };
    case 'to':
      return { field: 'dstWorkload', value };
    case 'to-namespace':
      return { field: 'dstNamespace', value };
    default:
      throw new UsageError(`unknown filter --${name}`);
  }
}

const OR_EXAMPLE = 'e.g. --status 5xx --or --min-latency 1s';

/**
 * Builds the OR-of-ANDs filter list from the command line, in command-line order.
 * `--or` stands between two groups of filters: an empty group would be an AND of nothing, which
 * matches every exchange, so `--or` first, last or twice in a row is refused rather than read as
 * "everything" (review10 #8). `--not` negates exactly one filter flag: `--not --not` or
 * `--not --or` is refused rather than guessed at.
 */
export function filtersFromArgs(args: ParsedArgs): TapFilter[][] {
  const groups: TapFilter[][] = [[]];
  let negateNext = false;
  for (const token of args.tokens) {
    if (token.kind !== 'option') continue;
    if (token.name === 'not') {
      if (negateNext) throw new UsageError('--not twice in a row; --not negates the one filter flag after it');
      negateNext = true;
      continue;
    }
    if (token.name === 'or') {
      if (negateNext) throw new UsageError('--not must be followed by a filter flag, not --or');
      if (groups[groups.length - 1]!.length === 0) {
        throw new UsageError(`${groups.length === 1 ? '--or needs filters before it' : '--or twice in a row'}; --or stands between two groups of filters, ${OR_EXAMPLE}`);
      }
      groups.push([]);
      continue;
    }
    if (!(token.name in FILTER_OPTIONS) || token.value === undefined) continue;
    const filter = toFilter(token.name, token.value);
    if (negateNext) filter.negate = true;
    negateNext = false;
    groups[groups.length - 1]!.push(filter);
  }
  if (negateNext) throw new UsageError('--not must be followed by a filter flag');
  if (groups.length > 1 && groups[groups.length - 1]!.length === 0) throw new UsageError(`--or needs filters after it (alone it would match everything); ${OR_EXAMPLE}`);
  // No filter at all: no match list (everything), as the tap request spells it.
  return groups[0]!.length === 0 ? [] : groups;
}

/**
 * The header names every sidecar redacts (DEFAULT_SENSITIVE_HEADERS), which a `--header` filter may
 * name only when `--reveal-header` names them too: a filter on a hidden value would answer "is this
 * the secret?". The tap API and the sidecars refuse it (exit 1, after contacting them); the CLI
 * knows the built-in names and says so first. A mesh may redact more headers (`meshtap proxy
 * --redact-header`), which only the sidecars know: those stay the sidecars' refusal.
 */
const BUILT_IN_HIDDEN: ReadonlySet<string> = new Set(DEFAULT_SENSITIVE_HEADERS);

/** The one-line refusal for a `--header` filter on a built-in hidden header not revealed, or undefined. */
export function hiddenHeaderFilterError(matches: readonly TapFilter[][], revealHeaders: readonly string[] | undefined): string | undefined {
  const revealed = new Set((revealHeaders ?? []).map((h) => h.toLowerCase()));
  if (revealed.has('*')) return undefined;
  const hidden = filteredHeaderNames(matches).find((h) => BUILT_IN_HIDDEN.has(h) && !revealed.has(h));
  if (hidden === undefined) return undefined;
  return `--header ${hidden}=… filters on a header the tap shows redacted; add --reveal-header ${hidden} (needs the tap-bodies permission)`;
}

/** Throws the usage error of hiddenHeaderFilterError (tap, top, record: commands that send a tap request). */
export function refuseHiddenHeaderFilters(command: string, matches: readonly TapFilter[][], revealHeaders: readonly string[] | undefined): void {
  const error = hiddenHeaderFilterError(matches, revealHeaders);
  if (error !== undefined) throw new UsageError(`${command}: ${error}`);
}
