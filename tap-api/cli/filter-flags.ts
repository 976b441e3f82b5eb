/**
 * The tap filter flags shared by tap, top, record, replay, mock and convert -> TapFilter[][]
 * (same flag names as DESIGN §7).
 * `--not` negates the next filter flag; `--or` starts a new match (OR across matches).
 */
import { UsageError, parseDurationMs, type OptionSpec, type ParsedArgs } from '../../common/index.js';
import { compilePathRegex, parseGrpcStatus, type TapFilter } from '../../tap-protocol/index.js';

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

/** Builds the OR-of-ANDs filter list from the command line, in command-line order. */
export function filtersFromArgs(args: ParsedArgs): TapFilter[][] {
  const groups: TapFilter[][] = [[]];
  let negateNext = false;
  for (const token of args.tokens) {
    if (token.kind !== 'option') continue;
    if (token.name === 'not') {
      negateNext = true;
      continue;
    }
    if (token.name === 'or') {
      if (groups[groups.length - 1]!.length > 0) groups.push([]);
      continue;
    }
    if (!(token.name in FILTER_OPTIONS) || token.value === undefined) continue;
    const filter = toFilter(token.name, token.value);
    if (negateNext) filter.negate = true;
    negateNext = false;
    groups[groups.length - 1]!.push(filter);
  }
  if (negateNext) throw new UsageError('--not must be followed by a filter flag');
  return groups.filter((g) => g.length > 0);
}
