/**
 * The tap API server. Local mode: tokens, the embedded RBAC engine, the
 * sidecar registry. Kubernetes mode: front-proxy authentication, SubjectAccessReview, pods from
 * the API server, HTTPS with reloading certificates. Shared: grants, fan-out, bounds. The
 * clients (`openTapApiStream`, `openKubeTapStream`) are in `../cli/`.
 */
export { startTapApiServer, TAP_API_DEFAULTS } from './server.js';
export type { TapApiServer, TapApiServerOptions } from './server.js';
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
  createRegistrationCheck,
  defaultRegistrationTokenPath,
  loadOrCreateRegistrationToken,
  registrationTokenProblem,
  REGISTRATION_TOKEN_BYTES,
  REGISTRATION_TOKEN_FILE,
  MIN_REGISTRATION_TOKEN_CHARS,
} from './registration-token.js';
export type { RegistrationCheck } from './registration-token.js';
export {
  kubeStatus,
  TAP_API_GROUP,
  TAP_API_PREFIX,
  TAP_SUBRESOURCE,
  TAP_BODIES_SUBRESOURCE,
  SIDECARS_RESOURCE,
} from './wire.js';
export type { KubeStatus, TapApiLine, RegistrationReply, SidecarInfo } from './wire.js';
export type { TapApiAccess, TapApiAuthenticator, TapApiAuthorizer, TapApiDiscovery, TapPod } from './access.js';
export { createLocalAccess } from './local-access.js';
export { apiGroup, apiGroupList, apiResourceList } from './api-discovery.js';
export { startKubeTapApiServer } from './kube-server.js';
export type { KubeTapApiServer, KubeTapApiServerOptions } from './kube-server.js';
export { createKubeAccess, readRequestHeaderConfigMap, requestHeaderFromConfigMap, EXTENSION_AUTH_CONFIGMAP } from './kube-access.js';
export { createFrontProxyAuthenticator, frontProxyProblem, userFromHeaders, DEFAULT_REQUEST_HEADER_CONFIG } from './kube-front-proxy.js';
export type { RequestHeaderConfig } from './kube-front-proxy.js';
export { createSarAuthorizer, subjectAccessReview, decisionOf } from './kube-sar.js';
export type { SubjectAccessReviewBody, SubjectAccessReviewStatus } from './kube-sar.js';
export { createKubeDiscovery, selectorString, tapPodOf, MESHED_LABEL, TAP_PORT_NAME, DEFAULT_SIDECAR_TAP_PORT } from './kube-discovery.js';
export { createReloadingTls } from './kube-tls.js';
export type { ReloadingTls, KubeTlsSources } from './kube-tls.js';
export { EDGES_RESOURCE, ROUTES_RESOURCE, DEFAULT_EDGES_WINDOW, OTHER_ROUTE, UNMESHED_ADDRESS } from './edges-wire.js';
export type { Edge, EdgeEnd, EdgeList, EdgeProtocol, LatencyPercentiles, RouteList, RouteStats } from './edges-wire.js';
