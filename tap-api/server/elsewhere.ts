/**
 * "no meshed pods found for deploy/web in namespace "default"" — kubectl users then guess the
 * namespace. Like `kubectl`'s suggestions, the 404 names the namespaces where that workload does
 * have meshed pods, but only those the user may tap there (each candidate is authorized as a tap
 * of it would be), so the hint tells nobody about a namespace they could not tap anyway.
 * Bounded: at most MAX_CANDIDATES namespaces are checked, at most MAX_SHOWN named.
 */
import type { TapApiAccess, TapPod } from './access.js';
import type { UserInfo } from './rbac.js';
import type { Target } from './targets.js';
import { TAP_API_GROUP, TAP_SUBRESOURCE } from './wire.js';

/** Most other namespaces authorized for one hint (each is one authorization request). */
export const MAX_CANDIDATES = 20;
/** Most namespaces named in the hint. */
const MAX_SHOWN = 3;

function isTarget(p: TapPod, target: Target): boolean {
  if (target.resource === 'pods') return p.pod === target.name;
  return p.workload?.resource === target.resource && p.workload.name === target.name;
}

/**
 * The namespaces (other than `namespace`) where `target` has meshed pods and `user` may tap it,
 * sorted; empty when there are none, or when they cannot be known right now (a hint is optional).
 */
export async function namespacesElsewhere(access: TapApiAccess, user: UserInfo, namespace: string, target: Target): Promise<string[]> {
  if (target.resource === 'namespaces') return [];
  let pods: TapPod[];
  try {
    pods = await access.discovery.listAll();
  } catch {
    return [];
  }
  const candidates = [...new Set(pods.filter((p) => p.namespace !== namespace && isTarget(p, target)).map((p) => p.namespace))].sort().slice(0, MAX_CANDIDATES);
  const allowed = await Promise.all(
    candidates.map(async (ns) => {
      try {
        const d = await access.authorizer.authorize(user, { isResourceRequest: true, verb: 'watch', apiGroup: TAP_API_GROUP, resource: target.resource, subresource: TAP_SUBRESOURCE, name: target.name, namespace: ns });
        return d.allowed;
      } catch {
        return false; // no decision: say nothing about it
      }
    }),
  );
  return candidates.filter((_, i) => allowed[i]).slice(0, MAX_SHOWN);
}

/** The sentence appended to a not-found message, or '' when there is nothing to suggest. */
export function elsewhereHint(namespaces: string[]): string {
  if (namespaces.length === 0) return '';
  const list = namespaces.map((n) => `"${n}"`).join(', ');
  return `; it has meshed pods in namespace${namespaces.length === 1 ? '' : 's'} ${list} (e.g. -n ${namespaces[0]})`;
}
