/**
 * The control plane side of tap: the tap API server (discovery, authentication, RBAC, grants,
 * fan-out) and the CLI clients that talk to it or to one sidecar. Recordings live in `record/`.
 */
export * from './server/index.js';
export * from './cli/index.js';
