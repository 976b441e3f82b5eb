/**
 * The tap API server (local mode) and its client: tokens, the embedded RBAC engine, the
 * sidecar registry, grants and fan-out, plus `openTapApiStream` for the CLI.
 */
export { startTapApiServer, TAP_API_DEFAULTS } from './server.js';
export type { TapApiServer, TapApiServerOptions } from './server.js';
export { openTapApiStream, listSidecars, tapApiPath } from './client.js';
export type { TapApiStreamOptions } from './client.js';
export { authorize, ruleAllows, subjectMatches, withImplicitGroups, describeDenial } from './rbac.js';
export type { PolicyRule, RoleObject, BindingObject, Subject, RbacPolicy, UserInfo, RequestAttributes, Decision } from './rbac.js';
export { loadRbacDir, parseRbacYaml } from './rbac-load.js';
export { loadTokenFile, parseTokenFile } from './tokens.js';
export type { TokenAuthenticator } from './tokens.js';
export { parseTarget, formatTarget, resourceOfKind, TARGET_RESOURCES } from './targets.js';
export type { Target, TargetResource } from './targets.js';
export { createSidecarRegistry, resolveTarget, parseRegistration } from './registry.js';
export type { SidecarRegistration, SidecarRecord, SidecarRegistry } from './registry.js';
export { splitRate } from './fan-out.js';
export {
  kubeStatus,
  TAP_API_GROUP,
  TAP_API_PREFIX,
  TAP_SUBRESOURCE,
  TAP_BODIES_SUBRESOURCE,
  SIDECARS_RESOURCE,
} from './wire.js';
export type { KubeStatus, TapApiLine, RegistrationReply, SidecarInfo } from './wire.js';
