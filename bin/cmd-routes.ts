/** `meshtap routes`: a workload's routes with success rate, RPS and latency (Linkerd's `viz routes`). */
import { stringFlag, UsageError } from '../common/index.js';
import { getRoutes, parseTarget, renderRoutesTable } from '../tap-api/index.js';
import type { Command } from './command.js';
import { EDGES_SOURCE_HELP, EDGES_SOURCE_OPTIONS, edgesSourceFromArgs, windowFromArgs } from './edges-flags.js';

const help = `Show a workload's routes over a window: per method and route, success rate, requests per
second and latency percentiles. Without --to, the routes it served; with --to, the routes it
called on another workload.

Usage:
  meshtap routes TYPE/NAME [--to TYPE/NAME [--to-namespace NS]] [-n NS] [-t WINDOW] [-o wide|json] [flags]

Routes are method + path with variable segments folded: numbers, UUIDs, hex ids and long tokens
read {id} (/users/123 and /users/456 are /users/{id}); the query string is dropped; gRPC methods
(/package.Service/Method) stay as they are. Each sidecar keeps at most 200 routes; the rest count
as [other] (meshtap_bound_hit_total{bound="routes"} says when).

Flags:
  -n, --namespace NS        namespace (default: default, or the kubeconfig context's)
      --to TYPE/NAME        the routes called on this workload instead
      --to-namespace NS     its namespace (default: -n)
  -o, --output FORMAT       table (default), wide (adds protocol and request count) or json (RouteList)
${EDGES_SOURCE_HELP}

Needs verb 'list' on 'routes' in API group tap.meshtap.dev (meshtap-tap-viewer has it).

Examples:
  meshtap routes deploy/web -n emojivoto
  meshtap routes deploy/web -n emojivoto --to deploy/voting -t 5m
`;

const command: Command = {
  spec: {
    name: 'routes',
    summary: "a workload's routes: success rate, RPS and latency per route",
    help,
    allowPositionals: true,
    options: {
      namespace: { type: 'string', short: 'n' },
      to: { type: 'string' },
      'to-namespace': { type: 'string' },
      output: { type: 'string', short: 'o' },
      ...EDGES_SOURCE_OPTIONS,
    },
  },
  async run(args) {
    if (args.positionals.length !== 1) throw new UsageError("routes: give one workload, e.g. 'meshtap routes deploy/web -n emojivoto' (see 'meshtap routes --help')");
    const workload = args.positionals[0]!;
    const checkTarget = (text: string, flag: string): void => {
      const t = parseTarget(text);
      if (!t.ok) throw new UsageError(`routes: ${flag}${t.error}`);
      if (t.value.resource === 'namespaces') throw new UsageError(`routes: ${flag}give a workload (deploy/NAME, sts/NAME, pod/NAME, …), not a namespace`);
    };
    checkTarget(workload, '');
    const to = stringFlag(args, 'to');
    if (to) checkTarget(to, '--to: ');
    const toNamespace = stringFlag(args, 'to-namespace');
    if (toNamespace && !to) throw new UsageError('routes: --to-namespace needs --to');
    const output = stringFlag(args, 'output', undefined, 'table')!;
    if (!['table', 'wide', 'json'].includes(output)) throw new UsageError(`routes: -o takes table, wide or json, not '${output}'`);
    const { window, windowMs } = windowFromArgs(args, 'routes');
    const source = edgesSourceFromArgs(args, 'routes');
    const namespaceFlag = stringFlag(args, 'namespace');
    const list = await getRoutes(source, {
      namespace: namespaceFlag ?? 'default',
      workload,
      window,
      windowMs,
      ...(to ? { to } : {}),
      ...(toNamespace ? { toNamespace } : {}),
    });
    for (const u of list.unreachable ?? []) process.stderr.write(`meshtap: sidecar ${u} did not answer; its routes are missing\n`);
    if (output === 'json') {
      process.stdout.write(JSON.stringify(list, null, 2) + '\n');
      return 0;
    }
    if (list.items.length === 0) {
      process.stderr.write(`meshtap: no requests ${list.to ? `from ${list.workload} to ${list.to.workload}` : `served by ${list.workload}`} in namespace "${list.namespace}" over the last ${list.window}\n`);
      return 0;
    }
    process.stdout.write(renderRoutesTable(list, output === 'wide'));
    return 0;
  },
};

export default command;
