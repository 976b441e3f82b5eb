import { onCleanup, parseCount, parseTimeOrAgo, setLongTimeout, parseConnectAddress, stringFlag, UsageError } from '../common/index.js';
import type { TapRequest } from '../tap-protocol/index.js';
import {
  onStopSignals,
  COLOR_HELP,
  colorFromArgs,
  connectionFromArgs,
  consumeTap,
  DEFAULT_TAP_MAX_RPS,
  MAX_RPS_HELP,
  createLineOut,
  createTapView,
  FILTER_HELP,
  FILTER_OPTIONS,
  filtersFromArgs,
  openAllNamespaces,
  openSource,
  parseTapOutput,
  probeAdminPort,
  refuseHiddenHeaderFilters,
  SELECTOR_HELP,
  SELECTOR_OPTION,
  selectorFromArgs,
  SOURCE_HELP,
  SOURCE_OPTIONS,
  sourceFor,
  targetFromArgs,
  type TapApiConnection,
  type TapSource,
} from '../tap-api/index.js';
import type { Command } from './command.js';

const help = `Stream live (and recent) requests of a workload, through the tap API, or of one sidecar.

Usage:
  meshtap tap TARGET [-n NS] [filters] [flags]       TARGET: deploy/NAME, pod/NAME, ns/NAME, sts/…, ds/…, job/…
  meshtap tap -A [filters] [flags]                   every namespace with meshed pods (needs list sidecars
                                                     cluster-wide, and a namespace tap in each)
  meshtap tap --proxy HOST:PORT [filters] [flags]    tap one sidecar's tap port directly (loopback, local mode)

${FILTER_HELP}

Flags:
  -n, --namespace NS        namespace of TARGET (default: default; through Kubernetes: the context's)
  -A, --all-namespaces      every namespace with meshed pods (no TARGET; the namespaces are read at start)
      --bodies              include request/response bodies (needs the body permission)
      --reveal-header NAME  show this sensitive header unredacted (needs the body permission)
      --since TIME          start with exchanges from the flight recorders since TIME: a duration
                            back from now (5m, 1h) or an RFC 3339 time (2026-12-06T05:00:00Z)
      --until TIME          stop at TIME (same forms as --since)
      --last N              start with the last N exchanges from the flight recorders
      --first N             start with the first (oldest) N exchanges the flight recorders hold
  -f, --follow              after --since/--last/--first, keep streaming live events
      --limit N             print N exchanges (whole: req, rsp, end), then exit
${MAX_RPS_HELP}
  -o, --output FORMAT       text (default), wide, json (one event per line), yaml, jsonpath=TEMPLATE
                            (e.g. -o jsonpath='{.method} {.path} {.status}'; one line per event)
${COLOR_HELP}
${SELECTOR_HELP}
${SOURCE_HELP}
      --proxy HOST:PORT     a sidecar's tap address instead of a TARGET

Text lines start with the event's time (local); ids are POD/CONNECTION.STREAM through the tap API.
Exit status: 0 when the tap ends by itself (--limit, --until, a history read, the sidecar stopped)
or its reader went away (| head), 130 at Ctrl-C, 1 on a failure, 2 on a usage error.

Examples:
  meshtap tap deploy/web -n emojivoto --path /api --status 5xx
  meshtap tap deploy web --since 10m --limit 20
  meshtap tap --proxy 127.0.0.1:4190 --last 20 -o json | jq .path
`;

