/**
 * The small slice of Kubernetes object shapes the injector reads and writes. Plain JSON
 * (what the API server sends), not client-library classes: the injector must round-trip
 * every field it does not understand untouched, so everything is open-ended.
 */

/** Any JSON object. */
export type JsonObject = { [key: string]: unknown };

export interface OwnerReference {
  apiVersion: string;
  kind: string;
  name: string;
  uid?: string;
  controller?: boolean;
}

export interface ObjectMeta {
  name?: string;
  generateName?: string;
  namespace?: string;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
  ownerReferences?: OwnerReference[];
  [key: string]: unknown;
}

export interface SecurityContext {
  runAsUser?: number;
  runAsGroup?: number;
  runAsNonRoot?: boolean;
  [key: string]: unknown;
}

export interface Container {
  name: string;
  image?: string;
  securityContext?: SecurityContext;
  [key: string]: unknown;
}

export interface PodSpec {
  containers: Container[];
  initContainers?: Container[];
  volumes?: JsonObject[];
  hostNetwork?: boolean;
  securityContext?: SecurityContext;
  [key: string]: unknown;
}

/** A Pod, or a workload's pod template (same metadata + spec shape). */
export interface PodLike {
  apiVersion?: string;
  kind?: string;
  metadata?: ObjectMeta;
  spec?: PodSpec;
  [key: string]: unknown;
}

/** One RFC 6902 operation (as produced by the diff; `from` for move/copy). */
export interface PatchOperation {
  op: 'add' | 'remove' | 'replace' | 'move' | 'copy' | 'test';
  path: string;
  value?: unknown;
  from?: string;
}
