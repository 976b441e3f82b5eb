/**
 * The injector: pure functions from a pod (or workload, or YAML/JSON text) plus the
 * namespace's annotations and the mesh config to the mutated object and the RFC 6902
 * patch that produces it. No I/O: the webhook and `meshtap inject` do that. This face
 * carries what other folders use; the folder's own tests import its files directly.
 */
export { createMeshConfig } from './config.js';
export type { MeshConfig } from './config.js';
export { ANNOTATION, LABEL } from './annotations.js';
export { injectPod, versionLabel } from './inject-pod.js';
export { injectText } from './inject-text.js';
export type { PodLike } from './types.js';
