/**
 * The embedded RBAC engine against cases written from the Kubernetes RBAC documentation
 * (https://kubernetes.io/docs/reference/access-authn-authz/rbac/): its example Roles and
 * bindings, expressed as the YAML the docs show, and requests that must be allowed or denied.
 */
import { describe, expect, it } from 'vitest';
import { authorize, describeDenial, withImplicitGroups, type RequestAttributes, type UserInfo } from './rbac.js';
import { parseRbacYaml } from './rbac-load.js';

const POLICY = parseRbacYaml(`
apiVersion: rbac.authorization.k8s.io/v1
kind: Role
metadata: {namespace: default, name: pod-reader}
rules:
- apiGroups: [""]
  resources: ["pods"]
  verbs: ["get", "watch", "list"]
---
apiVersion: rbac.authorization.k8s.io/v1
kind: RoleBinding
metadata: {name: read-pods, namespace: default}
subjects:
- kind: User
  name: jane
  apiGroup: rbac.authorization.k8s.io
roleRef: {kind: Role, name: pod-reader, apiGroup: rbac.authorization.k8s.io}
---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRole
metadata: {name: secret-reader}
rules:
- apiGroups: [""]
  resources: ["secrets"]
  verbs: ["get", "watch", "list"]
---
apiVersion: rbac.authorization.k8s.io/v1
kind: RoleBinding
metadata: {name: read-secrets, namespace: development}
subjects:
- kind: User
  name: dave
roleRef: {kind: ClusterRole, name: secret-reader}
---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRoleBinding
metadata: {name: read-secrets-global}
subjects:
- kind: Group
  name: manager
roleRef: {kind: ClusterRole, name: secret-reader}
---
kind: Role
apiVersion: rbac.authorization.k8s.io/v1
metadata: {namespace: default, name: pod-and-pod-logs-reader}
rules:
- apiGroups: [""]
  resources: ["pods", "pods/log"]
  verbs: ["get", "list"]
---
kind: Role
apiVersion: rbac.authorization.k8s.io/v1
metadata: {namespace: default, name: configmap-updater}
rules:
- apiGroups: [""]
  resources: ["configmaps"]
  resourceNames: ["my-configmap"]
  verbs: ["update", "get"]
---
kind: RoleBinding
apiVersion: rbac.authorization.k8s.io/v1
metadata: {namespace: default, name: logs-and-cm}
subjects: [{kind: User, name: lee}]
roleRef: {kind: Role, name: pod-and-pod-logs-reader}
---
kind: RoleBinding
apiVersion: rbac.authorization.k8s.io/v1
metadata: {namespace: default, name: cm}
subjects: [{kind: User, name: lee}]
roleRef: {kind: Role, name: configmap-updater}
---
kind: ClusterRole
apiVersion: rbac.authorization.k8s.io/v1
metadata: {name: scaler}
rules:
- apiGroups: ["apps"]
  resources: ["*/scale"]
  verbs: ["update"]
- apiGroups: ["apps"]
  resources: ["deployments"]
  verbs: ["get"]
- nonResourceURLs: ["/healthz", "/healthz/*"]
  verbs: ["get", "post"]
---
kind: ClusterRoleBinding
apiVersion: rbac.authorization.k8s.io/v1
metadata: {name: scaler}
subjects: [{kind: Group, name: "system:serviceaccounts:qa"}]
roleRef: {kind: ClusterRole, name: scaler}
---
kind: RoleBinding
apiVersion: rbac.authorization.k8s.io/v1
metadata: {namespace: web, name: scaler-in-web}
subjects: [{kind: ServiceAccount, name: deployer}]
roleRef: {kind: ClusterRole, name: scaler}
---
kind: ClusterRole
apiVersion: rbac.authorization.k8s.io/v1
metadata: {name: everything}
rules:
- apiGroups: ["*"]
  resources: ["*"]
  verbs: ["*"]
---
kind: RoleBinding
apiVersion: rbac.authorization.k8s.io/v1
metadata: {namespace: sandbox, name: sandbox-admin}
subjects: [{kind: Group, name: "system:authenticated"}]
roleRef: {kind: ClusterRole, name: everything}
---
kind: ClusterRoleBinding
apiVersion: rbac.authorization.k8s.io/v1
metadata: {name: sa-kube-system}
subjects: [{kind: ServiceAccount, name: default, namespace: kube-system}]
roleRef: {kind: ClusterRole, name: secret-reader}
---
kind: RoleBinding
apiVersion: rbac.authorization.k8s.io/v1
metadata: {namespace: default, name: dangling}
subjects: [{kind: User, name: ghost}]
roleRef: {kind: Role, name: does-not-exist}
---
kind: RoleBinding
apiVersion: rbac.authorization.k8s.io/v1
metadata: {namespace: other, name: borrow-role}
subjects: [{kind: User, name: mallory}]
roleRef: {kind: Role, name: pod-reader}
`);

