/**
 * The embedded RBAC engine: evaluates Kubernetes Role / ClusterRole / RoleBinding /
 * ClusterRoleBinding objects with the semantics of kube-apiserver's RBAC authorizer, so that
 * policies written for a cluster work unchanged in local mode.
 *
 * Semantics kept (from the Kubernetes RBAC documentation): deny by default, rules only add;
 * apiGroups ('' = core, '*' = all); resources incl. subresources (`deployments/tap`), `*` (every
 * resource and subresource) and a star followed by `/sub` (that subresource of every resource); resourceNames
 * (empty = all names; a request without a name never matches a rule that lists names); verbs
 * incl. `*`; nonResourceURLs (exact or `prefix*`, ClusterRoleBindings only); a RoleBinding
 * grants its role's rules in its own namespace only, and may reference a ClusterRole; a
 * ClusterRoleBinding grants everywhere; subjects User, Group, ServiceAccount (namespace
 * defaults to the binding's). Out of scope: ClusterRole aggregation (aggregationRule is
 * ignored; only the rules written in the ClusterRole count), escalation/bind checks.
 */

/** One PolicyRule, as in rbac.authorization.k8s.io/v1. */
export interface PolicyRule {
  verbs: string[];
  apiGroups?: string[];
  resources?: string[];
  resourceNames?: string[];
  nonResourceURLs?: string[];
}

export interface RoleObject {
  kind: 'Role' | 'ClusterRole';
  name: string;
  /** Roles only. */
  namespace?: string;
  rules: PolicyRule[];
}

export interface Subject {
  kind: 'User' | 'Group' | 'ServiceAccount';
  name: string;
  namespace?: string;
}

export interface BindingObject {
  kind: 'RoleBinding' | 'ClusterRoleBinding';
  name: string;
  /** RoleBindings only. */
  namespace?: string;
  roleRef: { kind: 'Role' | 'ClusterRole'; name: string };
  subjects: Subject[];
}

/** The RBAC objects a policy is made of. */
export interface RbacPolicy {
  roles: RoleObject[];
  bindings: BindingObject[];
}

/** An authenticated user (as from a token file or front proxy). */
export interface UserInfo {
  name: string;
  uid?: string;
  groups: string[];
  /** Extra attributes (Kubernetes mode: from X-Remote-Extra-* headers; passed on to SubjectAccessReview). */
  extra?: Record<string, string[]>;
}

/** What is being asked: kube-apiserver's authorizer.Attributes, reduced to what RBAC reads. */
export type RequestAttributes =
  | {
      isResourceRequest: true;
      verb: string;
      apiGroup: string;
      resource: string;
      subresource?: string;
      name?: string;
      /** '' or absent: a cluster-scoped request. */
      namespace?: string;
    }
  | { isResourceRequest: false; verb: string; path: string };

export type Decision = { allowed: true; by: string } | { allowed: false; reason: string };

const ALL = '*';

/** Evaluates one request against a policy. Deny unless some binding grants it. */
export function authorize(policy: RbacPolicy, user: UserInfo, attrs: RequestAttributes): Decision {
  const roles = new Map(policy.roles.map((r) => [roleKey(r.kind, r.name, r.namespace), r]));
  for (const b of policy.bindings) {
    if (b.kind === 'RoleBinding') {
      // A RoleBinding only ever grants inside its own namespace, never cluster-scoped requests.
      if (!attrs.isResourceRequest || !attrs.namespace || attrs.namespace !== b.namespace) continue;
    }
    if (!b.subjects.some((s) => subjectMatches(s, user, b.namespace))) continue;
    const role =
      b.roleRef.kind === 'ClusterRole' ? roles.get(roleKey('ClusterRole', b.roleRef.name)) : roles.get(roleKey('Role', b.roleRef.name, b.namespace));
    if (!role) continue; // a dangling roleRef grants nothing (kube-apiserver logs it and goes on)
    for (const rule of role.rules) {
      if (ruleAllows(rule, attrs)) {
        return { allowed: true, by: `${b.kind} ${b.namespace ? b.namespace + '/' : ''}${b.name} -> ${role.kind} ${role.name}` };
      }
    }
  }
  return { allowed: false, reason: 'no RBAC policy matched' };
}

function roleKey(kind: string, name: string, namespace?: string): string {
  return kind === 'ClusterRole' ? `ClusterRole/${name}` : `Role/${namespace ?? ''}/${name}`;
}

/** Whether a binding subject names this user (directly, by group, or as a service account). */
export function subjectMatches(subject: Subject, user: UserInfo, bindingNamespace?: string): boolean {
  switch (subject.kind) {
    case 'User':
      return subject.name === user.name;
    case 'Group':
      return user.groups.includes(subject.name);
    case 'ServiceAccount': {
      const ns = subject.namespace || bindingNamespace || '';
      return ns !== '' && user.name === `system:serviceaccount:${ns}:${subject.name}`;
    }
    default:
      return false;
  }
}

/** Whether one rule covers the request. */
export function ruleAllows(rule: PolicyRule, attrs: RequestAttributes): boolean {
  if (!matchesValue(rule.verbs, attrs.verb)) return false;
  if (!attrs.isResourceRequest) {
    return (rule.nonResourceURLs ?? []).some((u) => u === ALL || u === attrs.path || (u.endsWith('*') && attrs.path.startsWith(u.slice(0, -1))));
  }
  if (!matchesValue(rule.apiGroups ?? [], attrs.apiGroup)) return false;
  if (!resourceMatches(rule.resources ?? [], attrs.resource, attrs.subresource)) return false;
  const names = rule.resourceNames ?? [];
  if (names.length === 0) return true;
  return attrs.name !== undefined && attrs.name !== '' && names.includes(attrs.name);
}

function matchesValue(list: string[], value: string): boolean {
  return list.some((v) => v === ALL || v === value);
}

function resourceMatches(list: string[], resource: string, subresource?: string): boolean {
  const combined = subresource ? `${resource}/${subresource}` : resource;
  return list.some((r) => r === ALL || r === combined || (subresource !== undefined && subresource !== '' && r === `*/${subresource}`));
}

/**
 * Groups kube-apiserver adds for an authenticated user: `system:authenticated` always, and for a
 * service account name `system:serviceaccount:NS:NAME` also `system:serviceaccounts` and
 * `system:serviceaccounts:NS` (as its service account authenticator does).
 */
export function withImplicitGroups(user: UserInfo): UserInfo {
  const groups = [...user.groups];
  const add = (g: string): void => {
    if (!groups.includes(g)) groups.push(g);
  };
  const sa = /^system:serviceaccount:([^:]+):([^:]+)$/.exec(user.name);
  if (sa) {
    add('system:serviceaccounts');
    add(`system:serviceaccounts:${sa[1]}`);
  }
  add('system:authenticated');
  return { ...user, groups };
}

/**
 * The kube-apiserver style "forbidden" sentence, e.g. `User "alice" cannot watch resource
 * "deployments/tap" in API group "tap.meshtap.dev" in the namespace "ns"`.
 */
export function describeDenial(user: UserInfo, attrs: RequestAttributes): string {
  if (!attrs.isResourceRequest) return `User "${user.name}" cannot ${attrs.verb} path "${attrs.path}"`;
  const res = attrs.subresource ? `${attrs.resource}/${attrs.subresource}` : attrs.resource;
  const where = attrs.namespace ? ` in the namespace "${attrs.namespace}"` : ' at the cluster scope';
  return `User "${user.name}" cannot ${attrs.verb} resource "${res}" in API group "${attrs.apiGroup}"${where}`;
}
