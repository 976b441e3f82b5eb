/**
 * `meshtap tap deploy/wbe` — a typo. The 404 then names the nearest workload of the same kind
 * with meshed pods in that namespace ("did you mean deploy/web?"; the CLI's own suggestClosest
 * rule, as for mistyped commands and flags). Like elsewhere.ts, it names only what the user may
 * tap, and chooses among those only (each candidate is authorized as a tap of it would be), so
 * the hint, and its absence, tells nobody about a workload they could not tap anyway. One
 * suggestion at most; a hint is optional, so any failure to list or authorize just leaves it out.
 */
import { editDistance } from '../../common/index.js';
import type { TapApiAccess, TapPod } from './access.js';
import type { UserInfo } from './rbac.js';
import { formatTarget, type Target } from './targets.js';
import { TAP_API_GROUP, TAP_SUBRESOURCE } from './wire.js';

/** Most distinct names compared for one hint (bounded work for a namespace of many pods). */
const MAX_CANDIDATES = 500;
/**
 * Most access reviews for one hint. Names within the distance bound are few (a typo is one or two
 * edits from a handful of names at most); past this many refused ones, no hint.
 */
const MAX_HINT_REVIEWS = 16;

/** The names of `resource` that have meshed pods among `pods`. */
function namesOf(pods: TapPod[], resource: Target['resource']): string[] {
  if (resource === 'pods') return pods.map((p) => p.pod);
  return pods.flatMap((p) => (p.workload?.resource === resource ? [p.workload.name] : []));
}

/**
 * The names among `names` (meshed workloads or pods of one kind) near enough to a mistyped
 * `name` to suggest, nearest first, then by name: suggestClosest's rule (its distance bound, and
 * its choice among equally near names), as a list so that a caller can skip names the user may not see.
 */
export function nearNames(name: string, names: Iterable<string>): string[] {
  const bound = Math.min(2, Math.max(1, name.length - 1));
  const lower = name.toLowerCase();
  const near: Array<[string, number]> = [];
  for (const n of [...new Set(names)].filter((x) => x !== name).sort().slice(0, MAX_CANDIDATES)) {
    const d = editDistance(lower, n.toLowerCase());
    if (d <= bound) near.push([n, d]);
  }
  // A stable sort by distance keeps the names' order among equals (suggestClosest takes the first).
  return near.sort((a, b) => a[1] - b[1]).map(([n]) => n);
}

/**
 * The name among `names` nearest to a mistyped `name`, if one is near enough; the one rule for
 * every command's "did you mean" about a target.
 */
export function nearestName(name: string, names: Iterable<string>): string | undefined {
  return nearNames(name, names)[0];
}

/**
 * The meshed workload of `target`'s kind in `namespace` nearest to `target`'s name among those
 * `user` may tap; undefined when there is none (or it cannot be known right now). Only names the
 * user may tap are considered (R6): picking the nearest of all names and then dropping it when
 * it was not allowed made a missing hint say that a closer name, one the user may not see,
 * exists. `pod/web` where web is a workload suggests that workload when no pod name is near.
 */
export async function nearestTarget(access: TapApiAccess, user: UserInfo, namespace: string, target: Target): Promise<Target | undefined> {
  if (target.resource === 'namespaces') return undefined;
  let pods: TapPod[];
  try {
    pods = await access.discovery.list(namespace);
  } catch {
    return undefined;
  }
  const mayTap = async (resource: Target['resource'], name: string): Promise<boolean> => {
    try {
      const d = await access.authorizer.authorize(user, { isResourceRequest: true, verb: 'watch', apiGroup: TAP_API_GROUP, resource, subresource: TAP_SUBRESOURCE, name, namespace });
      return d.allowed;
    } catch {
      return false; // no decision: say nothing about it
    }
  };
  const suggestions: Target[] = nearNames(target.name, namesOf(pods, target.resource)).map((name) => ({ resource: target.resource, name }));
  // `pod/web` where web is a workload (pods are named web-7d9f…-x2b4c): that workload was meant.
  const owner = target.resource === 'pods' ? pods.find((p) => p.workload?.name === target.name)?.workload : undefined;
  if (owner) suggestions.push({ resource: owner.resource, name: owner.name });
  // One review per name, nearest first, until one is allowed: an authorizer may deny single names
  // (a webhook's "all but admin-*", RBAC resourceNames), so "may tap all" cannot stand for each.
  for (const s of suggestions.slice(0, MAX_HINT_REVIEWS)) if (await mayTap(s.resource, s.name)) return s;
  return undefined;
}

/** The sentence appended to a not-found message, or '' when there is nothing to suggest. */
export function didYouMeanHint(suggestion: Target | undefined): string {
  return suggestion ? `; did you mean ${formatTarget(suggestion)}?` : '';
}
