/**
 * Kubernetes mode's discovery: which running, meshed pods a target means, read from the API
 * server with @kubernetes/client-node.
 *
 *   deploy/NAME   the Deployment's selector → pods, kept only when their controller chain is
 *                 Pod → ReplicaSet → that Deployment (by uid), so a stray pod that happens to
 *                 match the labels is not tapped in the Deployment's name
 *   sts|ds|job    the object's selector → pods whose controller is that object (by uid)
 *   pod/NAME      that pod
 *   ns/NAME       every meshed pod of the namespace
 *
 * "Meshed" is the injector's label `meshtap.dev/injected: "true"`; only pods in phase Running
 * with a pod IP are tapped. The sidecar's tap address is `status.podIP` and the port of the
 * container port named `meshtap-tap` (what the injector declares), else `sidecarTapPort` (4190).
 */
import type { KubeConfig } from '@kubernetes/client-node';
import { formatHostPort, type Result } from '../../common/index.js';
import type { TapApiDiscovery, TapPod } from './access.js';
import { describeKubeError } from './kube-sar.js';
import type { Target } from './targets.js';
import { kubeStatus, type KubeStatus } from './wire.js';

/** The label the injector puts on pods it gave a sidecar (injector/annotations.ts LABEL.injected). */
export const MESHED_LABEL = 'meshtap.dev/injected';
/** Name of the sidecar's tap container port (injector/sidecar.ts). */
export const TAP_PORT_NAME = 'meshtap-tap';
/** Name of the sidecar's admin container port (injector/sidecar.ts). */
export const ADMIN_PORT_NAME = 'meshtap-admin';
export const DEFAULT_SIDECAR_TAP_PORT = 4190;
export const DEFAULT_SIDECAR_ADMIN_PORT = 4191;
/** Most pods one tap fans out to (bounded; a bigger target is refused with a 400). */
export const DEFAULT_MAX_PODS_PER_TAP = 1000;

/** The parts of a pod discovery reads (client-node's V1Pod is structurally compatible). */
export interface PodLike {
  metadata?: { name?: string; namespace?: string; uid?: string; labels?: Record<string, string>; ownerReferences?: OwnerRef[] };
  spec?: { containers?: ContainerLike[]; initContainers?: ContainerLike[] };
  status?: { phase?: string; podIP?: string };
}
interface OwnerRef {
  kind?: string;
  name?: string;
  uid?: string;
  controller?: boolean;
}
interface ContainerLike {
  ports?: Array<{ name?: string; containerPort?: number }>;
}
/** A label selector (meta/v1). */
export interface LabelSelector {
  matchLabels?: Record<string, string>;
  matchExpressions?: Array<{ key: string; operator: string; values?: string[] }>;
}

/** Renders a LabelSelector in the `labelSelector` query syntax; undefined for an empty one (which would select everything). */
export function selectorString(sel: LabelSelector | undefined): string | undefined {
  const terms: string[] = [];
  for (const [k, v] of Object.entries(sel?.matchLabels ?? {})) terms.push(`${k}=${v}`);
  for (const e of sel?.matchExpressions ?? []) {
    const vals = (e.values ?? []).join(',');
    if (e.operator === 'In') terms.push(`${e.key} in (${vals})`);
    else if (e.operator === 'NotIn') terms.push(`${e.key} notin (${vals})`);
    else if (e.operator === 'Exists') terms.push(e.key);
    else if (e.operator === 'DoesNotExist') terms.push(`!${e.key}`);
  }
  return terms.length > 0 ? terms.join(',') : undefined;
}

function controllerOf(meta: PodLike['metadata']): OwnerRef | undefined {
  return meta?.ownerReferences?.find((o) => o.controller === true);
}

function portNamed(pod: PodLike, name: string): number | undefined {
  for (const c of [...(pod.spec?.initContainers ?? []), ...(pod.spec?.containers ?? [])]) {
    const p = c.ports?.find((x) => x.name === name);
    if (p?.containerPort) return p.containerPort;
  }
  return undefined;
}

