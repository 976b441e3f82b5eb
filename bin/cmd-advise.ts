/** `meshtap advise network-policy`: a draft NetworkPolicy from the observed edges. */
import { stringFlag, UsageError } from '../common/index.js';
import { draftNetworkPolicies, formatTarget, getEdges, parseTarget, renderNetworkPolicies } from '../tap-api/index.js';
import type { Command } from './command.js';
import { EDGES_SOURCE_HELP, EDGES_SOURCE_OPTIONS, edgesSourceFromArgs, windowFromArgs } from './edges-flags.js';

const help = `Draft Kubernetes NetworkPolicies (networking.k8s.io/v1) from the traffic meshtap observed:
for each workload, ingress from the workloads that called it (by their pods' labels) on the
ports they used, egress to what it called, plus DNS. Unmeshed peers become ipBlocks (/32) with a
comment. Prints YAML for review, then 'kubectl apply -f -'.

Usage:
  meshtap advise network-policy TYPE/NAME [-n NS] [-t WINDOW] [flags]    one workload
  meshtap advise network-policy -n NS [-t WINDOW] [flags]                every workload of NS

It is a draft: traffic that did not happen in the window (a nightly job, a failover path) is not
admitted. Use a window that covers a normal day's traffic where you can (up to 1h here; with
--prometheus any range Prometheus keeps).

Flags:
  -n, --namespace NS        namespace (default: default)
${EDGES_SOURCE_HELP.replace('(default 1m; 1s to 1h)', '(default 1h; 1s to 1h)')}

Needs verb 'list' on 'edges' in API group tap.meshtap.dev (meshtap-tap-viewer has it).

Examples:
  meshtap advise network-policy deploy/web -n emojivoto
  meshtap advise network-policy -n emojivoto -t 30m > policies.yaml
`;

const command: Command = {
  spec: {
    name: 'advise',
    summary: 'draft a NetworkPolicy from the observed edges (advise network-policy)',
    help,
    allowPositionals: true,
    options: {
      namespace: { type: 'string', short: 'n' },
      ...EDGES_SOURCE_OPTIONS,
    },
  },
  async run(args) {
    const [what, target, ...extra] = args.positionals;
    if (what !== 'network-policy') {
      throw new UsageError(what ? `advise: unknown advice '${what}'; the one there is: 'meshtap advise network-policy'` : "advise: what advice? e.g. 'meshtap advise network-policy deploy/web -n shop'");
    }
    if (extra.length > 0) throw new UsageError(`advise network-policy: one workload at most (got ${[target, ...extra].join(' ')})`);
    let workload: string | undefined;
    if (target) {
      const t = parseTarget(target);
      if (!t.ok) throw new UsageError(`advise network-policy: ${t.error}`);
      if (t.value.resource === 'namespaces') throw new UsageError('advise network-policy: for a whole namespace use -n NS without a TARGET');
      workload = formatTarget(t.value);
    }
    const namespace = stringFlag(args, 'namespace', undefined, 'default')!;
    const { window, windowMs } = windowFromArgs(args, 'advise network-policy', '1h');
    const source = edgesSourceFromArgs(args, 'advise network-policy');
    const list = await getEdges(source, { namespace, window, windowMs, ...(workload ? { workload } : {}), expandUnmeshed: true });
    const drafts = draftNetworkPolicies(list, namespace, workload);
    if (drafts.length === 0) {
      process.stderr.write(`meshtap: no traffic of ${workload ?? 'any workload'} in namespace "${namespace}" over the last ${window}: nothing to draft (a policy from no traffic would deny everything)\n`);
      return 1;
    }
    process.stdout.write(renderNetworkPolicies(drafts, list));
    return 0;
  },
};

export default command;
