import { parseCount, parseDurationMs, stringFlag, UsageError } from '../common/index.js';
import type { TapRequest } from '../tap-protocol/index.js';
import { consumeTap, formatMessage, openSource, type TapOutput, type TapSource, findKubeconfig, FILTER_HELP, FILTER_OPTIONS, filtersFromArgs } from '../tap-api/index.js';
import type { Command } from './command.js';

const help = `Stream live (and recent) requests of a workload, through the tap API, or of one sidecar.

Usage:
  meshtap tap TARGET [-n NS] [filters] [flags]       TARGET: deploy/NAME, pod/NAME, ns/NAME, sts/…, ds/…, job/…
  meshtap tap --proxy HOST:PORT [filters] [flags]    tap one sidecar's tap port directly (loopback, local mode)

${FILTER_HELP}

Flags:
  -n, --namespace NS        namespace of TARGET (default: default; through Kubernetes: the context's)
      --bodies              include request/response bodies (needs the body permission)
      --reveal-header NAME  show this sensitive header unredacted (needs the body permission)
      --since DURATION      start with exchanges from the flight recorders (e.g. 5m)
      --last N              start with the last N exchanges from the flight recorders
  -f, --follow              after --since/--last, keep streaming live events
      --limit N             exit after N exchanges
      --max-rps N           most exchanges per second (default 100, split across pods)
  -o, --output FORMAT       text (default), wide, json (one event per line)
      --tap-api URL         the tap API (env MESHTAP_TAP_API, or tapApi: in ~/.config/meshtap/config.yaml)
      --token TOKEN         bearer token (env MESHTAP_TOKEN, or token: in the config file; MESHTAP_CONFIG names another file)
      --kubeconfig FILE     without --tap-api: tap through the cluster's API server (aggregated API
                            tap.meshtap.dev) with this kubeconfig (default KUBECONFIG, ~/.kube/config)
      --context NAME        kubeconfig context
      --proxy HOST:PORT     a sidecar's tap address instead of a TARGET

Examples:
  meshtap tap deploy/web -n emojivoto --path /api --status 5xx
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
      bodies: { type: 'boolean' },
      'reveal-header': { type: 'string', multiple: true },
      since: { type: 'string' },
      last: { type: 'string' },
      follow: { type: 'boolean', short: 'f' },
      limit: { type: 'string' },
      'max-rps': { type: 'string' },
      output: { type: 'string', short: 'o' },
      'tap-api': { type: 'string' },
      token: { type: 'string' },
      kubeconfig: { type: 'string' },
      context: { type: 'string' },
      proxy: { type: 'string' },
    },
  },
  async run(args) {
    const output = (stringFlag(args, 'output', undefined, 'text') ?? 'text') as TapOutput;
    if (!['text', 'wide', 'json'].includes(output)) throw new UsageError(`tap: -o takes text, wide or json, not '${output}'`);
    if (args.positionals.length > 1) throw new UsageError(`tap: one TARGET only (got ${args.positionals.join(' ')})`);
    const proxy = stringFlag(args, 'proxy');
    const target = args.positionals[0];
    let source: TapSource;
    if (proxy) {
      if (target) throw new UsageError('tap: give a TARGET or --proxy, not both');
      source = { proxy };
    } else {
      if (!target) throw new UsageError("tap: which workload? e.g. 'meshtap tap deploy/web' (or --proxy HOST:PORT for one sidecar)");
      const url = stringFlag(args, 'tap-api', 'MESHTAP_TAP_API');
      const kubeconfigPath = url ? undefined : findKubeconfig(stringFlag(args, 'kubeconfig'));
      if (url) source = { tapApi: { url, token: stringFlag(args, 'token', 'MESHTAP_TOKEN'), namespace: stringFlag(args, 'namespace', undefined, 'default')!, target } };
      else if (kubeconfigPath) {
        const namespace = stringFlag(args, 'namespace');
        const context = stringFlag(args, 'context');
        source = { kube: { kubeconfigPath, target, ...(namespace ? { namespace } : {}), ...(context ? { context } : {}) } };
      } else throw new UsageError('tap: where is the tap API? give --tap-api URL, set MESHTAP_TAP_API, or have a kubeconfig (--kubeconfig, KUBECONFIG, ~/.kube/config)');
    }
    const since = stringFlag(args, 'since');
    const last = stringFlag(args, 'last');
    const history = since !== undefined || last !== undefined;
    const follow = history ? args.values.follow === true : true;
    const request: TapRequest = {
      matches: filtersFromArgs(args),
      bodies: args.values.bodies === true,
      revealHeaders: (args.values['reveal-header'] as string[] | undefined) ?? undefined,
      sinceMs: since ? parseDurationMs(since, '--since') : undefined,
      last: last ? parseCount(last, '--last') : undefined,
      follow: history ? follow : undefined,
      maxRps: args.values['max-rps'] ? parseCount(String(args.values['max-rps']), '--max-rps') : source.proxy ? undefined : 100,
    };
    const limit = args.values.limit ? parseCount(String(args.values.limit), '--limit') : undefined;
    const stream = openSource(source, request, (n) => process.stderr.write(`meshtap: ${n.pod}: ${n.message}\n`));
    const stop = () => stream.cancel();
    process.once('SIGINT', stop);
    process.once('SIGTERM', stop);
    let interrupted = false;
    process.once('SIGINT', () => (interrupted = true));
    try {
      await consumeTap(stream, source, {
        limit,
        following: follow,
        onMessage(m) {
          if (m.type === 'dropped') process.stderr.write(`meshtap: ${m.count} events dropped (${m.reason}); the tap could not keep up\n`);
          const line = formatMessage(m, output);
          if (line !== undefined) process.stdout.write(line + '\n');
        },
      });
    } catch (err) {
      if (interrupted) return 0;
      throw err;
    } finally {
      process.off('SIGINT', stop);
      process.off('SIGTERM', stop);
    }
    return 0;
  },
};
export default command;
