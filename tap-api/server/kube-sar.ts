/**
 * Kubernetes mode's authorization: one SubjectAccessReview per decision
 * (`POST /apis/authorization.k8s.io/v1/subjectaccessreviews`), carrying the user, groups, uid
 * and extra the front proxy told us, and the resource attributes of the tap (verb `watch`,
 * group tap.meshtap.dev, resource + subresource `tap` or `tap-bodies`, name, namespace).
 *
 * Decisions are cached briefly (bounded; like kube's delegating authorizer, 10 s either way)
 * so a CLI that reconnects does not cost a review each time. An API server that cannot be
 * asked is an error (the route answers 503), never an "allowed".
 */
import type { KubeConfig } from '@kubernetes/client-node';
import type { TapApiAuthorizer } from './access.js';
import type { Decision, RequestAttributes, UserInfo } from './rbac.js';

/** The SubjectAccessReview body we send (authorization.k8s.io/v1). */
export interface SubjectAccessReviewBody {
  apiVersion: 'authorization.k8s.io/v1';
  kind: 'SubjectAccessReview';
  spec: {
    user: string;
    groups: string[];
    uid?: string;
    extra?: Record<string, string[]>;
    resourceAttributes?: { namespace?: string; verb: string; group: string; resource: string; subresource?: string; name?: string };
    nonResourceAttributes?: { path: string; verb: string };
  };
}

/** `status` of a SubjectAccessReview answer. */
export interface SubjectAccessReviewStatus {
  allowed: boolean;
  denied?: boolean;
  reason?: string;
  evaluationError?: string;
}

export const SAR_CACHE_TTL_MS = 10_000;
export const SAR_CACHE_MAX_ENTRIES = 4096;

/** Builds the review for a user and request. */
export function subjectAccessReview(user: UserInfo, attrs: RequestAttributes): SubjectAccessReviewBody {
  const spec: SubjectAccessReviewBody['spec'] = { user: user.name, groups: user.groups };
  if (user.uid) spec.uid = user.uid;
  if (user.extra) spec.extra = user.extra;
  if (attrs.isResourceRequest) {
    spec.resourceAttributes = {
      ...(attrs.namespace ? { namespace: attrs.namespace } : {}),
      verb: attrs.verb,
      group: attrs.apiGroup,
      resource: attrs.resource,
      ...(attrs.subresource ? { subresource: attrs.subresource } : {}),
      ...(attrs.name ? { name: attrs.name } : {}),
    };
  } else spec.nonResourceAttributes = { path: attrs.path, verb: attrs.verb };
  return { apiVersion: 'authorization.k8s.io/v1', kind: 'SubjectAccessReview', spec };
}

/** Turns a review's status into a decision (a `denied` or unanswered review is a denial). */
export function decisionOf(status: SubjectAccessReviewStatus | undefined): Decision {
  if (status?.allowed === true && status.denied !== true) return { allowed: true, by: `SubjectAccessReview${status.reason ? `: ${status.reason}` : ''}` };
  const reason = status?.reason || status?.evaluationError || '';
  return { allowed: false, reason };
}

/** A SubjectAccessReview authorizer through client-node's AuthorizationV1Api; `onReview` counts reviews (cached or asked). */
export function createSarAuthorizer(kc: KubeConfig, options: { cacheTtlMs?: number; maxEntries?: number; onReview?: (cached: boolean) => void } = {}): TapApiAuthorizer {
  const ttl = options.cacheTtlMs ?? SAR_CACHE_TTL_MS;
  const max = options.maxEntries ?? SAR_CACHE_MAX_ENTRIES;
  const cache = new Map<string, { decision: Decision; untilMs: number }>();
  let api: import('@kubernetes/client-node').AuthorizationV1Api | undefined;
  return {
    async authorize(user, attrs) {
      const body = subjectAccessReview(user, attrs);
      const key = JSON.stringify(body.spec);
      const now = Date.now();
      const hit = cache.get(key);
      if (hit && hit.untilMs > now) {
        options.onReview?.(true);
        return hit.decision;
      }
      if (!api) {
        const { AuthorizationV1Api } = await import('@kubernetes/client-node');
        api = kc.makeApiClient(AuthorizationV1Api);
      }
      let answer;
      try {
        answer = await api.createSubjectAccessReview({ body });
      } catch (err) {
        throw new Error(`SubjectAccessReview failed: ${describeKubeError(err)}`, { cause: err });
      }
      options.onReview?.(false);
      const decision = decisionOf(answer.status as SubjectAccessReviewStatus | undefined);
      if (ttl > 0) {
        cache.delete(key);
        while (cache.size >= max) cache.delete(cache.keys().next().value!);
        cache.set(key, { decision, untilMs: now + ttl });
      }
      return decision;
    },
  };
}

/** One line from a client-node error (ApiException: HTTP code + Status message; else the network cause). */
export function describeKubeError(err: unknown): string {
  const e = err as { code?: unknown; body?: unknown; message?: string; cause?: { code?: string; message?: string } };
  if (typeof e.code === 'number') {
    let message: string | undefined;
    try {
      const b = typeof e.body === 'string' ? (JSON.parse(e.body) as { message?: string }) : (e.body as { message?: string } | undefined);
      message = b?.message;
    } catch {
      message = undefined;
    }
    return `HTTP ${e.code}${message ? `: ${message}` : ''}`;
  }
  const cause = e.cause?.code ?? e.cause?.message;
  return `${(e.message ?? String(err)).split('\n')[0]}${cause ? ` (${cause})` : ''}`;
}
