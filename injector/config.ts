/**
 * Mesh-wide injection settings: what the webhook (or `meshtap inject`) was started with.
 * Per-pod and per-namespace annotations override some of these (see annotations.ts).
 */

/** Ports (DESIGN §10). The admin and tap ports are never intercepted by the agent. */
export const PROXY_PORTS = { inbound: 4143, outbound: 4140, tap: 4190, admin: 4191 } as const;

/** Name of the injected container; also how an injected pod is recognised. */
export const PROXY_CONTAINER_NAME = 'meshtap-proxy';

/** Writable scratch volume (the proxy's root filesystem is read-only). */
export const PROXY_TMP_VOLUME = 'meshtap-proxy-tmp';

export interface ProxyResources {
  cpuRequest: string;
  cpuLimit?: string;
  memoryRequest: string;
  memoryLimit?: string;
}

export interface MeshConfig {
  /** meshtap version, written on injected pods (label) so `check` can compare. */
  version: string;
  /** Sidecar image. */
  image: string;
  imagePullPolicy: 'Always' | 'IfNotPresent' | 'Never';
  /** The control plane's namespace: its pods are never injected. */
  controlPlaneNamespace: string;
  /** Tap API address given to sidecars (MESHTAP_TAP_API, --tap-api). */
  tapApiUrl?: string;
  /** Ed25519 public key (base64 raw or PEM) that verifies tap grants. */
  tapPublicKey?: string;
  /** The proxy's uid; BPF loop prevention keys on it, so it must differ from the app's. */
  proxyUid: number;
  /** Native sidecar (init container with restartPolicy Always) unless asked otherwise. */
  nativeSidecar: boolean;
  bodyLimitBytes: number;
  /** The flight recorder's bound; unset, the sidecar's default for its engine (native 4 MiB, js 8 MiB). */
  recorderBytes?: number;
  /** The sidecar's data path engine (`meshtap.dev/engine` overrides it per pod or namespace). */
  engine: 'js' | 'native';
  /**
   * The native engine's busy-poll bound, µs (`--busy-poll-us`; 0: never poll; unset: the sidecar's
   * default, 50). `meshtap.dev/busy-poll-us` overrides it per pod or namespace.
   */
  busyPollUs?: number;
  resources: ProxyResources;
}

/** Defaults used when a setting is not given. */
export const DEFAULT_MESH_CONFIG: MeshConfig = {
  version: '0.0.0',
  image: 'ghcr.io/meshtap/meshtap:latest',
  imagePullPolicy: 'IfNotPresent',
  controlPlaneNamespace: 'meshtap',
  proxyUid: 2102,
  nativeSidecar: true,
  bodyLimitBytes: 64 * 1024,
  engine: 'native',
  resources: { cpuRequest: '50m', cpuLimit: '1', memoryRequest: '64Mi', memoryLimit: '256Mi' },
};

/** A full config from defaults and the given overrides. */
export function createMeshConfig(overrides: Partial<MeshConfig> = {}): MeshConfig {
  return {
    ...DEFAULT_MESH_CONFIG,
    ...overrides,
    resources: { ...DEFAULT_MESH_CONFIG.resources, ...overrides.resources },
  };
}
