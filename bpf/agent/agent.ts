/**
 * `meshtap agent`: the DaemonSet process that intercepts meshed pods on its node.
 * Assembly only: pod watch (list + resilient watch) → reconciler (pins per pod) → admin
 * server. Pins outlive the agent on purpose (an agent restart or upgrade must not switch
 * interception off); the next agent adopts them, and removes those of pods that went away.
 */
import type { KubeConfig } from '@kubernetes/client-node';
import { MeshtapError, createLogger, startAdminServer, type AdminServer } from '../../common/index.js';
import { isNativeAvailable } from '../../native/index.js';
import { ensureBpffs } from '../bpffs.js';
import { findCgroup2Mount } from '../cgroup.js';
import { createAgentMetrics, type AgentMetrics } from './metrics.js';
import { startPodWatch, type PodWatch } from './pod-watch.js';
import { createReconciler, type PodStatus, type Reconciler, type SidecarPorts } from './reconciler.js';

const log = createLogger('bpf.agent');

/** The sidecar's default ports (DESIGN §10; injector/config.ts PROXY_PORTS). */
export const DEFAULT_SIDECAR_PORTS: SidecarPorts = { outbound: 4140, inbound: 4143, admin: 4191, tap: 4190 };

/** Everything `meshtap agent` can be told. Durations in ms. */
export interface AgentOptions {
  kubeConfig: KubeConfig;
  nodeName: string;
  /** Where pod cgroups are searched (default: the cgroup v2 mount). */
  cgroupRoot?: string;
  /** The host's /proc (default /proc; a DaemonSet may mount it at /host/proc). */
  procRoot?: string;
  admin?: { host: string; port: number };
  ports?: Partial<SidecarPorts>;
  /** Sidecar uid when a pod has no meshtap.dev/proxy-uid annotation. */
  sidecarUid?: number;
  /** Every pod and pin is looked at again this often (default 30 s). */
  resyncMs?: number;
  watchIdleTimeoutMs?: number;
  initialBackoffMs?: number;
  maxBackoffMs?: number;
}

/** A running agent. */
export interface Agent {
  readonly adminAddress: string | undefined;
  readonly metrics: AgentMetrics;
  /** Resolves once the first list has been applied. */
  readonly ready: Promise<void>;
  isReady(): boolean;
  status(): PodStatus[];
  /** Stops watching and serving; leaves the pins in place (the next agent adopts them). */
  close(): Promise<void>;
}

/** Says what is missing for the agent on this machine, or undefined. */
export function agentPrerequisiteProblem(): string | undefined {
  if (process.getuid?.() !== 0) return 'meshtap agent needs root (CAP_BPF, CAP_NET_ADMIN, CAP_SYS_ADMIN, CAP_SYS_PTRACE)';
  if (!findCgroup2Mount()) return 'meshtap agent needs a cgroup v2 hierarchy and none is mounted';
  if (!isNativeAvailable()) return "meshtap agent needs the native addon with BPF support; run 'bash scripts/build-native.sh'";
  return undefined;
}

/** Starts the agent: admin server first (so /live answers), then list + watch. */
export async function startAgent(opts: AgentOptions): Promise<Agent> {
  const problem = agentPrerequisiteProblem();
  if (problem) throw new MeshtapError('MT_AGENT_UNSUPPORTED', problem);
  ensureBpffs();
  const cgroupRoot = opts.cgroupRoot ?? findCgroup2Mount()!;
  const metrics = createAgentMetrics();
  const reconciler: Reconciler = createReconciler({
    cgroupRoot,
    procRoot: opts.procRoot ?? '/proc',
    ports: { ...DEFAULT_SIDECAR_PORTS, ...opts.ports },
    defaultSidecarUid: opts.sidecarUid ?? 2102,
    metrics,
  });
  let isReady = false;
  let markReady: () => void = () => undefined;
  const ready = new Promise<void>((resolve) => (markReady = resolve));
  let admin: AdminServer | undefined;
  if (opts.admin) admin = await startAdminServer(opts.admin, { what: 'agent admin', registry: metrics.registry, isReady: () => isReady, jsonRoutes: { '/pods': () => reconciler.status() } });

  const watch: PodWatch = startPodWatch(
    {
      kubeConfig: opts.kubeConfig,
      nodeName: opts.nodeName,
      idleTimeoutMs: opts.watchIdleTimeoutMs,
      initialBackoffMs: opts.initialBackoffMs,
      maxBackoffMs: opts.maxBackoffMs,
      metrics,
    },
    {
      onList(pods) {
        reconciler.replaceAll(pods);
        if (!isReady) {
          void reconciler.whenIdle().then(() => {
            isReady = true;
            log.info('ready', { node: opts.nodeName, cgroupRoot });
            markReady();
          });
        }
      },
      onEvent(type, pod) {
        if (type === 'DELETED') reconciler.remove(pod);
        else reconciler.upsert(pod);
      },
    },
  );
  const resync = setInterval(() => reconciler.resync(), opts.resyncMs ?? 30_000);
  resync.unref();

  return {
    get adminAddress() {
      return admin?.address;
    },
    metrics,
    ready,
    isReady: () => isReady,
    status: () => reconciler.status(),
    async close() {
      clearInterval(resync);
      await watch.stop();
      reconciler.close();
      await admin?.close();
    },
  };
}