const user = (name: string, groups: string[] = []): UserInfo => withImplicitGroups({ name, groups });
const res = (verb: string, resource: string, namespace: string, more: Partial<Extract<RequestAttributes, { isResourceRequest: true }>> = {}): RequestAttributes => {
  const [r, sub] = resource.split('/');
  return { isResourceRequest: true, verb, apiGroup: '', resource: r!, ...(sub ? { subresource: sub } : {}), namespace, ...more };
};

// [description, user, request, allowed]
const CASES: Array<[string, UserInfo, RequestAttributes, boolean]> = [
  ['Role+RoleBinding: jane may get pods in default', user('jane'), res('get', 'pods', 'default'), true],
  ['Role+RoleBinding: jane may watch pods in default', user('jane'), res('watch', 'pods', 'default'), true],
  ['Role+RoleBinding: jane may not delete pods (verb not listed)', user('jane'), res('delete', 'pods', 'default'), false],
  ['Role+RoleBinding: jane may not get pods in another namespace', user('jane'), res('get', 'pods', 'kube-system'), false],
  ['Role+RoleBinding: jane may not list pods cluster-wide', user('jane'), res('list', 'pods', ''), false],
  ['Role+RoleBinding: pods does not grant the pods/log subresource', user('jane'), res('get', 'pods/log', 'default'), false],
  ['verbs are case sensitive', user('jane'), res('GET', 'pods', 'default'), false],
  ['core group rule does not match the apps group', user('jane'), res('get', 'pods', 'default', { apiGroup: 'apps' }), false],
  ['RoleBinding to a ClusterRole grants it in the binding namespace', user('dave'), res('get', 'secrets', 'development'), true],
  ['RoleBinding to a ClusterRole grants nothing elsewhere', user('dave'), res('get', 'secrets', 'default'), false],
  ['ClusterRoleBinding to a Group grants in every namespace', user('bob', ['manager']), res('list', 'secrets', 'anything'), true],
  ['ClusterRoleBinding grants cluster-scoped requests', user('bob', ['manager']), res('list', 'secrets', ''), true],
  ['not in the group: denied', user('bob', ['managers']), res('list', 'secrets', 'anything'), false],
  ['subresource listed explicitly: pods/log', user('lee'), res('get', 'pods/log', 'default'), true],
  ['resourceNames: the named object', user('lee'), res('get', 'configmaps', 'default', { name: 'my-configmap' }), true],
  ['resourceNames: another object', user('lee'), res('get', 'configmaps', 'default', { name: 'other' }), false],
  ['resourceNames: a request without a name (list/create) never matches', user('lee'), res('get', 'configmaps', 'default'), false],
  ['resourceNames: verb still checked', user('lee'), res('delete', 'configmaps', 'default', { name: 'my-configmap' }), false],
  [
    '*/scale matches the scale subresource of any resource',
    user('system:serviceaccount:qa:ci'),
    res('update', 'deployments/scale', 'x', { apiGroup: 'apps' }),
    true,
  ],
  ['*/scale does not match the resource itself', user('system:serviceaccount:qa:ci'), res('update', 'deployments', 'x', { apiGroup: 'apps' }), false],
  ['system:serviceaccounts:NS group is implied for a service account user', user('system:serviceaccount:qa:ci'), res('get', 'deployments', 'y', { apiGroup: 'apps' }), true],
  ['service account of another namespace is not in system:serviceaccounts:qa', user('system:serviceaccount:dev:ci'), res('get', 'deployments', 'y', { apiGroup: 'apps' }), false],
  ['ServiceAccount subject without namespace means the binding namespace', user('system:serviceaccount:web:deployer'), res('get', 'deployments', 'web', { apiGroup: 'apps' }), true],
  ['… and only that namespace', user('system:serviceaccount:web:deployer'), res('get', 'deployments', 'api', { apiGroup: 'apps' }), false],
  ['… and not a same-named account elsewhere', user('system:serviceaccount:api:deployer'), res('get', 'deployments', 'web', { apiGroup: 'apps' }), false],
  ['ServiceAccount subject with namespace in a ClusterRoleBinding', user('system:serviceaccount:kube-system:default'), res('get', 'secrets', 'a'), true],
  ['nonResourceURLs exact', user('system:serviceaccount:qa:ci'), { isResourceRequest: false, verb: 'get', path: '/healthz' }, true],
  ['nonResourceURLs prefix*', user('system:serviceaccount:qa:ci'), { isResourceRequest: false, verb: 'get', path: '/healthz/ready' }, true],
  ['nonResourceURLs other path', user('system:serviceaccount:qa:ci'), { isResourceRequest: false, verb: 'get', path: '/metrics' }, false],
  ['nonResourceURLs are not granted through a RoleBinding', user('system:serviceaccount:web:deployer'), { isResourceRequest: false, verb: 'get', path: '/healthz' }, false],
  ['system:authenticated: every authenticated user', user('anyone'), res('delete', 'secrets', 'sandbox'), true],
  ['* resources include subresources, * groups include any group', user('anyone'), res('watch', 'deployments/tap', 'sandbox', { apiGroup: 'tap.meshtap.dev' }), true],
  ['a RoleBinding never grants cluster-scoped requests, even with *', user('anyone'), res('get', 'nodes', ''), false],
  ['a dangling roleRef grants nothing', user('ghost'), res('get', 'pods', 'default'), false],
  ['a RoleBinding only finds Roles of its own namespace', user('mallory'), res('get', 'pods', 'other'), false],
  ['deny by default', user('nobody'), res('get', 'pods', 'default'), false],
];

