/**
 * The injector: pure functions from a pod (or workload, or YAML/JSON text) plus the
 * namespace's annotations and the mesh config to the mutated object and the RFC 6902
 * patch that produces it. No I/O: the webhook and `meshtap inject` do that.
 */
export { createMeshConfig, DEFAULT_MESH_CONFIG, PROXY_CONTAINER_NAME, PROXY_PORTS } from './config.js';
export type { MeshConfig, ProxyResources } from './config.js';
export { ANNOTATION, LABEL, resolvePodSettings } from './annotations.js';
export type { PodSettings } from './annotations.js';
export { injectPod, isInjected, versionLabel } from './inject-pod.js';
export type { InjectPodInput, InjectPodResult } from './inject-pod.js';
export { injectObject, INJECTABLE_KINDS } from './inject-object.js';
export type { InjectObjectResult, ObjectReport } from './inject-object.js';
export { injectText } from './inject-text.js';
export type { InjectTextResult } from './inject-text.js';
export { podWorkload, workloadName } from './workload.js';
export { diffPatch } from './patch.js';
export type { PatchOperation, PodLike, JsonObject, ObjectMeta, Container, PodSpec } from './types.js';
