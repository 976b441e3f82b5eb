/** `meshtap install`: control plane manifests and their certificates. */
export { buildControlPlane } from './manifests.js';
export type { InstallOptions } from './manifests.js';
export { renderObjects } from './render.js';
export type { OutputFormat } from './render.js';
export { createCertificateAuthority, serviceDnsNames, createTapSigningKey } from './certs.js';
export type { CertificateAuthority, PemPair } from './certs.js';
export { NAMES, CONTROL_PLANE_PORTS, componentLabels, selectorLabels } from './names.js';
