/**
 * `meshtap check [--pre]`: this node's kernel (BPF, cgroup v2, sk_lookup, BTF — from
 * bpf/, when built in) and the cluster (API, permissions for --pre; the installed control
 * plane otherwise). One line per check; exit 1 if any failed.
 */
import { UsageError, stringFlag, type CheckResult, type ParsedArgs } from '../common/index.js';
import { formatCheckResults, runClusterChecks } from '../webhook/index.js';
import type { Command } from './command.js';

type NodeChecks = { runNodeChecks?: () => Promise<CheckResult[]> };

/** bpf/ is optional in a build: without it the node part says so instead of failing. */
async function nodeChecks(): Promise<CheckResult[]> {
  const specifier = '../bpf/index.js';
  const mod = (await import(specifier).catch(() => undefined)) as NodeChecks | undefined;
  if (typeof mod?.runNodeChecks !== 'function') {
    return [{ name: 'node checks available', ok: false, detail: 'this build has no BPF support', hint: 'use a meshtap build with bpf/ (the container image has it)' }];
  }
  return mod.runNodeChecks();
}

const command: Command = {
  spec: {
    name: 'check',
    summary: 'check this node (and a cluster) for what meshtap needs',
    help: `Usage: meshtap check [--pre] [flags]

Checks this node's kernel for what interception needs, and the cluster of the current
kubeconfig context: with --pre, whether meshtap can be installed; otherwise whether
the installed control plane is healthy. Exit code 1 if any check fails.

Flags:
      --pre               pre-install checks (API, version, permissions)
  -n, --namespace NS      control plane namespace (default meshtap)
      --kubeconfig FILE   kubeconfig (default: KUBECONFIG, ~/.kube/config, in-cluster)
      --context NAME      kubeconfig context
      --node-only         only this node's checks
      --cluster-only      only the cluster's checks
  -o, --output FORMAT     text (default) or json
`,
    options: {
      pre: { type: 'boolean' },
      namespace: { type: 'string', short: 'n' },
      kubeconfig: { type: 'string' },
      context: { type: 'string' },
      'node-only': { type: 'boolean' },
      'cluster-only': { type: 'boolean' },
      output: { type: 'string', short: 'o' },
    },
  },
  async run(args: ParsedArgs): Promise<number> {
    if (args.values['node-only'] === true && args.values['cluster-only'] === true) throw new UsageError('check: --node-only and --cluster-only exclude each other');
    const output = stringFlag(args, 'output', undefined, 'text');
    if (output !== 'text' && output !== 'json') throw new UsageError(`--output: '${output}' is not text or json`);
    const groups: { heading: string; results: CheckResult[] }[] = [];
    if (args.values['cluster-only'] !== true) groups.push({ heading: 'node', results: await nodeChecks() });
    if (args.values['node-only'] !== true) {
      const { KubeConfig } = await import('@kubernetes/client-node');
      const kc = new KubeConfig();
      const file = stringFlag(args, 'kubeconfig');
      let results: CheckResult[];
      try {
        if (file) kc.loadFromFile(file);
        else kc.loadFromDefault();
        const context = stringFlag(args, 'context');
        if (context) kc.setCurrentContext(context);
        // client-node falls back to http://localhost:8080 when it finds no configuration at all.
        if (!file && kc.getCurrentCluster()?.server === 'http://localhost:8080' && kc.getCurrentContext() === 'loaded-context') {
          throw new Error('no kubeconfig found (KUBECONFIG, ~/.kube/config) and not running in a cluster');
        }
        results = await runClusterChecks(kc, { namespace: stringFlag(args, 'namespace', undefined, 'meshtap')!, pre: args.values.pre === true });
      } catch (err) {
        results = [{ name: 'kubeconfig loaded', ok: false, detail: (err as Error).message.split('\n')[0], hint: 'pass --kubeconfig FILE or set KUBECONFIG' }];
      }
      groups.push({ heading: args.values.pre === true ? 'cluster (pre-install)' : 'cluster', results });
    }
    if (output === 'json') {
      process.stdout.write(JSON.stringify(Object.fromEntries(groups.map((g) => [g.heading, g.results])), null, 2) + '\n');
    } else {
      process.stdout.write(groups.map((g) => formatCheckResults(g.heading, g.results)).join('\n'));
    }
    const failed = groups.flatMap((g) => g.results).filter((r) => !r.ok).length;
    if (output === 'text') process.stdout.write(failed === 0 ? '\nall checks passed\n' : `\n${failed} check(s) failed\n`);
    return failed === 0 ? 0 : 1;
  },
};

export default command;
