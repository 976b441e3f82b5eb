/**
 * The Kubernetes side of meshtap: the mutating admission webhook around `injector/`, the
 * `meshtap install` manifest generator and the cluster part of `meshtap check`.
 */
export { startWebhookServer, DEFAULT_MAX_BODY_BYTES, DEFAULT_REQUEST_TIMEOUT_MS } from './server.js';
export type { WebhookServer, WebhookServerOptions } from './server.js';
export { admit, parseAdmissionReview, internalErrorReview, ADMISSION_VERSIONS } from './admission.js';
export type { AdmissionReviewOut, AdmissionResponse, ParsedReview } from './admission.js';
export { createKubeNamespaceLookup } from './namespace-lookup.js';
export type { NamespaceLookup } from './namespace-lookup.js';
export { readMeshtapVersion, defaultImage } from './version.js';
export { buildControlPlane, renderObjects, createCertificateAuthority, serviceDnsNames, createTapSigningKey, NAMES, CONTROL_PLANE_PORTS } from './install/index.js';
export type { InstallOptions, OutputFormat, CertificateAuthority, PemPair } from './install/index.js';
export { runClusterChecks, formatCheckResults, checkCaBundle, MIN_KUBERNETES } from './check/index.js';
export type { ClusterCheckOptions } from './check/index.js';
