/**
 * The tap API server, as the rest of meshtap sees it: start it (local mode: tokens, the embedded
 * RBAC engine, the sidecar registry; Kubernetes mode: front-proxy authentication,
 * SubjectAccessReview, pods from the API server), load its policy and tokens, and the shapes
 * its clients read. The clients themselves (`openTapApiStream`, `openKubeTapStream`) are in
 * `../cli/`. Everything else stays inside the server.
 */
export { startTapApiServer, TAP_API_DEFAULTS } from './server.js';
export type { TapApiServer, TapApiServerOptions } from './server.js';
export { startKubeTapApiServer } from './kube-server.js';
export type { KubeTapApiServer } from './kube-server.js';
export { loadRbacDir } from './rbac-load.js';
export { loadTokenFile, parseTokenFile } from './tokens.js';
export { defaultRegistrationTokenPath, loadOrCreateRegistrationToken } from './registration-token.js';
export { parseTarget, resourceOfKind, formatTarget, TARGET_SHORT_KINDS } from './targets.js';
export type { TargetResource } from './targets.js';
export { apiGroup } from './api-discovery.js';
export { MESHED_LABEL } from './kube-discovery.js';
export { TAP_API_PREFIX } from './wire.js';
export { EDGES_RESOURCE, ROUTES_RESOURCE, DEFAULT_EDGES_WINDOW, OTHER_ROUTE, UNMESHED_ADDRESS } from './edges-wire.js';
export type { Edge, EdgeEnd, EdgeList, EdgeProtocol, LatencyPercentiles, RouteList, RouteStats } from './edges-wire.js';
