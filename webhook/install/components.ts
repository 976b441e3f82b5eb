/**
 * The control plane's Deployments, Services, DaemonSet and PodDisruptionBudgets. Every
 * component runs the one meshtap image with a different sub-command; every pod is
 * labelled part-of meshtap (so it is never injected) and hardened unless it truly needs
 * privileges (the agent loads BPF).
 */
import { CONTROL_PLANE_PORTS, MOUNTS, NAMES, componentLabels, selectorLabels } from './names.js';

type Obj = Record<string, unknown>;

/** The agent's /ready, /live and /metrics (`meshtap agent --admin`). */
const AGENT_ADMIN_PORT = 4191;

export interface ComponentOptions {
  namespace: string;
  image: string;
  version: string;
  ha: boolean;
  /** Arguments of `meshtap webhook` after the sub-command. */
  webhookArgs: string[];
  tapApiArgs: string[];
}

const RESTRICTED = {
  runAsNonRoot: true,
  readOnlyRootFilesystem: true,
  allowPrivilegeEscalation: false,
  capabilities: { drop: ['ALL'] },
  seccompProfile: { type: 'RuntimeDefault' },
};

function deployment(o: ComponentOptions, name: string, args: string[], port: number, secret: { name: string; mountPath: string }[], probe: Obj): Obj {
  const labels = componentLabels(name, o.version);
  const spec: Obj = {
    serviceAccountName: name,
    securityContext: { runAsNonRoot: true, runAsUser: 2102, runAsGroup: 2102, fsGroup: 2102, seccompProfile: { type: 'RuntimeDefault' } },
    containers: [
      {
        name,
        image: o.image,
        imagePullPolicy: 'IfNotPresent',
        args,
        ports: [{ name: 'https', containerPort: port, protocol: 'TCP' }],
        env: [{ name: 'MESHTAP_LOG', value: 'info' }],
        readinessProbe: { ...probe, periodSeconds: 5 },
        livenessProbe: { ...probe, periodSeconds: 10, failureThreshold: 6 },
        resources: { requests: { cpu: '50m', memory: '64Mi' }, limits: { memory: '256Mi' } },
        securityContext: RESTRICTED,
        volumeMounts: [...secret.map((s) => ({ name: s.name, mountPath: s.mountPath, readOnly: true })), { name: 'tmp', mountPath: '/tmp' }],
      },
    ],
    volumes: [...secret.map((s) => ({ name: s.name, secret: { secretName: s.name } })), { name: 'tmp', emptyDir: { sizeLimit: '16Mi' } }],
  };
  if (o.ha) {
    spec.affinity = {
      podAntiAffinity: {
        preferredDuringSchedulingIgnoredDuringExecution: [
          { weight: 100, podAffinityTerm: { topologyKey: 'kubernetes.io/hostname', labelSelector: { matchLabels: selectorLabels(name) } } },
        ],
      },
    };
  }
  return {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name, namespace: o.namespace, labels },
    spec: {
      replicas: o.ha ? 3 : 1,
      selector: { matchLabels: selectorLabels(name) },
      strategy: { type: 'RollingUpdate', rollingUpdate: { maxUnavailable: 0, maxSurge: 1 } },
      template: { metadata: { labels }, spec },
    },
  };
}

function service(o: ComponentOptions, name: string, targetPort: number): Obj {
  return {
    apiVersion: 'v1',
    kind: 'Service',
    metadata: { name, namespace: o.namespace, labels: componentLabels(name, o.version) },
    spec: { type: 'ClusterIP', selector: selectorLabels(name), ports: [{ name: 'https', port: 443, targetPort, protocol: 'TCP' }] },
  };
}

function pdb(o: ComponentOptions, name: string): Obj {
  return {
    apiVersion: 'policy/v1',
    kind: 'PodDisruptionBudget',
    metadata: { name, namespace: o.namespace, labels: componentLabels(name, o.version) },
    spec: { ...(o.ha ? { minAvailable: 1 } : { maxUnavailable: 1 }), selector: { matchLabels: selectorLabels(name) } },
  };
}