const hostPort = formatHostPort;

/** Labels that differ from pod to pod of one workload (useless in a workload's selector). */
const PER_POD_LABELS = new Set(['pod-template-hash', 'controller-revision-hash', 'statefulset.kubernetes.io/pod-name', 'apps.kubernetes.io/pod-index', 'batch.kubernetes.io/job-completion-index']);

/** A pod's tap entry, or undefined when it is not a running meshed pod. */
export function tapPodOf(pod: PodLike, ports: { tap: number; admin: number }, workload?: Target): TapPod | undefined {
  const meta = pod.metadata;
  if (!meta?.name || !meta.namespace) return undefined;
  if (meta.labels?.[MESHED_LABEL] !== 'true') return undefined;
  if (pod.status?.phase !== 'Running' || !pod.status.podIP) return undefined;
  const ip = pod.status.podIP;
  const tp: TapPod = {
    namespace: meta.namespace,
    pod: meta.name,
    tapAddress: hostPort(ip, portNamed(pod, TAP_PORT_NAME) ?? ports.tap),
    adminAddress: hostPort(ip, portNamed(pod, ADMIN_PORT_NAME) ?? ports.admin),
  };
  if (workload) tp.workload = workload;
  const labels = Object.entries(meta.labels ?? {}).filter(([k]) => !PER_POD_LABELS.has(k) && !k.startsWith('meshtap.dev/'));
  if (labels.length > 0) tp.labels = Object.fromEntries(labels);
  return tp;
}

/**
 * A pod's workload from its controller alone, without reading the controller (edges name every
 * meshed pod at once): a ReplicaSet named `<deployment>-<pod-template-hash>` is its Deployment's;
 * StatefulSet, DaemonSet and Job owners name themselves; anything else is the pod itself.
 */
export function workloadOfPod(pod: PodLike): Target | undefined {
  const owner = controllerOf(pod.metadata);
  const hash = pod.metadata?.labels?.['pod-template-hash'];
  if (owner?.kind === 'ReplicaSet' && hash && owner.name?.endsWith(`-${hash}`)) return { resource: 'deployments', name: owner.name.slice(0, -hash.length - 1) };
  if (owner?.kind === 'StatefulSet' && owner.name) return { resource: 'statefulsets', name: owner.name };
  if (owner?.kind === 'DaemonSet' && owner.name) return { resource: 'daemonsets', name: owner.name };
  if (owner?.kind === 'Job' && owner.name) return { resource: 'jobs', name: owner.name };
  return pod.metadata?.name ? { resource: 'pods', name: pod.metadata.name } : undefined;
}

export interface KubeDiscoveryOptions {
  sidecarTapPort?: number;
  sidecarAdminPort?: number;
  maxPodsPerTap?: number;
}

const GROUP_OF: Record<string, string> = { deployments: 'apps', statefulsets: 'apps', daemonsets: 'apps', jobs: 'batch', pods: '', namespaces: '' };

