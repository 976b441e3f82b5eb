/**
 * The injected proxy container. Hardened by default: its own non-root uid (the agent's
 * BPF loop prevention keys on it), read-only root filesystem, no capabilities, bounded
 * resources. Identity comes from the downward API so that one template fits every pod.
 */
import { PROXY_CONTAINER_NAME, PROXY_PORTS, PROXY_TMP_VOLUME, type MeshConfig } from './config.js';
import type { PodSettings } from './annotations.js';
import type { Container, JsonObject } from './types.js';

/** A wait-until-ready hook for classic sidecars: kubelet starts the next container only after it. */
const WAIT_READY_SCRIPT =
  `const d=Date.now()+120000;const t=()=>require('http').get('http://127.0.0.1:${PROXY_PORTS.admin}/ready',` +
  `(r)=>{r.resume();if(r.statusCode===200)process.exit(0);else a()}).on('error',a);` +
  `const a=()=>Date.now()>d?process.exit(1):setTimeout(t,200);t()`;

function fieldEnv(name: string, fieldPath: string): JsonObject {
  return { name, valueFrom: { fieldRef: { apiVersion: 'v1', fieldPath } } };
}

export interface SidecarOptions {
  config: MeshConfig;
  settings: PodSettings;
  workload: string;
  proxyUid: number;
  native: boolean;
}

/** The proxy container for one pod. */
export function buildProxyContainer(o: SidecarOptions): Container {
  const { config, settings } = o;
  const args = [
    'proxy',
    '--inbound', `0.0.0.0:${PROXY_PORTS.inbound}`,
    '--outbound', `127.0.0.1:${PROXY_PORTS.outbound}`,
    '--admin', `0.0.0.0:${PROXY_PORTS.admin}`,
    '--tap', `0.0.0.0:${PROXY_PORTS.tap}`,
    '--workload', o.workload,
    // Expanded by the kubelet from the env below, so templates need no namespace.
    '--namespace', '$(MESHTAP_NAMESPACE)',
    ...(config.tapApiUrl ? ['--tap-api', config.tapApiUrl] : []),
    // In a cluster every tap must carry a grant from the tap API (no loopback trust).
    ...(config.tapPublicKey ? ['--tap-require-grant'] : []),
    '--body-limit', String(settings.bodyLimitBytes),
    // Unset, the sidecar picks its engine's default (the C++ recorder packs exchanges tighter).
    ...(settings.recorderBytes !== undefined ? ['--recorder-bytes', String(settings.recorderBytes)] : []),
    // Always said, so the pod spec shows which engine runs (native by default: the image builds
    // the addon, and its build fails without it; meshtap.dev/engine: js picks the js engine).
    '--engine', settings.engine,
    // Only where it applies and was asked for (annotation or mesh config); unset, the engine's default.
    ...(settings.engine === 'native' && settings.busyPollUs !== undefined ? ['--busy-poll-us', String(settings.busyPollUs)] : []),
  ];
  const env: JsonObject[] = [
    { name: 'MESHTAP_WORKLOAD', value: o.workload },
    fieldEnv('MESHTAP_NAMESPACE', 'metadata.namespace'),
    fieldEnv('MESHTAP_POD_NAME', 'metadata.name'),
    fieldEnv('MESHTAP_POD_UID', 'metadata.uid'),
    fieldEnv('MESHTAP_NODE_NAME', 'spec.nodeName'),
    // Where the tap API dials this sidecar's tap port (it listens on 0.0.0.0).
    fieldEnv('MESHTAP_POD_IP', 'status.podIP'),
  ];
  if (config.tapApiUrl) env.push({ name: 'MESHTAP_TAP_API', value: config.tapApiUrl });
  if (config.tapPublicKey) env.push({ name: 'MESHTAP_TAP_PUBLIC_KEY', value: config.tapPublicKey });

  const requests: Record<string, string> = { cpu: settings.resources.cpuRequest, memory: settings.resources.memoryRequest };
  const limits: Record<string, string> = {};
  if (settings.resources.cpuLimit) limits.cpu = settings.resources.cpuLimit;
  if (settings.resources.memoryLimit) limits.memory = settings.resources.memoryLimit;

  const probe = (path: string, extra: JsonObject): JsonObject => ({
    httpGet: { path, port: PROXY_PORTS.admin, scheme: 'HTTP' },
    ...extra,
  });
  const container: Container = {
    name: PROXY_CONTAINER_NAME,
    image: settings.image,
    imagePullPolicy: config.imagePullPolicy,
    args,
    env,
    ports: [
      { name: 'meshtap-in', containerPort: PROXY_PORTS.inbound, protocol: 'TCP' },
      { name: 'meshtap-tap', containerPort: PROXY_PORTS.tap, protocol: 'TCP' },
      { name: 'meshtap-admin', containerPort: PROXY_PORTS.admin, protocol: 'TCP' },
    ],
    resources: Object.keys(limits).length > 0 ? { requests, limits } : { requests },
    readinessProbe: probe('/ready', { periodSeconds: 10, failureThreshold: 3 }),
    livenessProbe: probe('/live', { periodSeconds: 10, failureThreshold: 6 }),
    securityContext: {
      runAsUser: o.proxyUid,
      runAsGroup: o.proxyUid,
      runAsNonRoot: true,
      readOnlyRootFilesystem: true,
      allowPrivilegeEscalation: false,
      capabilities: { drop: ['ALL'] },
      seccompProfile: { type: 'RuntimeDefault' },
    },
    volumeMounts: [{ name: PROXY_TMP_VOLUME, mountPath: '/tmp' }],
    terminationMessagePolicy: 'FallbackToLogsOnError',
  };
  if (o.native) {
    container.restartPolicy = 'Always';
    // Later init containers and the app start only once this probe passes.
    container.startupProbe = probe('/ready', { periodSeconds: 1, failureThreshold: 120 });
  } else {
    container.lifecycle = { postStart: { exec: { command: ['node', '-e', WAIT_READY_SCRIPT] } } };
  }
  return container;
}

/** The scratch volume mounted at /tmp in the proxy. */
export function buildProxyTmpVolume(): JsonObject {
  return { name: PROXY_TMP_VOLUME, emptyDir: { medium: 'Memory', sizeLimit: '16Mi' } };
}
