/** Flags shared by `meshtap edges`, `routes` and `advise network-policy`: where to ask, which window. */
import { parseDurationMs, stringFlag, UsageError, type OptionSpec, type ParsedArgs } from '../common/index.js';
import { connectionFromArgs, SOURCE_HELP, SOURCE_OPTIONS, type EdgesSource } from '../tap-api/index.js';

export const EDGES_SOURCE_OPTIONS: OptionSpec = {
  window: { type: 'string', short: 't' },
  ...SOURCE_OPTIONS,
  prometheus: { type: 'string' },
};

export const EDGES_SOURCE_HELP = `  -t, --window DURATION     window (default 1m; 1s to 1h)
${SOURCE_HELP}
      --prometheus URL      compute from this Prometheus (HTTP API) instead; no tap API, no RBAC of ours`;

/** Window text (as the API takes it: `30s`, `1m`, `1h`) and milliseconds. */
export function windowFromArgs(args: ParsedArgs, cmd: string, fallback = '1m'): { window: string; windowMs: number } {
  const text = stringFlag(args, 'window', undefined, fallback)!;
  const windowMs = parseDurationMs(text, '--window');
  if (windowMs < 1000 || windowMs > 3_600_000 || windowMs % 1000 !== 0) throw new UsageError(`${cmd}: --window must be whole seconds between 1s and 1h (e.g. 30s, 1m, 1h), not '${text}'`);
  const window = windowMs % 3_600_000 === 0 ? `${windowMs / 3_600_000}h` : windowMs % 60_000 === 0 ? `${windowMs / 60_000}m` : `${windowMs / 1000}s`;
  return { window, windowMs };
}

/** `--prometheus`, else the tap API or cluster connection flags (a usage error when none). */
export function edgesSourceFromArgs(args: ParsedArgs, cmd: string): EdgesSource {
  const prometheus = stringFlag(args, 'prometheus');
  if (prometheus) return { prometheus };
  return { connection: connectionFromArgs(cmd, args) };
}
