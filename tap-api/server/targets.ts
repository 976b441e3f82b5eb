/**
 * Tap targets, kubectl-shaped: `deploy/web`, `deployment/web`, `pod/x`, `po/x`, `ns/shop`,
 * `sts/…`, `statefulset/…`, `ds/…`, `daemonset/…`, `job/…`. Each maps to a resource plural
 * (the RBAC resource and the URL segment) and a canonical short form that sidecars register.
 */
import type { Result } from '../../common/index.js';

/** Resources a tap can target (the URL segment and the RBAC resource). */
export type TargetResource = 'pods' | 'deployments' | 'namespaces' | 'statefulsets' | 'daemonsets' | 'jobs';

export interface Target {
  resource: TargetResource;
  name: string;
}

const ALIASES: Record<string, TargetResource> = {
  po: 'pods',
  pod: 'pods',
  pods: 'pods',
  deploy: 'deployments',
  deployment: 'deployments',
  deployments: 'deployments',
  ns: 'namespaces',
  namespace: 'namespaces',
  namespaces: 'namespaces',
  sts: 'statefulsets',
  statefulset: 'statefulsets',
  statefulsets: 'statefulsets',
  ds: 'daemonsets',
  daemonset: 'daemonsets',
  daemonsets: 'daemonsets',
  job: 'jobs',
  jobs: 'jobs',
};

const SHORT: Record<TargetResource, string> = {
  pods: 'pod',
  deployments: 'deploy',
  namespaces: 'ns',
  statefulsets: 'sts',
  daemonsets: 'ds',
  jobs: 'job',
};

/** The short kind words of TARGET_RESOURCES (`pod`, `deploy`, `ns`, …), as `deploy/web` writes them. */
export const TARGET_SHORT_KINDS: readonly string[] = Object.values(SHORT);

/** Every resource that has a `<resource>/tap` permission. */
export const TARGET_RESOURCES: readonly TargetResource[] = ['pods', 'deployments', 'namespaces', 'statefulsets', 'daemonsets', 'jobs'];

/** A DNS-1123 subdomain (Kubernetes object names). */
const NAME = /^[a-z0-9]([-a-z0-9.]{0,251}[a-z0-9])?$/;

/** Whether `name` is a valid Kubernetes object / namespace name. */
export function isValidName(name: string): boolean {
  return NAME.test(name);
}

/** Maps a kind word (`deploy`, `deployments`, …) to its resource plural. */
export function resourceOfKind(kind: string): TargetResource | undefined {
  return ALIASES[kind.toLowerCase()];
}

/** Parses `KIND/NAME`. */
export function parseTarget(text: string): Result<Target, string> {
  const slash = text.indexOf('/');
  if (slash <= 0) return { ok: false, error: `target '${text}' is not TYPE/NAME (e.g. deploy/web, pod/web-1, ns/shop)` };
  const resource = resourceOfKind(text.slice(0, slash));
  const name = text.slice(slash + 1);
  if (!resource) return { ok: false, error: `unknown target type '${text.slice(0, slash)}'; use deploy, pod, ns, sts, ds or job` };
  if (name === '') return { ok: false, error: `target '${text}' has no NAME after the slash (e.g. ${text}web)` };
  if (!isValidName(name)) return { ok: false, error: `'${name}' is not a valid Kubernetes name (lowercase letters, digits, '-' and '.')` };
  return { ok: true, value: { resource, name } };
}

/** The canonical short form a sidecar registers, e.g. `deploy/web`. */
export function formatTarget(t: Target): string {
  return `${SHORT[t.resource]}/${t.name}`;
}
