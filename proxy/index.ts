/** The sidecar: its assembly and the metrics' latency buckets. Event types and the tap wire are in `tap-protocol/`. Other folders import only this file. */
export { startSidecar, DEFAULTS as SIDECAR_DEFAULTS } from './sidecar.js';
export type { Sidecar, SidecarOptions, ForwardSpec, HostPort, OriginalDstLookup, ListenerInfo } from './sidecar.js';
export { LATENCY_BUCKETS_MS } from './metrics.js';
export { DEFAULT_SECRET_BODY_FIELDS, parseJsonPath, redactBody, bodyRedactionRules } from './body-redact.js';
export type { BodyRedactionRules } from './body-redact.js';