describe('RBAC engine (cases from the Kubernetes RBAC documentation)', () => {
  it.each(CASES)('%s', (_desc, u, attrs, allowed) => {
    expect(authorize(POLICY, u, attrs).allowed).toBe(allowed);
  });

  it('says which binding allowed a request', () => {
    const d = authorize(POLICY, user('dave'), res('get', 'secrets', 'development'));
    expect(d).toEqual({ allowed: true, by: 'RoleBinding development/read-secrets -> ClusterRole secret-reader' });
  });

  it('words a denial like kube-apiserver', () => {
    const attrs = res('watch', 'deployments/tap', 'ns', { apiGroup: 'tap.meshtap.dev', name: 'web' });
    expect(describeDenial(user('alice'), attrs)).toBe('User "alice" cannot watch resource "deployments/tap" in API group "tap.meshtap.dev" in the namespace "ns"');
    expect(describeDenial(user('alice'), res('list', 'nodes', ''))).toBe('User "alice" cannot list resource "nodes" in API group "" at the cluster scope');
  });

  it('adds implicit groups once', () => {
    expect(withImplicitGroups({ name: 'system:serviceaccount:qa:ci', groups: ['system:authenticated'] }).groups).toEqual([
      'system:authenticated',
      'system:serviceaccounts',
      'system:serviceaccounts:qa',
    ]);
  });
});

describe('RBAC YAML loading', () => {
  it('reads List objects, skips other kinds and defaults the namespace', () => {
    const p = parseRbacYaml(`
apiVersion: v1
kind: List
items:
- {apiVersion: rbac.authorization.k8s.io/v1, kind: Role, metadata: {name: r}, rules: [{verbs: [get], apiGroups: [""], resources: [pods]}]}
- {apiVersion: v1, kind: ConfigMap, metadata: {name: c}}
---
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: web}
`);
    expect(p.roles).toEqual([{ kind: 'Role', name: 'r', namespace: 'default', rules: [{ verbs: ['get'], apiGroups: [''], resources: ['pods'] }] }]);
    expect(p.bindings).toEqual([]);
  });

  it.each([
    ['no name', 'kind: Role\napiVersion: rbac.authorization.k8s.io/v1\nrules: []', /metadata.name/],
    ['verbs missing', 'kind: ClusterRole\nmetadata: {name: x}\nrules: [{resources: [pods]}]', /rules\[0\]: verbs/],
    ['verbs not strings', 'kind: ClusterRole\nmetadata: {name: x}\nrules: [{verbs: [1]}]', /verbs must be a list of strings/],
    ['bad subject kind', 'kind: RoleBinding\nmetadata: {name: b}\nroleRef: {kind: Role, name: r}\nsubjects: [{kind: Robot, name: r2}]', /subjects\[0\]: kind/],
    ['ClusterRoleBinding to a Role', 'kind: ClusterRoleBinding\nmetadata: {name: b}\nroleRef: {kind: Role, name: r}', /only reference a ClusterRole/],
    ['roleRef missing', 'kind: RoleBinding\nmetadata: {name: b}', /roleRef/],
    ['YAML syntax', 'kind: Role\nmetadata: {name: [', /policy.yaml: .*line 2/],
  ])('refuses a malformed object (%s) with a one-line error', (_n, text, re) => {
    expect(() => parseRbacYaml(text, 'policy.yaml')).toThrow(re);
    try {
      parseRbacYaml(text, 'policy.yaml');
    } catch (err) {
      expect((err as Error).message).not.toContain('\n');
      expect((err as { code: string }).code).toBe('MT_RBAC_POLICY');
    }
  });
});
