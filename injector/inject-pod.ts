/**
 * The injection decision and mutation for one pod (or pod template): skip with a reason,
 * or return the mutated pod and the JSON Patch from the original to it. Pure: the same
 * input always gives the same output, and injecting an injected pod changes nothing.
 */
import { ANNOTATION, LABEL, resolvePodSettings } from './annotations.js';
import { PROXY_CONTAINER_NAME, PROXY_TMP_VOLUME, type MeshConfig } from './config.js';
import { diffPatch } from './patch.js';
import { buildProxyContainer, buildProxyTmpVolume } from './sidecar.js';
import type { Container, PatchOperation, PodLike } from './types.js';
import { podWorkload } from './workload.js';

export interface InjectPodInput {
  pod: PodLike;
  /** Namespace of the pod when its metadata has none (admission `request.namespace`). */
  namespace?: string;
  namespaceAnnotations?: Record<string, string>;
  config: MeshConfig;
  /** Workload identity when known from outside (a Deployment's template); else from owners. */
  workload?: string;
  /**
   * The webhook injects only pods whose pod or namespace says `inject: enabled`;
   * `meshtap inject` was asked explicitly, so it needs no opt-in (an opt-out still wins).
   */
  requireOptIn: boolean;
}

export type InjectPodResult =
  | { injected: true; pod: PodLike; patch: PatchOperation[]; warnings: string[] }
  | { injected: false; reason: string; patch: []; warnings: string[] };

/** Label value form of a version (label values allow only [A-Za-z0-9._-], 63 chars). */
export function versionLabel(version: string): string {
  return version.replace(/[^A-Za-z0-9._-]/g, '_').replace(/^[^A-Za-z0-9]+|[^A-Za-z0-9]+$/g, '').slice(0, 63);
}

/** Whether a pod already carries the proxy (by label or by container name). */
export function isInjected(pod: PodLike): boolean {
  if (pod.metadata?.labels?.[LABEL.injected] === 'true') return true;
  const all = [...(pod.spec?.containers ?? []), ...(pod.spec?.initContainers ?? [])];
  return all.some((c) => c?.name === PROXY_CONTAINER_NAME);
}

/** Decides, mutates and diffs. Never throws on odd input: odd pods are skipped with a reason. */
export function injectPod(input: InjectPodInput): InjectPodResult {
  const { pod, config } = input;
  const meta = pod.metadata ?? {};
  const namespace = meta.namespace ?? input.namespace;
  const { settings, warnings } = resolvePodSettings(meta.annotations, input.namespaceAnnotations, config);
  const skip = (reason: string): InjectPodResult => ({ injected: false, reason, patch: [], warnings });

  if (!pod.spec || !Array.isArray(pod.spec.containers)) return skip('no pod spec with containers');
  if (isInjected(pod)) return skip('already injected');
  if (pod.spec.hostNetwork === true) return skip('hostNetwork pods share the node network and cannot be meshed');
  if (namespace !== undefined && namespace === config.controlPlaneNamespace) return skip('the meshtap control plane is never injected');
  if (meta.labels?.['app.kubernetes.io/part-of'] === 'meshtap') return skip('the meshtap control plane is never injected');
  if (settings.inject === 'disabled') return skip(`disabled by ${settings.injectSource} annotation ${ANNOTATION.inject}`);
  if (input.requireOptIn && settings.inject !== 'enabled') {
    return skip(`not enabled (set ${ANNOTATION.inject}: enabled on the pod or its namespace)`);
  }

  const mutated = structuredClone(pod) as PodLike & { metadata: NonNullable<PodLike['metadata']>; spec: NonNullable<PodLike['spec']> };
  mutated.metadata ??= {};
  const workload = input.workload ?? podWorkload(meta);
  const proxyUid = chooseProxyUid(pod, config.proxyUid, warnings);

  mutated.metadata.labels = { ...mutated.metadata.labels, [LABEL.injected]: 'true', [LABEL.proxyVersion]: versionLabel(config.version) };
  const annotations: Record<string, string> = { ...mutated.metadata.annotations };
  annotations[ANNOTATION.proxyUid] = String(proxyUid);
  // The agent reads skip lists from the pod only: copy namespace-level values down.
  for (const [key, value] of [
    [ANNOTATION.skipInboundPorts, settings.skipInboundPorts],
    [ANNOTATION.skipOutboundPorts, settings.skipOutboundPorts],
    [ANNOTATION.skipOutboundCidrs, settings.skipOutboundCidrs],
  ] as const) {
    if (value !== undefined && annotations[key] !== value) annotations[key] = value;
  }
  const native = settings.nativeSidecar;
  const firstApp = pod.spec.containers[0]?.name;
  if (!native && firstApp && annotations['kubectl.kubernetes.io/default-container'] === undefined) {
    annotations['kubectl.kubernetes.io/default-container'] = firstApp;
  }
  mutated.metadata.annotations = annotations;

  const proxy = buildProxyContainer({ config, settings, workload, proxyUid, native });
  if (native) {
    mutated.spec.initContainers = [proxy, ...(mutated.spec.initContainers ?? [])];
  } else {
    mutated.spec.containers = [proxy, ...mutated.spec.containers];
  }
  const volumes = mutated.spec.volumes ?? [];
  if (!volumes.some((v) => v?.name === PROXY_TMP_VOLUME)) mutated.spec.volumes = [...volumes, buildProxyTmpVolume()];

  return { injected: true, pod: mutated, patch: diffPatch(pod, mutated), warnings };
}

/** The configured proxy uid, or the next one no app container runs as (warned). */
function chooseProxyUid(pod: PodLike, wanted: number, warnings: string[]): number {
  const spec = pod.spec;
  const containers: Container[] = [...(spec?.containers ?? []), ...(spec?.initContainers ?? [])];
  const used = new Set<number>();
  if (typeof spec?.securityContext?.runAsUser === 'number') used.add(spec.securityContext.runAsUser);
  for (const c of containers) if (typeof c?.securityContext?.runAsUser === 'number') used.add(c.securityContext.runAsUser);
  let uid = wanted;
  while (used.has(uid)) uid += 1;
  if (uid !== wanted) warnings.push(`the application runs as uid ${wanted}, the proxy's uid; the proxy uses uid ${uid} instead`);
  return uid;
}
