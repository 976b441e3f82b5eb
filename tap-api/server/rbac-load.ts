/**
 * Reads RBAC policy from a directory of Kubernetes YAML (or JSON) manifests: multi-document
 * files and `kind: List` are accepted, other kinds are skipped (a directory may hold a whole
 * app's manifests). Anything malformed in an RBAC object is refused with one line naming the
 * file and object, so a typo never silently grants or denies.
 */
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { MeshtapError } from '../../common/index.js';
import { loadYaml } from '../lazy-deps.js';
import type { BindingObject, PolicyRule, RbacPolicy, RoleObject, Subject } from './rbac.js';

const RBAC_KINDS = new Set(['Role', 'ClusterRole', 'RoleBinding', 'ClusterRoleBinding']);
/** Namespace given to namespaced objects without one (as `kubectl apply` without -n does). */
export const DEFAULT_NAMESPACE = 'default';
/** Largest policy file read (bounded input). */
export const MAX_POLICY_FILE_BYTES = 4 * 1024 * 1024;

/** Loads every `*.yaml`, `*.yml`, `*.json` file of `dir` (not recursive), sorted by name. */
export async function loadRbacDir(dir: string): Promise<RbacPolicy> {
  let names: string[];
  try {
    names = (await readdir(dir)).filter((n) => /\.(ya?ml|json)$/i.test(n)).sort();
  } catch (err) {
    throw new MeshtapError('MT_RBAC_POLICY', `cannot read --rbac directory ${dir}: ${(err as Error).message}`, { cause: err });
  }
  const policy: RbacPolicy = { roles: [], bindings: [] };
  for (const name of names) {
    const path = join(dir, name);
    const text = await readFile(path, 'utf8');
    if (text.length > MAX_POLICY_FILE_BYTES) throw new MeshtapError('MT_RBAC_POLICY', `${path}: larger than ${MAX_POLICY_FILE_BYTES} bytes`);
    const part = parseRbacYaml(text, path);
    policy.roles.push(...part.roles);
    policy.bindings.push(...part.bindings);
  }
  return policy;
}

/** Parses one (multi-document) YAML text; `source` names it in errors. */
export function parseRbacYaml(text: string, source = '<input>'): RbacPolicy {
  const policy: RbacPolicy = { roles: [], bindings: [] };
  for (const doc of loadYaml().parseAllDocuments(text)) {
    if (doc.errors.length > 0) throw new MeshtapError('MT_RBAC_POLICY', `${source}: ${doc.errors[0]!.message.split('\n')[0]!.replace(/:\s*$/, '')}`);
    addObject(policy, doc.toJS() as unknown, source);
  }
  return policy;
}

function addObject(policy: RbacPolicy, obj: unknown, source: string): void {
  if (obj === null || obj === undefined) return; // empty document
  if (typeof obj !== 'object' || Array.isArray(obj)) throw new MeshtapError('MT_RBAC_POLICY', `${source}: a document is not a Kubernetes object`);
  const o = obj as Record<string, unknown>;
  if (o.kind === 'List' || (typeof o.kind === 'string' && o.kind.endsWith('List') && Array.isArray(o.items))) {
    for (const item of (o.items as unknown[]) ?? []) addObject(policy, item, source);
    return;
  }
  if (typeof o.kind !== 'string' || !RBAC_KINDS.has(o.kind)) return;
  const meta = (o.metadata ?? {}) as Record<string, unknown>;
  const name = meta.name;
  const where = `${source}: ${o.kind} ${typeof name === 'string' ? name : '?'}`;
  const bad = (what: string): never => {
    throw new MeshtapError('MT_RBAC_POLICY', `${where}: ${what}`);
  };
  if (typeof name !== 'string' || name === '') bad('metadata.name is missing');
  if (typeof o.apiVersion === 'string' && !o.apiVersion.startsWith('rbac.authorization.k8s.io/')) bad(`apiVersion ${o.apiVersion} is not rbac.authorization.k8s.io/*`);
  const namespaced = o.kind === 'Role' || o.kind === 'RoleBinding';
  const namespace = namespaced ? (typeof meta.namespace === 'string' && meta.namespace !== '' ? meta.namespace : DEFAULT_NAMESPACE) : undefined;
  if (o.kind === 'Role' || o.kind === 'ClusterRole') {
    const rules = o.rules ?? [];
    if (!Array.isArray(rules)) bad('rules must be a list');
    policy.roles.push({ kind: o.kind, name: name as string, namespace, rules: (rules as unknown[]).map((r, i) => parseRule(r, `${where}: rules[${i}]`)) } as RoleObject);
    return;
  }
  const ref = o.roleRef as Record<string, unknown> | undefined;
  if (!ref || typeof ref.name !== 'string' || (ref.kind !== 'Role' && ref.kind !== 'ClusterRole')) bad('roleRef needs kind Role|ClusterRole and a name');
  if (o.kind === 'ClusterRoleBinding' && ref!.kind === 'Role') bad('a ClusterRoleBinding can only reference a ClusterRole');
  const subjects = o.subjects ?? [];
  if (!Array.isArray(subjects)) bad('subjects must be a list');
  policy.bindings.push({
    kind: o.kind as BindingObject['kind'],
    name: name as string,
    namespace,
    roleRef: { kind: ref!.kind as 'Role' | 'ClusterRole', name: ref!.name as string },
    subjects: (subjects as unknown[]).map((s, i) => parseSubject(s, `${where}: subjects[${i}]`)),
  });
}

function stringList(v: unknown, field: string, where: string): string[] | undefined {
  if (v === undefined || v === null) return undefined;
  if (!Array.isArray(v) || !v.every((x) => typeof x === 'string')) throw new MeshtapError('MT_RBAC_POLICY', `${where}: ${field} must be a list of strings`);
  return v as string[];
}

function parseRule(r: unknown, where: string): PolicyRule {
  if (typeof r !== 'object' || r === null) throw new MeshtapError('MT_RBAC_POLICY', `${where}: not an object`);
  const o = r as Record<string, unknown>;
  const verbs = stringList(o.verbs, 'verbs', where);
  if (!verbs || verbs.length === 0) throw new MeshtapError('MT_RBAC_POLICY', `${where}: verbs must not be empty`);
  const rule: PolicyRule = { verbs };
  const apiGroups = stringList(o.apiGroups, 'apiGroups', where);
  const resources = stringList(o.resources, 'resources', where);
  const resourceNames = stringList(o.resourceNames, 'resourceNames', where);
  const nonResourceURLs = stringList(o.nonResourceURLs, 'nonResourceURLs', where);
  if (apiGroups) rule.apiGroups = apiGroups;
  if (resources) rule.resources = resources;
  if (resourceNames) rule.resourceNames = resourceNames;
  if (nonResourceURLs) rule.nonResourceURLs = nonResourceURLs;
  return rule;
}

function parseSubject(s: unknown, where: string): Subject {
  if (typeof s !== 'object' || s === null) throw new MeshtapError('MT_RBAC_POLICY', `${where}: not an object`);
  const o = s as Record<string, unknown>;
  if (o.kind !== 'User' && o.kind !== 'Group' && o.kind !== 'ServiceAccount') {
    throw new MeshtapError('MT_RBAC_POLICY', `${where}: kind must be User, Group or ServiceAccount`);
  }
  if (typeof o.name !== 'string' || o.name === '') throw new MeshtapError('MT_RBAC_POLICY', `${where}: name is missing`);
  const subject: Subject = { kind: o.kind, name: o.name };
  if (typeof o.namespace === 'string' && o.namespace !== '') subject.namespace = o.namespace;
  return subject;
}