const command: Command = {
  spec: {
    name: 'tap',
    summary: 'stream requests',
    help,
    allowPositionals: true,
    options: {
      ...FILTER_OPTIONS,
      namespace: { type: 'string', short: 'n' },
      'all-namespaces': { type: 'boolean', short: 'A' },
      bodies: { type: 'boolean' },
      'reveal-header': { type: 'string', multiple: true },
      since: { type: 'string' },
      until: { type: 'string' },
      last: { type: 'string' },
      first: { type: 'string' },
      color: { type: 'string' },
      follow: { type: 'boolean', short: 'f' },
      limit: { type: 'string' },
      'max-rps': { type: 'string' },
      output: { type: 'string', short: 'o' },
      ...SOURCE_OPTIONS,
      ...SELECTOR_OPTION,
      proxy: { type: 'string' },
    },
  },
  async run(args) {
    // Every flag is checked before anything is resolved or contacted (no config file, kubeconfig
    // or tap API): a typo in --since must say so, not "where is the tap API?" or a network error.
    const output = parseTapOutput(stringFlag(args, 'output', undefined, 'text')!);
    const color = colorFromArgs(args, 'tap');
    const proxyFlag = stringFlag(args, 'proxy');
    // A usage mistake, said before anything is contacted.
    const proxy = proxyFlag === undefined ? undefined : parseConnectAddress(proxyFlag, '--proxy');
    const target = targetFromArgs('tap', args.positionals);
    const all = args.values['all-namespaces'] === true;
    const selector = selectorFromArgs('tap', args);
    const namespace = stringFlag(args, 'namespace');
    if (proxy) {
      if (target || all) throw new UsageError('tap: give a TARGET, -A or --proxy, not two of them');
      if (selector) throw new UsageError('tap: -l selects pods through the tap API; --proxy taps one sidecar (drop one of them)');
    } else if (all) {
      if (target) throw new UsageError(`tap: -A taps every namespace; drop ${target} (or drop -A)`);
      if (namespace !== undefined) throw new UsageError('tap: -A taps every namespace; drop -n (or drop -A)');
    } else if (!target && !selector) {
      throw new UsageError("tap: which workload? e.g. 'meshtap tap deploy/web' (or -l app=web, or --proxy HOST:PORT for one sidecar)");
    }
    const now = Date.now();
    const since = stringFlag(args, 'since');
    const until = stringFlag(args, 'until');
    const last = stringFlag(args, 'last');
    const first = stringFlag(args, 'first');
    if (last !== undefined && first !== undefined) throw new UsageError('tap: give --first or --last, not both');
    const sinceEpochMs = since !== undefined ? parseTimeOrAgo(since, '--since', now) : undefined;
    const untilEpochMs = until !== undefined ? parseTimeOrAgo(until, '--until', now) : undefined;
    if (sinceEpochMs !== undefined && sinceEpochMs > now) throw new UsageError(`tap: --since ${since} is in the future`);
    if (sinceEpochMs !== undefined && untilEpochMs !== undefined && untilEpochMs < sinceEpochMs) throw new UsageError('tap: --until is before --since');
    const lastN = last !== undefined ? parseCount(last, '--last') : undefined;
    const firstN = first !== undefined ? parseCount(first, '--first') : undefined;
    const history = sinceEpochMs !== undefined || lastN !== undefined || firstN !== undefined || untilEpochMs !== undefined;
    // --until alone reads the whole recorder up to then; --first reads it all and keeps the oldest.
    const sinceMs = sinceEpochMs !== undefined ? Math.max(1, now - sinceEpochMs) : firstN !== undefined || (untilEpochMs !== undefined && lastN === undefined) ? now : undefined;
    const follow = history ? args.values.follow === true : true;
    if (history && follow && untilEpochMs !== undefined && untilEpochMs <= now) throw new UsageError('tap: --follow with an --until in the past would never print live events');
    // One sidecar directly: no limit unless asked. Through the tap API: 100 unless asked (split across pods).
    const maxRpsText = stringFlag(args, 'max-rps');
    const maxRps = maxRpsText !== undefined ? parseCount(maxRpsText, '--max-rps') : proxy ? undefined : DEFAULT_TAP_MAX_RPS;
    const limitText = stringFlag(args, 'limit');
    const limit = limitText !== undefined ? parseCount(limitText, '--limit') : undefined;
    const bodies = args.values.bodies === true;
    const matches = filtersFromArgs(args);
    const revealHeaders = args.values['reveal-header'] as string[] | undefined;
    refuseHiddenHeaderFilters('tap', matches, revealHeaders);
    const request: TapRequest = {
      matches,
      bodies,
      revealHeaders,
      sinceMs,
      last: lastN,
      follow: history ? follow : undefined,
      maxRps,
    };

    // Only now: where the tap plane is (config file, environment, kubeconfig).
    let source: TapSource;
    let connection: TapApiConnection | undefined;
    if (proxy) {
      source = { proxy };
    } else if (all) {
      connection = connectionFromArgs('tap', args);
      // Names the tap API in messages; the streams are one namespace tap per namespace.
      source = sourceFor(connection, 'ns/all', undefined);
    } else {
      // `-l` alone selects within the namespace, as `kubectl get pods -l …` does.
      source = sourceFor(connectionFromArgs('tap', args), target ?? `ns/${namespace ?? 'default'}`, namespace, selector);
    }
    // Lines go out a batch at a time; stderr notes flush them first, so the two stay in order on a terminal.
    const out = createLineOut(process.stdout);
    const note = (text: string): void => {
      out.flush();
      process.stderr.write(`meshtap: ${text}\n`);
    };
    const view = createTapView({
      output,
      color,
      ...(limit !== undefined ? { limit } : {}),
      ...(history
        ? {
            history: {
              bodies,
              ...(sinceEpochMs !== undefined ? { sinceMs: now - sinceEpochMs } : {}),
              ...(lastN !== undefined ? { last: lastN } : {}),
              ...(firstN !== undefined ? { first: firstN } : {}),
              ...(untilEpochMs !== undefined ? { untilEpochMs } : {}),
            },
          }
        : {}),
      ...(maxRps !== undefined ? { maxRps } : {}),
      print: out.print,
      printBytes: out.printBytes,
      note,
    });
    // A future --until without -f: the history read ends at once, as Hubble's does; say how to wait for it (review15).
    if (history && !follow && untilEpochMs !== undefined && untilEpochMs > now) note(`tap: --until ${until} is still to come; without -f this reads the flight recorders up to now and ends (add -f to keep streaming until then)`);
    const onNotice = (n: { message: string }): void => note(n.message);
    const stream = connection ? openAllNamespaces(connection, request, onNotice, selector) : openSource(source, request, onNotice, { wire: true });
    // Ctrl-C, SIGTERM, --until and a broken pipe all end the tap on purpose, quietly: exit 0, except
    // Ctrl-C (SIGINT): 130 as kubectl and linkerd, so a script can tell an interrupted tap from one
    // that ended (what was printed before it is complete either way).
    let stopped = false;
    const stop = (): void => {
      stopped = true;
      stream.cancel();
    };
    const unregister = onCleanup(stop);
    const signals = onStopSignals(stop);
    const untilTimer = untilEpochMs !== undefined && follow ? setLongTimeout(stop, Math.max(0, untilEpochMs - Date.now())) : undefined;
    try {
      await consumeTap(stream, source, {
        following: follow,
        onMessage(m) {
          if (view.onMessage(m)) stop();
        },
        onBatch(messages) {
          for (const m of messages) {
            if (view.onBytes(m)) {
              stop();
              return;
            }
          }
        },
        isStopped: () => stopped,
        note,
      });
    } catch (err) {
      if (stopped) return signals.exitCode();
      if (source.proxy) throw await probeAdminPort(source.proxy, err);
      throw err;
    } finally {
      view.finish();
      out.flush();
      untilTimer?.clear();
      unregister();
      signals.off();
    }
    return signals.exitCode();
  },
};

export default command;
