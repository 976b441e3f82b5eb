/** `meshtap edges`: who calls whom, how well (Linkerd's `viz edges`). */
import { stringFlag, UsageError } from '../common/index.js';
import { edgesOfType, formatTarget, getEdges, parseTarget, renderEdgesTable, resourceOfKind } from '../tap-api/index.js';
import type { Command } from './command.js';
import { EDGES_SOURCE_HELP, EDGES_SOURCE_OPTIONS, edgesSourceFromArgs, windowFromArgs } from './edges-flags.js';

const help = `Show who calls whom: per pair of workloads (source -> destination), success rate, requests
per second, latency, open TCP connections, bytes and protocols, over a window.

Usage:
  meshtap edges TYPE [NAME] [-n NS | -A] [-t WINDOW] [-o wide|json] [flags]
  meshtap edges TYPE/NAME ...
      TYPE: deploy, sts, ds, job, pod (a pod without a workload), or all

Each request is counted once: by the caller's sidecar when the caller is meshed, else by the
callee's. Callers and destinations without a sidecar are 'unmeshed' (--unmeshed-addresses lists
them by address). An edge is shown for a namespace when either end is in it.

Flags:
  -n, --namespace NS        namespace (default: default, or the kubeconfig context's)
  -A, --all-namespaces      every namespace (needs 'list edges' cluster-wide)
  -o, --output FORMAT       table (default), wide (adds P95, requests, bytes, observer) or json (EdgeList)
      --unmeshed-addresses  list unmeshed peers by address instead of one 'unmeshed' row
${EDGES_SOURCE_HELP}

Needs verb 'list' on 'edges' in API group tap.meshtap.dev (meshtap-tap-viewer has it).
Columns: SUCCESS excludes 5xx, failing gRPC statuses and responses missing or cut short; TCP =
open connections (from the caller's sidecar); '-' = not known.

Examples:
  meshtap edges deploy -n emojivoto
  meshtap edges deploy/web -n emojivoto -o wide
  meshtap edges all -A -t 5m -o json | jq '.items[] | select(.successRate < 0.9)'
`;

const command: Command = {
  spec: {
    name: 'edges',
    summary: 'who calls whom: success rate, RPS, latency per pair of workloads',
    help,
    allowPositionals: true,
    options: {
      namespace: { type: 'string', short: 'n' },
      'all-namespaces': { type: 'boolean', short: 'A' },
      output: { type: 'string', short: 'o' },
      'unmeshed-addresses': { type: 'boolean' },
      ...EDGES_SOURCE_OPTIONS,
    },
  },
  async run(args) {
    const [first, second, ...extra] = args.positionals;
    if (!first) throw new UsageError("edges: give a TYPE, e.g. 'meshtap edges deploy -n emojivoto' (see 'meshtap edges --help')");
    if (extra.length > 0) throw new UsageError(`edges: too many arguments (${args.positionals.join(' ')}); give TYPE [NAME] or TYPE/NAME`);
    let kind: string | undefined;
    let name: string | undefined;
    if (first === 'all') {
      if (second) throw new UsageError("edges: 'all' takes no NAME");
    } else {
      const target = parseTarget(first.includes('/') ? first : `${first}/${second ?? 'x'}`);
      if (!target.ok || target.value.resource === 'namespaces') throw new UsageError(`edges: unknown TYPE '${first.split('/')[0]}'; use deploy, sts, ds, job, pod or all`);
      if (first.includes('/') && second) throw new UsageError('edges: give TYPE NAME or TYPE/NAME, not both');
      kind = formatTarget(target.value).split('/')[0];
      name = first.includes('/') ? target.value.name : second;
      if (!resourceOfKind(kind!)) throw new UsageError(`edges: unknown TYPE '${kind}'`);
    }
    const output = stringFlag(args, 'output', undefined, 'table')!;
    if (!['table', 'wide', 'json'].includes(output)) throw new UsageError(`edges: -o takes table, wide or json, not '${output}'`);
    const allNamespaces = args.values['all-namespaces'] === true;
    const namespaceFlag = stringFlag(args, 'namespace');
    if (allNamespaces && namespaceFlag) throw new UsageError('edges: give -n NS or -A, not both');
    const { window, windowMs } = windowFromArgs(args, 'edges');
    const source = edgesSourceFromArgs(args, 'edges');
    const namespace = allNamespaces ? undefined : (namespaceFlag ?? ('connection' in source && 'kube' in source.connection ? undefined : 'default'));
    const list = await getEdges(source, {
      ...(namespace ? { namespace } : {}),
      ...(allNamespaces ? { allNamespaces } : {}),
      window,
      windowMs,
      ...(kind && name ? { workload: `${kind}/${name}` } : {}),
      ...(args.values['unmeshed-addresses'] === true ? { expandUnmeshed: true } : {}),
    });
    list.items = edgesOfType(list.items, kind, name, list.namespace);
    for (const u of list.unreachable ?? []) process.stderr.write(`meshtap: sidecar ${u} did not answer; its edges are missing\n`);
    if (output === 'json') {
      process.stdout.write(JSON.stringify(list, null, 2) + '\n');
      return 0;
    }
    if (list.items.length === 0) {
      const where = list.namespace ? `namespace "${list.namespace}"` : 'any namespace';
      process.stderr.write(`meshtap: no edges in ${where} over the last ${list.window}${kind ? ` for ${kind}${name ? `/${name}` : ''}` : ''}\n`);
      return 0;
    }
    process.stdout.write(renderEdgesTable(list.items, output === 'wide'));
    return 0;
  },
};

export default command;
