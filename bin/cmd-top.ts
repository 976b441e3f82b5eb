/** `meshtap top`: a live table of a workload's busiest paths, from a tap stream. */
import { onCleanup, parseCount, parseDurationMs, parseConnectAddress, setLongTimeout, stringFlag, UsageError, MeshtapError } from '../common/index.js';
import { isSidecarStopped, type TapMessage, type TapRequest, type TapStream } from '../tap-protocol/index.js';
import {
  onStopSignals,
  connectionFromArgs,
  describeSidecarError,
  FILTER_HELP,
  FILTER_OPTIONS,
  filtersFromArgs,
  refuseHiddenHeaderFilters,
  openAllNamespaces,
  openSource,
  runTop,
  sidecarStoppedNote,
  SELECTOR_HELP,
  SELECTOR_OPTION,
  selectorFromArgs,
  SOURCE_HELP,
  SOURCE_OPTIONS,
  sourceFor,
  targetFromArgs,
  TOP_MAX_RPS_HELP,
  TOP_SORT_KEYS,
  type TapSource,
  type TopSortKey,
} from '../tap-api/index.js';
import type { Command } from './command.js';

const help = `Live table of the busiest (source, destination, method, path) of a workload, like 'linkerd viz top'.

Usage:
  meshtap top TARGET [-n NS] [filters] [flags]       TARGET: deploy/NAME, pod/NAME, ns/NAME, sts/…, ds/…, job/…
  meshtap top --proxy HOST:PORT [filters] [flags]    one sidecar's tap port directly (loopback, local mode)

On a terminal the table is redrawn in place every --refresh; otherwise (a pipe) it is printed
once when the stream ends (--limit, --duration, Ctrl-C), or without either of those every
--refresh (as 'top -b' does). Counts completed exchanges; Best/Worst/Last are response
latencies; Success Rate excludes 5xx and failing gRPC statuses. Exit status: 0 at q, --limit or
--duration, 130 at Ctrl-C, 1 on a failure, 2 on a usage error.

${FILTER_HELP}

Flags:
  -n, --namespace NS        namespace of TARGET (default: default; through Kubernetes: the context's)
  -A, --all-namespaces      every namespace with meshed pods (no TARGET)
${TOP_MAX_RPS_HELP}
      --reveal-header NAME  lets --header filter on this sensitive header (needs the body permission)
      --limit N             stop after N exchanges
      --duration DURATION   stop after this long (e.g. 30s)
      --refresh DURATION    redraw period on a terminal (default 1s)
      --sort KEY            count (default), worst, best, last, success (least first), path
  -o, --output FORMAT       table (default), json or yaml: the rows once, at the end
${SELECTOR_HELP}
${SOURCE_HELP}
      --proxy HOST:PORT     a sidecar's tap address instead of a TARGET

On a terminal: q quits, s changes the sort. Paths are shown without their query string
(/api/vote?… is one row for every query).

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
      'all-namespaces': { type: 'boolean', short: 'A' },
      sort: { type: 'string' },
      output: { type: 'string', short: 'o' },
      'max-rps': { type: 'string' },
      'reveal-header': { type: 'string', multiple: true },
      limit: { type: 'string' },
      duration: { type: 'string' },
      refresh: { type: 'string' },
      ...SOURCE_OPTIONS,
      ...SELECTOR_OPTION,
      proxy: { type: 'string' },
    },
  },
  async run(args) {
    const target = targetFromArgs('top', args.positionals);
    const proxyFlag = stringFlag(args, 'proxy');
    // A usage mistake, said before anything is contacted.
    const proxy = proxyFlag === undefined ? undefined : parseConnectAddress(proxyFlag, '--proxy');
    const namespace = stringFlag(args, 'namespace');
    const all = args.values['all-namespaces'] === true;
    const format = stringFlag(args, 'output', undefined, 'table')!;
    if (format !== 'table' && format !== 'json' && format !== 'yaml') throw new UsageError(`top: -o takes table, json or yaml, not '${format}'`);
    const sortBy = stringFlag(args, 'sort', undefined, 'count')!;
    if (!(TOP_SORT_KEYS as readonly string[]).includes(sortBy)) throw new UsageError(`top: --sort takes ${TOP_SORT_KEYS.join(', ')}, not '${sortBy}'`);
    const selector = selectorFromArgs('top', args);
    if (proxy) {
      if (target || all) throw new UsageError('top: give a TARGET, -A or --proxy, not two of them');
      if (selector) throw new UsageError('top: -l selects pods through the tap API; --proxy taps one sidecar (drop one of them)');
    } else if (all) {
      if (target) throw new UsageError(`top: -A taps every namespace; drop ${target} (or drop -A)`);
    } else if (!target && !selector) throw new UsageError("top: give a TARGET (e.g. deploy/web), -l SELECTOR, -A, or --proxy HOST:PORT; see 'meshtap top --help'");
    // Every flag is checked before the tap API or kubeconfig is looked for or contacted.
    const reveal = args.values['reveal-header'] as string[] | undefined;
    // Only ends: the table counts finished exchanges (TapRequest.endsOnly). --reveal-header only so
    // that a --header filter on a sensitive header can be asked for (the table shows no headers).
    const matches = filtersFromArgs(args);
    refuseHiddenHeaderFilters('top', matches, reveal);
    const request: TapRequest = { matches, bodies: false, endsOnly: true, ...(reveal ? { revealHeaders: reveal } : {}) };
    const maxRps = stringFlag(args, 'max-rps');
    if (maxRps !== undefined) request.maxRps = parseCount(maxRps, '--max-rps');
    const limit = stringFlag(args, 'limit');
    const limitN = limit !== undefined ? parseCount(limit, '--limit') : undefined;
    const duration = stringFlag(args, 'duration');
    const durationMs = duration !== undefined ? parseDurationMs(duration, '--duration', { aboveZero: true }) : undefined;
    const refresh = stringFlag(args, 'refresh');
    const refreshMs = refresh !== undefined ? parseDurationMs(refresh, '--refresh') : undefined;
    if (refreshMs !== undefined && refreshMs < 100) throw new UsageError(`top: --refresh ${refresh} is too fast; 100ms at least (e.g. 1s)`);

    let source: TapSource | undefined = proxy ? { proxy } : undefined;
    const connection = proxy ? undefined : connectionFromArgs('top', args);
    if (!source && !all) source = sourceFor(connection!, target ?? `ns/${namespace ?? 'default'}`, namespace, selector);

    const notices: string[] = [];
    const stream: TapStream = source ? openSource(source, request, (n) => notices.push(n.message)) : openAllNamespaces(connection!, request, (n) => notices.push(n.message), selector);
    let stopped = false;
    // Ctrl-C (SIGINT, or the key on a terminal in raw mode): exit 130 once the final table is out (interrupt.ts).
    const stop = (): void => {
      stopped = true;
      stream.cancel();
    };
    const signals = onStopSignals(stop);
    const unregister = onCleanup(stop);
    const timer = durationMs ? setLongTimeout(stop, durationMs) : undefined;
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
        if (proxy && isSidecarStopped(err)) {
          notices.push(sidecarStoppedNote(proxy));
          return;
        }
        throw proxy && !(err instanceof MeshtapError) ? describeSidecarError(proxy, err) : err;
      }
    }
    try {
      await runTop({
        messages: limited(),
        out: process.stdout,
        title: proxy ? `top ${proxy}` : all ? 'top -A' : `top ${target}${namespace ? ` -n ${namespace}` : ''}`,
        sortBy: sortBy as TopSortKey,
        format,
        keys: process.stdin,
        onQuit: stop,
        onInterrupt: signals.interrupt,
        // No --limit/--duration: nothing would reach a pipe until Ctrl-C (`top | head` waited forever).
        batch: limitN === undefined && durationMs === undefined,
        ...(refreshMs !== undefined ? { refreshMs } : {}),
      });
    } finally {
      timer?.clear();
      unregister();
      signals.off();
      for (const n of notices) process.stderr.write(`meshtap: ${n}\n`);
    }
    return signals.exitCode();
  },
};

export default command;