/** The node agent: privileged because it loads BPF and attaches it to pods' cgroups. */
function agentDaemonSet(o: ComponentOptions): Obj {
  const labels = componentLabels(NAMES.agent, o.version);
  const hostPath = (name: string, path: string, type: string): Obj => ({ name, hostPath: { path, type } });
  return {
    apiVersion: 'apps/v1',
    kind: 'DaemonSet',
    metadata: { name: NAMES.agent, namespace: o.namespace, labels },
    spec: {
      selector: { matchLabels: selectorLabels(NAMES.agent) },
      updateStrategy: { type: 'RollingUpdate', rollingUpdate: { maxUnavailable: 1 } },
      template: {
        metadata: { labels },
        spec: {
          serviceAccountName: NAMES.agent,
          // The agent copies each sidecar's listener with pidfd_getfd: it must see host pids.
          hostPID: true,
          priorityClassName: 'system-node-critical',
          tolerations: [{ operator: 'Exists' }],
          containers: [
            {
              name: 'agent',
              image: o.image,
              imagePullPolicy: 'IfNotPresent',
              args: ['agent', '--admin', `0.0.0.0:${AGENT_ADMIN_PORT}`],
              ports: [{ name: 'admin', containerPort: AGENT_ADMIN_PORT, protocol: 'TCP' }],
              readinessProbe: { httpGet: { path: '/ready', port: AGENT_ADMIN_PORT, scheme: 'HTTP' }, periodSeconds: 5 },
              livenessProbe: { httpGet: { path: '/live', port: AGENT_ADMIN_PORT, scheme: 'HTTP' }, periodSeconds: 10, failureThreshold: 6 },
              env: [
                { name: 'MESHTAP_NODE_NAME', valueFrom: { fieldRef: { apiVersion: 'v1', fieldPath: 'spec.nodeName' } } },
                { name: 'MESHTAP_HOST_PROC', value: '/host/proc' },
                { name: 'MESHTAP_LOG', value: 'info' },
              ],
              // Bidirectional propagation (pins in bpffs outlive the container) requires privileged.
              securityContext: { privileged: true, runAsUser: 0, runAsNonRoot: false, capabilities: { add: ['BPF', 'NET_ADMIN', 'SYS_ADMIN', 'SYS_RESOURCE', 'PERFMON'] } },
              resources: { requests: { cpu: '20m', memory: '64Mi' }, limits: { memory: '256Mi' } },
              volumeMounts: [
                { name: 'bpffs', mountPath: '/sys/fs/bpf', mountPropagation: 'Bidirectional' },
                { name: 'cgroup', mountPath: '/sys/fs/cgroup', readOnly: true },
                { name: 'host-proc', mountPath: '/host/proc', readOnly: true },
              ],
            },
          ],
          volumes: [hostPath('bpffs', '/sys/fs/bpf', 'DirectoryOrCreate'), hostPath('cgroup', '/sys/fs/cgroup', 'Directory'), hostPath('host-proc', '/proc', 'Directory')],
        },
      },
    },
  };
}

/** Deployments, Services, PDBs and the agent DaemonSet. */
export function componentObjects(o: ComponentOptions): Obj[] {
  const httpsProbe = (port: number, path: string): Obj => ({ httpGet: { path, port, scheme: 'HTTPS' } });
  return [
    service(o, NAMES.webhook, CONTROL_PLANE_PORTS.webhook),
    service(o, NAMES.tapApi, CONTROL_PLANE_PORTS.tapApi),
    deployment(o, NAMES.webhook, ['webhook', ...o.webhookArgs], CONTROL_PLANE_PORTS.webhook, [{ name: NAMES.webhookTlsSecret, mountPath: MOUNTS.tls }], httpsProbe(CONTROL_PLANE_PORTS.webhook, '/healthz')),
    deployment(
      o,
      NAMES.tapApi,
      ['tap-api', ...o.tapApiArgs],
      CONTROL_PLANE_PORTS.tapApi,
      [
        { name: NAMES.tapApiTlsSecret, mountPath: MOUNTS.tls },
        { name: NAMES.tapSigningSecret, mountPath: MOUNTS.signing },
      ],
      httpsProbe(CONTROL_PLANE_PORTS.tapApi, '/readyz'),
    ),
    pdb(o, NAMES.webhook),
    pdb(o, NAMES.tapApi),
    agentDaemonSet(o),
  ];
}
