/**
 * A pod's workload identity (`deploy/web`, `sts/db`, …) from its owner references, the
 * name tap and metrics use. A ReplicaSet owner whose name ends in the pod's
 * `pod-template-hash` was made by a Deployment, so the pod belongs to that Deployment.
 */
import type { ObjectMeta } from './types.js';

/** kubectl short names for workload kinds. */
export const WORKLOAD_SHORT_NAMES: Record<string, string> = {
  Deployment: 'deploy',
  StatefulSet: 'sts',
  DaemonSet: 'ds',
  ReplicaSet: 'rs',
  ReplicationController: 'rc',
  Job: 'job',
  CronJob: 'cronjob',
  Pod: 'pod',
};

/** `kind/name` for a workload object of a known kind. */
export function workloadName(kind: string, name: string): string {
  return `${WORKLOAD_SHORT_NAMES[kind] ?? kind.toLowerCase()}/${name}`;
}

/** The workload a pod belongs to, from its controller owner reference (or the pod itself). */
export function podWorkload(meta: ObjectMeta | undefined): string {
  const owners = meta?.ownerReferences ?? [];
  const owner = owners.find((o) => o.controller === true) ?? owners[0];
  if (owner) {
    const hash = meta?.labels?.['pod-template-hash'];
    if (owner.kind === 'ReplicaSet' && hash && owner.name.endsWith(`-${hash}`)) {
      return workloadName('Deployment', owner.name.slice(0, -(hash.length + 1)));
    }
    return workloadName(owner.kind, owner.name);
  }
  if (meta?.name) return workloadName('Pod', meta.name);
  // Controller-less pod with only generateName: the prefix is the best name there is.
  const prefix = (meta?.generateName ?? '').replace(/-$/, '');
  return workloadName('Pod', prefix || 'unknown');
}
