/** `meshtap top`: a live table of a workload's busiest paths, from a tap stream. */
import { parseCount, parseDurationMs, stringFlag, UsageError, MeshtapError } from '../common/index.js';
import type { TapMessage, TapRequest } from '../tap-protocol/index.js';
import { openSource, describeSidecarError, type TapSource, runTop, FILTER_HELP, FILTER_OPTIONS, filtersFromArgs } from '../tap-api/index.js';
import type { Command } from './command.js';

const help = `Live table of the busiest (source, destination, method, path) of a workload, like 'linkerd viz top'.

Usage:
  meshtap top TARGET [-n NS] [filters] [flags]       TARGET: deploy/NAME, pod/NAME, ns/NAME, sts/…, ds/…, job/…
  meshtap top --proxy HOST:PORT [filters] [flags]    one sidecar's tap port directly (loopback, local mode)

On a terminal the table is redrawn in place every --refresh; otherwise (a pipe) it is printed
once when the stream ends (--limit, --duration, Ctrl-C). Counts completed exchanges; Best/Worst/
Last are response latencies; Success Rate excludes 5xx and failing gRPC statuses.

${FILTER_HELP}

Flags:
  -n, --namespace NS        namespace of TARGET (default: default)
      --max-rps N           most exchanges per second (default 100, split across pods)
      --limit N             stop after N exchanges
      --duration DURATION   stop after this long (e.g. 30s)
      --refresh DURATION    redraw period on a terminal (default 1s)
      --tap-api URL         the tap API (env MESHTAP_TAP_API, or tapApi: in ~/.config/meshtap/config.yaml)
      --token TOKEN         bearer token (env MESHTAP_TOKEN, or token: in the config file; MESHTAP_CONFIG names another file)
      --proxy HOST:PORT     a sidecar's tap address instead of a TARGET

Examples:
  meshtap top deploy/web -n shop
  meshtap top deploy/web --path /api --duration 10s | head
`;

const command: Command = {
  spec: {
    name: 'top',
    summary: 'live table of the busiest paths of a workload',
    help,
    allowPositionals: true,
    options: {
      ...FILTER_OPTIONS,
      namespace: { type: 'string', short: 'n' },
      'max-rps': { type: 'string' },
      limit: { type: 'string' },
      duration: { type: 'string' },
      refresh: { type: 'string' },
      'tap-api': { type: 'string' },
      token: { type: 'string' },
      proxy: { type: 'string' },
    },
  },
  async run(args) {
    if (args.positionals.length > 1) throw new UsageError(`top: one TARGET only (got ${args.positionals.join(' ')})`);
    const target = args.positionals[0];
    const proxy = stringFlag(args, 'proxy');
    const namespace = stringFlag(args, 'namespace', undefined, 'default')!;
    let source: TapSource;
    if (proxy) source = { proxy };
    else {
      if (!target) throw new UsageError("top: give a TARGET (e.g. deploy/web) or --proxy HOST:PORT; see 'meshtap top --help'");
      const url = stringFlag(args, 'tap-api', 'MESHTAP_TAP_API');
      if (!url) throw new UsageError('top: --tap-api URL (or MESHTAP_TAP_API) is needed to tap a TARGET');
      const token = stringFlag(args, 'token', 'MESHTAP_TOKEN');
      source = { tapApi: { url, namespace, target, ...(token ? { token } : {}) } };
    }
    const request: TapRequest = { matches: filtersFromArgs(args), bodies: false };
    const maxRps = stringFlag(args, 'max-rps');
    if (maxRps) request.maxRps = parseCount(maxRps, '--max-rps');
    const limit = stringFlag(args, 'limit');
    const limitN = limit ? parseCount(limit, '--limit') : undefined;
    const duration = stringFlag(args, 'duration');
    const durationMs = duration ? parseDurationMs(duration, '--duration') : undefined;
    const refresh = stringFlag(args, 'refresh');

    const notices: string[] = [];
    const stream = openSource(source, request, (n) => notices.push(n.message));
    let stopped = false;
    const stop = (): void => {
      stopped = true;
      stream.cancel();
    };
    process.once('SIGINT', stop);
    process.once('SIGTERM', stop);
    const timer = durationMs ? setTimeout(stop, durationMs) : undefined;
    let ends = 0;
    async function* limited(): AsyncGenerator<TapMessage> {
      try {
        for await (const m of stream.messages) {
          yield m;
          if (m.type === 'event' && m.event.kind === 'end' && limitN !== undefined && ++ends >= limitN) {
            stop();
            return;
          }
        }
      } catch (err) {
        if (stopped) return; // cancelled on purpose
        throw proxy && !(err instanceof MeshtapError) ? describeSidecarError(proxy, err) : err;
      }
    }
    try {
      await runTop({
        messages: limited(),
        out: process.stdout,
        title: proxy ? `top ${proxy}` : `top ${target} -n ${namespace}`,
        ...(refresh ? { refreshMs: parseDurationMs(refresh, '--refresh') } : {}),
      });
    } finally {
      if (timer) clearTimeout(timer);
      process.off('SIGINT', stop);
      process.off('SIGTERM', stop);
      for (const n of notices) process.stderr.write(`meshtap: ${n}\n`);
    }
    return 0;
  },
};

export default command;
