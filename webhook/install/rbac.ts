/**
 * RBAC of the control plane: what each component may read, the aggregated-API plumbing
 * the tap API needs (auth-delegator, the requestheader CA reader), and the two tap
 * ClusterRoles users are bound to (bodies need the admin one).
 */
import { NAMES, componentLabels } from './names.js';

type Obj = Record<string, unknown>;

const WORKLOAD_RESOURCES = ['pods', 'deployments', 'statefulsets', 'daemonsets', 'replicasets', 'jobs', 'cronjobs', 'namespaces'];

/** ServiceAccounts, ClusterRoles and bindings. */
export function rbacObjects(namespace: string, version: string): Obj[] {
  const read = ['get', 'list', 'watch'];
  const meta = (name: string, component: string, ns?: string): Obj => ({ name, ...(ns ? { namespace: ns } : {}), labels: componentLabels(component, version) });
  const sa = (name: string): Obj => ({ apiVersion: 'v1', kind: 'ServiceAccount', metadata: meta(name, name, namespace) });
  const clusterRole = (name: string, component: string, rules: Obj[]): Obj => ({ apiVersion: 'rbac.authorization.k8s.io/v1', kind: 'ClusterRole', metadata: meta(name, component), rules });
  const binding = (name: string, role: string, sa: string): Obj => ({
    apiVersion: 'rbac.authorization.k8s.io/v1',
    kind: 'ClusterRoleBinding',
    metadata: meta(name, sa),
    roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: role },
    subjects: [{ kind: 'ServiceAccount', name: sa, namespace }],
  });
  return [
    sa(NAMES.webhook),
    sa(NAMES.tapApi),
    sa(NAMES.agent),
    clusterRole(NAMES.webhook, NAMES.webhook, [{ apiGroups: [''], resources: ['namespaces'], verbs: read }]),
    clusterRole(NAMES.tapApi, NAMES.tapApi, [
      { apiGroups: [''], resources: ['pods', 'namespaces', 'services', 'endpoints'], verbs: read },
      { apiGroups: ['apps'], resources: ['deployments', 'replicasets', 'statefulsets', 'daemonsets'], verbs: read },
      { apiGroups: ['batch'], resources: ['jobs', 'cronjobs'], verbs: read },
      { apiGroups: ['authorization.k8s.io'], resources: ['subjectaccessreviews'], verbs: ['create'] },
    ]),
    clusterRole(NAMES.agent, NAMES.agent, [
      { apiGroups: [''], resources: ['pods'], verbs: read },
      { apiGroups: [''], resources: ['nodes'], verbs: ['get'] },
    ]),
    clusterRole(NAMES.tapViewerRole, NAMES.tapApi, [
      { apiGroups: [NAMES.apiServiceGroup], resources: WORKLOAD_RESOURCES.map((r) => `${r}/tap`), verbs: ['watch', 'get'] },
      // `meshtap stat` lists the meshed sidecars of a namespace.
      { apiGroups: [NAMES.apiServiceGroup], resources: ['sidecars'], verbs: ['get', 'list'] },
      // `meshtap edges`, `routes`, `advise network-policy` and the dashboard's service map (docs/edges-api.md).
      { apiGroups: [NAMES.apiServiceGroup], resources: ['edges', 'routes'], verbs: ['list'] },
      // `meshtap version` asks the tap API for its build (the tap API answers anyone; kube-apiserver checks this first).
      { apiGroups: [NAMES.apiServiceGroup], resources: ['version'], verbs: ['get'] },
    ]),
    clusterRole(NAMES.tapAdminRole, NAMES.tapApi, [
      { apiGroups: [NAMES.apiServiceGroup], resources: WORKLOAD_RESOURCES.map((r) => `${r}/tap`), verbs: ['watch', 'get'] },
      { apiGroups: [NAMES.apiServiceGroup], resources: WORKLOAD_RESOURCES.map((r) => `${r}/tap-bodies`), verbs: ['watch', 'get'] },
      { apiGroups: [NAMES.apiServiceGroup], resources: ['sidecars'], verbs: ['get', 'list'] },
      { apiGroups: [NAMES.apiServiceGroup], resources: ['edges', 'routes'], verbs: ['list'] },
      // `meshtap version` asks the tap API for its build (the tap API answers anyone; kube-apiserver checks this first).
      { apiGroups: [NAMES.apiServiceGroup], resources: ['version'], verbs: ['get'] },
    ]),
    binding(NAMES.webhook, NAMES.webhook, NAMES.webhook),
    binding(NAMES.tapApi, NAMES.tapApi, NAMES.tapApi),
    binding(NAMES.agent, NAMES.agent, NAMES.agent),
    // Aggregated API server: delegate authn/authz checks to kube-apiserver...
    binding(`${NAMES.tapApi}-auth-delegator`, 'system:auth-delegator', NAMES.tapApi),
    // ...and read the front-proxy (requestheader) CA from kube-system.
    {
      apiVersion: 'rbac.authorization.k8s.io/v1',
      kind: 'RoleBinding',
      metadata: { ...meta(`${NAMES.tapApi}-auth-reader`, NAMES.tapApi, 'kube-system') },
      roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'Role', name: 'extension-apiserver-authentication-reader' },
      subjects: [{ kind: 'ServiceAccount', name: NAMES.tapApi, namespace }],
    },
  ];
}
