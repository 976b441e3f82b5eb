/**
 * `meshtap check [--pre]`: this node's kernel (BPF, cgroup v2, sk_lookup, BTF — from
 * bpf/, when built in) and the cluster (API, permissions for --pre; the installed control
 * plane otherwise). One line per check; exit 1 if any failed.
 */
import { UsageError, stringFlag, type CheckResult, type ParsedArgs } from '../common/index.js';
import { formatCheckResults, runClusterChecks } from '../webhook/index.js';
import type { Command } from './command.js';

type NodeChecks = { runNodeChecks?: () => Promise<CheckResult[]> };

/**
 * bpf/ is optional in a build: without it the node part says so instead of failing. The specifier
 * is a literal so that tools that prune bpf/index.ts's exports see this use (a variable one hid it,
 * runNodeChecks was dropped from the index, and every node check said "no BPF support").
 */
async function nodeChecks(): Promise<CheckResult[]> {
  const mod = (await import('../bpf/index.js').catch(() => undefined)) as NodeChecks | undefined;
  const engine = await engineCheck();
  if (typeof mod?.runNodeChecks !== 'function') {
    return [{ name: 'node checks available', ok: false, detail: 'this build has no BPF support', hint: 'use a meshtap build with bpf/ (the container image has it)' }, engine];
  }
  return [...(await mod.runNodeChecks()), engine];
}

/**
 * Which data path engine a sidecar started here runs by default (issue 14): native where the
 * addon loads, else js, and why. A failed check, since the node then runs the slower engine.
 */
async function engineCheck(): Promise<CheckResult> {
  const { isNativeAvailable, nativeUnavailableReason } = await import('../native/index.js');
  if (isNativeAvailable()) return { name: 'data path engine', ok: true, detail: 'native by default; js with --engine js' };
  return {
    name: 'data path engine',
    ok: false,
    detail: `js only: the native addon is ${nativeUnavailableReason() ?? 'unavailable'}`,
    hint: "build it with 'bash scripts/build-native.sh' (needs clang llvm libbpf-dev bpftool g++); until then sidecars fall back to --engine js",
  };
}

const command: Command = {
  spec: {
    name: 'check',
    summary: 'check this node (and a cluster) for what meshtap needs',
    help: `Usage: meshtap check [--pre] [flags]

Checks this node's kernel for what interception needs and which data path engine it
runs (native where the addon is built, else js), and the cluster of the current
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
