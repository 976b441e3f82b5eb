/** The cluster part of `meshtap check`. */
export { runClusterChecks, MIN_KUBERNETES } from './cluster-checks.js';
export type { ClusterCheckOptions } from './cluster-checks.js';
export { formatCheckResults } from './format.js';
export { checkCaBundle, CA_MIN_REMAINING_DAYS } from './ca-bundle.js';
