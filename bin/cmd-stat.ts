/** `meshtap stat`: success rate, RPS, latency percentiles and TCP connections per workload. */
import { listFlag, MeshtapError, parseDurationMs, parseConnectAddress, stringFlag, UsageError, type ParsedArgs } from '../common/index.js';
import { stringify } from 'yaml';
import { collectEdgeStats, collectStats, connectionFromArgs, parseStatSelector, renderStatTable, resourceOfKind, targetFromArgs, type StatRow, type TapApiConnection } from '../tap-api/index.js';
import type { Command } from './command.js';

const help = `Show success rate, requests per second, latency and TCP connections per workload.

Usage:
  meshtap stat TYPE[/NAME] [TYPE[/NAME]...] [-n NS] [-t WINDOW] [flags]
      TYPE: deploy, pod, ns, sts, ds, job     e.g. 'stat deploy' (every deployment), 'stat deploy/web'

How: without Prometheus, the sidecars' /metrics are scraped at the start and at the end of the
window and the numbers come from the difference (so the command takes WINDOW to answer).
Inbound traffic (requests the workload served); latency percentiles interpolate within the
response_latency_ms histogram buckets like PromQL's histogram_quantile.

With --to TYPE/NAME (or --from TYPE/NAME), like Linkerd's stat: the requests each selected
workload sent to that workload (received from it), from the callers' sidecars, through the tap
API's edges (needs 'list edges'; answers at once for the last WINDOW; MESHED shows '-').

Flags:
  -n, --namespace NS     namespace (default: default; through Kubernetes: the context's)
      --to TYPE/NAME     outbound: traffic from the selected workloads to this one
      --to-namespace NS  namespace of --to (default: -n's)
      --from TYPE/NAME   traffic to the selected workloads from this one
      --from-namespace NS  namespace of --from (default: -n's)
  -A, --all-namespaces   every namespace ('stat ns' always shows every namespace)
  -t, --window DURATION  window (default 10s; e.g. 30s, 1m); on a terminal, says it is collecting
  -o, --output FORMAT    table (default), json, yaml
      --tap-api URL      find the sidecars through the tap API (env MESHTAP_TAP_API, or tapApi: in ~/.config/meshtap/config.yaml);
                         needs 'list sidecars' in API group tap.meshtap.dev (cluster-wide for -A and 'stat ns')
      --token TOKEN      bearer token for the tap API (env MESHTAP_TOKEN, or token: in the config file; MESHTAP_CONFIG names another file)
      --kubeconfig FILE  without --tap-api: list the sidecars through the cluster's API server (aggregated API
                         tap.meshtap.dev) with this kubeconfig (default KUBECONFIG, ~/.kube/config); their admin
                         ports are scraped directly (pod IPs: from inside the cluster; else use --prometheus)
      --context NAME     kubeconfig context
      --admin HOST:PORT  scrape this sidecar admin address directly (repeatable; no tap API)
      --prometheus URL   query this Prometheus (HTTP API) instead of scraping

Columns: MESHED = sidecars that answered both scrapes / sidecars found; SUCCESS excludes 5xx,
failing gRPC statuses and responses missing or cut short (Linkerd's classification); '-' = no
requests in the window.

Examples:
  meshtap stat deploy -n shop -t 30s
  meshtap stat deploy/web --prometheus http://127.0.0.1:9090 -t 1m -o json
  meshtap stat deploy -n shop --to deploy/api -t 1m       who calls api, how well
`;