/** Discovery through the API server `kc` points at. */
export function createKubeDiscovery(kc: KubeConfig, options: KubeDiscoveryOptions = {}): TapApiDiscovery {
  const ports = { tap: options.sidecarTapPort ?? DEFAULT_SIDECAR_TAP_PORT, admin: options.sidecarAdminPort ?? DEFAULT_SIDECAR_ADMIN_PORT };
  const maxPods = options.maxPodsPerTap ?? DEFAULT_MAX_PODS_PER_TAP;
  let apis: Promise<Apis> | undefined;
  const getApis = (): Promise<Apis> => (apis ??= loadApis(kc));

  const notFound = (target: Target): KubeStatus => {
    const group = GROUP_OF[target.resource];
    return kubeStatus(404, `${target.resource}${group ? `.${group}` : ''} "${target.name}" not found`, { name: target.name, ...(group ? { group } : {}), kind: target.resource });
  };
  /** Reads one object; a 404 becomes a Status result, anything else throws (→ 503). */
  const read = async <T>(target: Target, fn: () => Promise<T>): Promise<Result<T, KubeStatus>> => {
    try {
      return { ok: true, value: await fn() };
    } catch (err) {
      if ((err as { code?: unknown }).code === 404) return { ok: false, error: notFound(target) };
      throw new Error(`reading ${target.resource} "${target.name}": ${describeKubeError(err)}`, { cause: err });
    }
  };
  const listPods = async (namespace: string, labelSelector: string): Promise<PodLike[]> => {
    const { core } = await getApis();
    try {
      return (await core.listNamespacedPod({ namespace, labelSelector })).items as PodLike[];
    } catch (err) {
      throw new Error(`listing pods in "${namespace}": ${describeKubeError(err)}`, { cause: err });
    }
  };
  const bounded = (pods: TapPod[]): Result<TapPod[], KubeStatus> =>
    pods.length > maxPods ? { ok: false, error: kubeStatus(400, `the target has ${pods.length} meshed pods, more than one tap may fan out to (${maxPods}); tap a smaller target`) } : { ok: true, value: pods };
  /** Tappable pods; each one's workload is `workload` when the caller resolved it, else read from its owner. */
  const keep = (pods: PodLike[], workload?: Target): TapPod[] =>
    pods
      .map((p) => tapPodOf(p, ports, workload ?? workloadOfPod(p)))
      .filter((p): p is TapPod => p !== undefined)
      .sort((a, b) => a.namespace.localeCompare(b.namespace) || a.pod.localeCompare(b.pod));
  /** Every meshed pod of a namespace, or of every namespace (undefined). */
  const listMeshed = async (namespace: string | undefined): Promise<TapPod[]> => {
    if (namespace !== undefined) return keep(await listPods(namespace, `${MESHED_LABEL}=true`));
    const { core } = await getApis();
    try {
      return keep((await core.listPodForAllNamespaces({ labelSelector: `${MESHED_LABEL}=true` })).items as PodLike[]);
    } catch (err) {
      throw new Error(`listing meshed pods in every namespace: ${describeKubeError(err)}`, { cause: err });
    }
  };

  return {
    noPodsHint: 'none of its pods is running with the meshtap sidecar',
    // One listing serves `list` (stat, -A) and `listAll` (edges, routes): each pod named with its
    // workload from its owner (workloadOfPod), so `stat deploy` through a kubeconfig groups by it.
    list: (namespace) => listMeshed(namespace),
    listAll: () => listMeshed(undefined),
    async resolve(namespace, target) {
      const { core, apps, batch } = await getApis();
      switch (target.resource) {
        case 'namespaces': {
          // Only the namespace the request was authorized in (the route refuses others too).
          if (target.name !== namespace) return { ok: false, error: notFound(target) };
          const ns = await read(target, () => core.readNamespace({ name: target.name }));
          if (!ns.ok) return ns;
          return bounded(keep(await listPods(target.name, `${MESHED_LABEL}=true`)));
        }
        case 'pods': {
          const pod = await read(target, () => core.readNamespacedPod({ name: target.name, namespace }));
          if (!pod.ok) return pod;
          return { ok: true, value: keep([pod.value as PodLike]) };
        }
        case 'deployments': {
          const d = await read(target, () => apps.readNamespacedDeployment({ name: target.name, namespace }));
          if (!d.ok) return d;
          const sel = selectorString(d.value.spec?.selector as LabelSelector | undefined);
          if (!sel) return { ok: true, value: [] };
          let replicaSets;
          try {
            replicaSets = (await apps.listNamespacedReplicaSet({ namespace, labelSelector: sel })).items;
          } catch (err) {
            throw new Error(`listing replicasets in "${namespace}": ${describeKubeError(err)}`, { cause: err });
          }
          const ours = new Set(replicaSets.filter((rs) => controllerOf(rs.metadata)?.uid === d.value.metadata?.uid).map((rs) => rs.metadata?.uid));
          const pods = (await listPods(namespace, sel)).filter((p) => {
            const owner = controllerOf(p.metadata);
            return owner?.kind === 'ReplicaSet' && ours.has(owner.uid);
          });
          return bounded(keep(pods, target));
        }
        case 'statefulsets':
        case 'daemonsets':
        case 'jobs': {
          type Owner = { metadata?: { uid?: string }; spec?: { selector?: unknown } };
          const obj = await read<Owner>(target, () =>
            target.resource === 'statefulsets'
              ? apps.readNamespacedStatefulSet({ name: target.name, namespace })
              : target.resource === 'daemonsets'
                ? apps.readNamespacedDaemonSet({ name: target.name, namespace })
                : batch.readNamespacedJob({ name: target.name, namespace }),
          );
          if (!obj.ok) return obj;
          const sel = selectorString(obj.value.spec?.selector as LabelSelector | undefined);
          if (!sel) return { ok: true, value: [] };
          const uid = obj.value.metadata?.uid;
          const pods = (await listPods(namespace, sel)).filter((p) => controllerOf(p.metadata)?.uid === uid);
          return bounded(keep(pods, target));
        }
      }
    },
  };
}

