/**
 * The Kubernetes side of meshtap: the mutating admission webhook around `injector/`, the
 * `meshtap install` manifest generator and the cluster part of `meshtap check`. This face
 * carries what other folders use; the folder's own tests import its files directly.
 */
export { startWebhookServer } from './server.js';
export { createKubeNamespaceLookup } from './namespace-lookup.js';
export type { NamespaceLookup } from './namespace-lookup.js';
export { readMeshtapVersion, defaultImage } from './version.js';
export { buildControlPlane, renderObjects } from './install/index.js';
export { runClusterChecks, formatCheckResults } from './check/index.js';