const command: Command = {
  spec: {
    name: 'stat',
    summary: 'success rate, RPS and latency per workload',
    help,
    allowPositionals: true,
    options: {
      namespace: { type: 'string', short: 'n' },
      'all-namespaces': { type: 'boolean', short: 'A' },
      kubeconfig: { type: 'string' },
      context: { type: 'string' },
      window: { type: 'string', short: 't' },
      output: { type: 'string', short: 'o' },
      'tap-api': { type: 'string' },
      token: { type: 'string' },
      admin: { type: 'string', multiple: true },
      prometheus: { type: 'string' },
      to: { type: 'string' },
      'to-namespace': { type: 'string' },
      from: { type: 'string' },
      'from-namespace': { type: 'string' },
    },
  },
  async run(args) {
    if (args.positionals.length === 0) throw new UsageError("stat: give at least one TYPE or TYPE/NAME, e.g. 'meshtap stat deploy' (see 'meshtap stat --help')");
    const output = stringFlag(args, 'output', undefined, 'table');
    if (output !== 'table' && output !== 'json' && output !== 'yaml') throw new UsageError(`stat: -o takes table, json or yaml, not '${output}'`);
    const targets = statTargets(args.positionals);
    const namespace = stringFlag(args, 'namespace');
    const allNamespaces = args.values['all-namespaces'] === true;
    const window = stringFlag(args, 'window', undefined, '10s')!;
    const windowMs = parseDurationMs(window, '--window', { aboveZero: true });
    const prometheus = stringFlag(args, 'prometheus');
    const admin = listFlag(args, 'admin').map((a) => parseConnectAddress(a, '--admin')); // a usage mistake, said before anything is contacted
    const peer = peerFromArgs(args, namespace);
    if (peer && (prometheus || admin.length)) throw new UsageError(`stat: --${peer.direction} reads the tap API's edges; drop --prometheus/--admin (or --${peer.direction})`);
    const where = prometheus || admin.length ? {} : connectionFromArgs('stat', args);
    if (peer) {
      let edgeRows;
      try {
        edgeRows = await collectEdgeStats({
          connection: where as TapApiConnection,
          ...(namespace !== undefined ? { namespace } : {}),
          selectors: targets.map(parseStatSelector),
          allNamespaces,
          peer,
          window,
        });
      } catch (err) {
        if (err instanceof MeshtapError && err.code === 'MT_USAGE') throw new UsageError(`stat: ${err.message}`);
        throw err;
      }
      const [from, to] = peer.direction === 'to' ? [targets.join(' '), peer.workload] : [peer.workload, targets.join(' ')];
      const scope = allNamespaces ? '' : ` in namespace "${namespace ?? 'default'}" (-A for every namespace)`;
      return printRows(edgeRows, output!, () => `meshtap: no requests from ${from} to ${to} in the last ${window}${scope}`);
    }
    // A blank screen for the whole window looks like a hang: say what is happening (a terminal only).
    if (process.stderr.isTTY && !prometheus) process.stderr.write(`collecting for ${window} (-t to change)…\n`);
    let rows;
    try {
      rows = await collectStats({
        targets,
        ...(namespace ? { namespace } : {}),
        allNamespaces,
        windowMs,
        ...(prometheus ? { prometheus } : {}),
        ...(admin.length ? { admin } : {}),
        ...where,
      });
    } catch (err) {
      if (err instanceof MeshtapError && err.code === 'MT_USAGE') throw new UsageError(`stat: ${err.message}`);
      throw err;
    }
    const scope = allNamespaces || targets.some((t) => t === 'ns' || t === 'namespaces') ? 'in any namespace' : `in namespace "${namespace ?? 'default'}" (-A for every namespace)`;
    return printRows(rows, output!, () => `meshtap: no meshed pods found for ${targets.join(' ')} ${scope}`);
  },
};

/** Prints rows as asked; no rows in a table is a one-line failure (exit 1). */
function printRows(rows: StatRow[], output: string, empty: () => string): number {
  if (output === 'json') {
    process.stdout.write(JSON.stringify(rows, null, 2) + '\n');
    return 0;
  }
  if (output === 'yaml') {
    process.stdout.write(stringify(rows));
    return 0;
  }
  if (rows.length === 0) {
    process.stderr.write(`${empty()}\n`);
    return 1;
  }
  process.stdout.write(renderStatTable(rows));
  return 0;
}

/** `--to`/`--from` (one of them) as a workload and its namespace (undefined: -n's, or the context's). */
function peerFromArgs(args: ParsedArgs, namespace: string | undefined): { direction: 'to' | 'from'; workload: string; namespace?: string } | undefined {
  const to = stringFlag(args, 'to');
  const from = stringFlag(args, 'from');
  if (to !== undefined && from !== undefined) throw new UsageError('stat: give --to or --from, not both');
  if (stringFlag(args, 'to-namespace') !== undefined && to === undefined) throw new UsageError('stat: --to-namespace needs --to');
  if (stringFlag(args, 'from-namespace') !== undefined && from === undefined) throw new UsageError('stat: --from-namespace needs --from');
  const direction = to !== undefined ? 'to' : from !== undefined ? 'from' : undefined;
  if (!direction) return undefined;
  const workload = targetFromArgs(`stat --${direction}`, [(to ?? from)!]);
  if (!workload || /^(pod|ns)\//.test(workload)) throw new UsageError(`stat: --${direction} takes a workload (deploy/NAME, sts/NAME, ds/NAME, job/NAME), not ${to ?? from}`);
  const ns = stringFlag(args, `${direction}-namespace`) ?? namespace;
  return { direction, workload, ...(ns !== undefined ? { namespace: ns } : {}) };
}

/** `deploy web` as well as `deploy/web`; kinds alone (`deploy`, `ns`) as they are. */
function statTargets(positionals: string[]): string[] {
  if (positionals.length === 2 && !positionals[0]!.includes('/') && !positionals[1]!.includes('/') && resourceOfKind(positionals[0]!) && !resourceOfKind(positionals[1]!)) {
    return [`${positionals[0]}/${positionals[1]}`];
  }
  for (const p of positionals) if (p.includes('/')) targetFromArgs('stat', [p]);
  return positionals;
}

export default command;
