import { existsSync } from 'node:fs';
import { MeshtapError, UsageError, parseCount, parseDurationMs, parseHostPort, stringFlag, type ParsedArgs } from '../common/index.js';
import type { Command } from './command.js';

const help = `Node agent: attach BPF interception to the meshed pods of this node (DaemonSet, root).

Usage:
  meshtap agent [--node NAME] [--kubeconfig FILE] [--admin ADDR] [--cgroup-root PATH] [--proc PATH]

Watches the pods of its node (spec.nodeName) and, for each pod the injector meshed
(label meshtap.dev/injected=true), finds the pod's cgroup under the cgroup v2 mount
(kubepods.slice/kubepods-<qos>.slice/kubepods-<qos>-pod<uid>.slice with the systemd
driver, kubepods/<qos>/pod<uid> with cgroupfs) and its network namespace
(/proc/<pid>/ns/net of a process in that cgroup), and attaches the outbound programs to
the cgroup and sk_lookup to the namespace once the sidecar listens, as pinned links
(scope pod-<uid> under /sys/fs/bpf/meshtap). Skip lists come from the pod annotations
meshtap.dev/skip-inbound-ports, meshtap.dev/skip-outbound-ports and
meshtap.dev/skip-outbound-cidrs (an invalid value is logged and ignored). Pins outlive the
agent; at start it adopts those of live pods and removes those of pods that are gone.

Flags:
      --node NAME              this node's name (env MESHTAP_NODE_NAME; required)
      --kubeconfig FILE        kubeconfig (default: KUBECONFIG, else in-cluster config)
      --admin ADDR             /metrics, /ready, /live, /pods (default 0.0.0.0:4191; port 0: free port)
      --cgroup-root PATH       search pod cgroups only below PATH (default: the cgroup v2 mount)
      --proc PATH              the host's /proc (env MESHTAP_HOST_PROC; default /proc)
      --sidecar-uid UID        sidecar uid when a pod has no meshtap.dev/proxy-uid (default 2102)
      --outbound-port N        sidecar ports inside pods (defaults 4140, 4143, 4191, 4190)
      --inbound-port N
      --sidecar-admin-port N
      --tap-port N
      --resync DURATION        look at every pod and pin again this often (default 30s)
      --watch-idle-timeout D   restart a watch silent this long (default 90s)
      --max-backoff DURATION   longest wait between failed list/watch attempts (default 30s)
                               (each of these three: at most 24h)

On start, 'meshtap agent: admin ADDR' and, once the first pod list is applied,
'meshtap agent: ready' are printed on stderr. SIGINT/SIGTERM stop the agent and leave the
pins in place. The agent's pod needs hostPID (the sidecar's listener is copied with
pidfd_getfd), privileged (bpffs with Bidirectional propagation) and the host cgroup mount.

Example:
  meshtap agent --node "$(hostname)" --kubeconfig ~/.kube/config --admin 127.0.0.1:4191
`;

function port(args: ParsedArgs, name: string): number | undefined {
  const text = stringFlag(args, name);
  if (text === undefined) return undefined;
  const n = parseCount(text, `--${name}`);
  if (n > 65535) throw new UsageError(`--${name}: ${text} is not a port`);
  return n;
}

const command: Command = {
  spec: {
    name: 'agent',
    summary: 'node agent: attach BPF interception to meshed pods (DaemonSet)',
    help,
    options: {
      node: { type: 'string' },
      kubeconfig: { type: 'string' },
      admin: { type: 'string' },
      'cgroup-root': { type: 'string' },
      proc: { type: 'string' },
      'sidecar-uid': { type: 'string' },
      'outbound-port': { type: 'string' },
      'inbound-port': { type: 'string' },
      'sidecar-admin-port': { type: 'string' },
      'tap-port': { type: 'string' },
      resync: { type: 'string' },
      'watch-idle-timeout': { type: 'string' },
      'max-backoff': { type: 'string' },
    },
  },
  async run(args) {
    const nodeName = stringFlag(args, 'node', 'MESHTAP_NODE_NAME');
    const admin = parseHostPort(stringFlag(args, 'admin', undefined, '0.0.0.0:4191')!, '--admin');
    // Periods and timeouts of a daemon: a day at most (they run as plain timers, and a Node timer past
    // 24.8 days fires at once: `--resync 1000h` would have resynced every millisecond).
    const duration = (name: string, fallback: string) => {
      return parseDurationMs(stringFlag(args, name, undefined, fallback)!, `--${name}`, { aboveZero: true, atMostHours: 24 });
    };
    const resyncMs = duration('resync', '30s');
    const watchIdleTimeoutMs = duration('watch-idle-timeout', '90s');
    const maxBackoffMs = duration('max-backoff', '30s');
    const uidText = stringFlag(args, 'sidecar-uid');
    const sidecarUid = uidText === undefined ? undefined : parseCount(uidText, '--sidecar-uid');
    const ports = {
      outbound: port(args, 'outbound-port'),
      inbound: port(args, 'inbound-port'),
      admin: port(args, 'sidecar-admin-port'),
      tap: port(args, 'tap-port'),
    };
    const definedPorts = Object.fromEntries(Object.entries(ports).filter(([, v]) => v !== undefined));

    const cgroupRoot = stringFlag(args, 'cgroup-root');
    if (cgroupRoot !== undefined && !existsSync(cgroupRoot)) throw new UsageError(`--cgroup-root: ${cgroupRoot} does not exist`);
    // After every flag's value (review16: `--resync 25h` was told of the missing node first, then of its bound).
    if (!nodeName) throw new UsageError('agent: no node name; pass --node NAME or set MESHTAP_NODE_NAME (fieldRef spec.nodeName)');

    const { KubeConfig } = await import('@kubernetes/client-node');
    const kubeConfig = new KubeConfig();
    const file = stringFlag(args, 'kubeconfig');
    try {
      if (file) kubeConfig.loadFromFile(file);
      else if (process.env.KUBECONFIG) kubeConfig.loadFromDefault();
      else kubeConfig.loadFromCluster();
    } catch (err) {
      throw new MeshtapError('MT_KUBECONFIG', `agent: cannot load ${file ?? process.env.KUBECONFIG ?? 'the in-cluster config'}: ${(err as Error).message.split('\n')[0]}`, { cause: err });
    }
    if (!kubeConfig.getCurrentCluster()) throw new MeshtapError('MT_KUBECONFIG', 'agent: the kubeconfig has no current cluster; pass --kubeconfig FILE or run in a pod');

    const { startAgent } = await import('../bpf/index.js');
    const agent = await startAgent({
      kubeConfig,
      nodeName,
      cgroupRoot,
      procRoot: stringFlag(args, 'proc', 'MESHTAP_HOST_PROC', '/proc'),
      admin,
      ports: definedPorts,
      sidecarUid,
      resyncMs,
      watchIdleTimeoutMs,
      maxBackoffMs,
    });
    process.stderr.write(`meshtap agent: admin ${agent.adminAddress}\n`);
    await new Promise<void>((resolve) => {
      process.once('SIGINT', resolve);
      process.once('SIGTERM', resolve);
      void agent.ready.then(() => process.stderr.write('meshtap agent: ready\n'));
    });
    await agent.close();
    return 0;
  },
};
export default command;