type Apis = {
  core: import('@kubernetes/client-node').CoreV1Api;
  apps: import('@kubernetes/client-node').AppsV1Api;
  batch: import('@kubernetes/client-node').BatchV1Api;
};

async function loadApis(kc: KubeConfig): Promise<Apis> {
  const k8s = await import('@kubernetes/client-node');
  return { core: kc.makeApiClient(k8s.CoreV1Api), apps: kc.makeApiClient(k8s.AppsV1Api), batch: kc.makeApiClient(k8s.BatchV1Api) };
}

/** Longest a pod watch may stay silent before it is restarted (client-node's Watch has no idle timeout). */
const WATCH_IDLE_MS = 5 * 60_000;
const WATCH_MAX_BACKOFF_MS = 30_000;

/**
 * Watches the meshed pods of a namespace and calls `onChange` on every event (ADDED, MODIFIED,
 * DELETED): a live tap then re-resolves its target. client-node's Watch never reconnects, so it
 * is restarted with backoff when it ends or fails, and when it stays silent past WATCH_IDLE_MS
 * (a half-open connection); each start also calls `onChange` (events may have been missed).
 */
export function watchMeshedPods(kc: KubeConfig, namespace: string, onChange: () => void): { stop(): void } {
  let stopped = false;
  let controller: AbortController | undefined;
  let timer: NodeJS.Timeout | undefined;
  let idle: NodeJS.Timeout | undefined;
  let backoffMs = 250;
  const restart = (): void => {
    controller?.abort();
    controller = undefined;
    if (idle) clearTimeout(idle);
    if (stopped) return;
    timer = setTimeout(() => void start(), backoffMs);
    timer.unref();
    backoffMs = Math.min(WATCH_MAX_BACKOFF_MS, backoffMs * 2);
  };
  const touch = (): void => {
    if (idle) clearTimeout(idle);
    idle = setTimeout(restart, WATCH_IDLE_MS);
    idle.unref();
  };
  const start = async (): Promise<void> => {
    if (stopped) return;
    const { Watch } = await import('@kubernetes/client-node');
    let ended = false;
    const end = (): void => {
      if (ended) return;
      ended = true;
      restart();
    };
    try {
      touch();
      const c = await new Watch(kc).watch(
        `/api/v1/namespaces/${encodeURIComponent(namespace)}/pods`,
        { labelSelector: `${MESHED_LABEL}=true`, allowWatchBookmarks: true },
        (type) => {
          touch();
          backoffMs = 250;
          if (type !== 'BOOKMARK') onChange();
        },
        () => end(),
      );
      if (stopped || ended) c.abort();
      else controller = c;
      onChange();
    } catch {
      end();
    }
  };
  void start();
  return {
    stop() {
      stopped = true;
      if (timer) clearTimeout(timer);
      if (idle) clearTimeout(idle);
      controller?.abort();
    },
  };
}
