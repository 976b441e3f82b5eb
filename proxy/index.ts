/** The sidecar: its assembly, event types and tap wire. Other folders import only this file. */
export { startSidecar, DEFAULTS as SIDECAR_DEFAULTS } from './sidecar.js';
export type { Sidecar, SidecarOptions, ForwardSpec, HostPort, OriginalDstLookup, ListenerInfo } from './sidecar.js';
export type { TapEvent, TapEventKind, TapBody, HeaderList, Protocol, ProxyDirection } from './events.js';
export { DEFAULT_SENSITIVE_HEADERS, REDACTED } from './events.js';
export type { TapFilter, TapRequest, TapMessage } from './tap-types.js';
export { openTapStream, TAP_SERVICE, TAP_OBSERVE_PATH, GRANT_METADATA_KEY } from './tap-wire.js';
export type { TapStream } from './tap-wire.js';
export { compileMatches, parseGrpcStatus, GRPC_STATUS_NAMES } from './tap-filter.js';
export { LATENCY_BUCKETS_MS } from './metrics.js';
export { redactAuthority, redactUrlCredentials, redactHeaderCredentials, redactUrlCredentialsInEvent } from './redact.js';
