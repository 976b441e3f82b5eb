/**
 * The control plane side of tap: the tap API server (discovery, authentication, RBAC, grants,
 * fan-out), the CLI commands that talk to it, and record/replay/mock.
 */
export * from './server/index.js';
export * from './cli/index.js';
export * from './record/index.js';
