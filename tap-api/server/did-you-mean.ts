/**
 * `meshtap tap deploy/wbe` — a typo. The 404 then names the nearest workload of the same kind
 * with meshed pods in that namespace ("did you mean deploy/web?"; the CLI's own suggestClosest,
 * as for mistyped commands and flags). Like elsewhere.ts, it names only what the
 * user may tap (the suggestion is authorized as a tap of it would be), so the hint tells nobody
 * about a workload they could not tap anyway. One suggestion at most; a hint is optional, so any
 * failure to list or authorize just leaves it out.
 */
import { suggestClosest } from '../../common/index.js';
import type { TapApiAccess, TapPod } from './access.js';
import type { UserInfo } from './rbac.js';
import { formatTarget, type Target } from './targets.js';
import { TAP_API_GROUP, TAP_SUBRESOURCE } from './wire.js';

/** Most distinct names compared for one hint (bounded work for a namespace of many pods). */
const MAX_CANDIDATES = 500;

/** The names of `resource` that have meshed pods among `pods`. */
function namesOf(pods: TapPod[], resource: Target['resource']): string[] {
  if (resource === 'pods') return pods.map((p) => p.pod);
  return pods.flatMap((p) => (p.workload?.resource === resource ? [p.workload.name] : []));
}

/**
 * The name among `names` (meshed workloads or pods of one kind) nearest to a mistyped `name`, if
 * one is near enough; the one rule for every command's "did you mean" about a target.
 */
export function nearestName(name: string, names: Iterable<string>): string | undefined {
  return suggestClosest(name, [...new Set(names)].filter((n) => n !== name).sort().slice(0, MAX_CANDIDATES));
}

/**
 * The meshed workload of `target`'s kind in `namespace` whose name is nearest to `target`'s, when
 * `user` may tap it; undefined otherwise (or when it cannot be known right now).
 */
export async function nearestTarget(access: TapApiAccess, user: UserInfo, namespace: string, target: Target): Promise<Target | undefined> {
  if (target.resource === 'namespaces') return undefined;
  let pods: TapPod[];
  try {
    pods = await access.discovery.list(namespace);
  } catch {
    return undefined;
  }
  const name = nearestName(target.name, namesOf(pods, target.resource));
  // `pod/web` where web is a workload (pods are named web-7d9f…-x2b4c): that workload was meant.
  const owner = target.resource === 'pods' && name === undefined ? pods.find((p) => p.workload?.name === target.name)?.workload : undefined;
  const suggestion: Target | undefined = owner ?? (name !== undefined ? { resource: target.resource, name } : undefined);
  if (suggestion === undefined) return undefined;
  try {
    const d = await access.authorizer.authorize(user, { isResourceRequest: true, verb: 'watch', apiGroup: TAP_API_GROUP, resource: suggestion.resource, subresource: TAP_SUBRESOURCE, name: suggestion.name, namespace });
    return d.allowed ? suggestion : undefined;
  } catch {
    return undefined; // no decision: say nothing about it
  }
}

/** The sentence appended to a not-found message, or '' when there is nothing to suggest. */
export function didYouMeanHint(suggestion: Target | undefined): string {
  return suggestion ? `; did you mean ${formatTarget(suggestion)}?` : '';
}
