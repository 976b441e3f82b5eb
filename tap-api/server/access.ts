/**
 * The three pluggable parts of the tap API, so that local and Kubernetes mode share one server,
 * one tap route, one fan-out and one set of bounds, and differ only in:
 *
 *   - who is asking      (local: bearer token file; Kubernetes: front-proxy client certificate
 *                         + X-Remote-User/Group headers set by kube-apiserver)
 *   - may they           (local: the embedded RBAC engine; Kubernetes: SubjectAccessReview)
 *   - which pods         (local: the sidecar registry; Kubernetes: the API's pods and owners)
 */
import type { IncomingMessage } from 'node:http';
import type { Result } from '../../common/index.js';
import type { Decision, RequestAttributes, UserInfo } from './rbac.js';
import type { Target } from './targets.js';
import type { KubeStatus } from './wire.js';

/** Authenticates one HTTP request; the error is the 401 message (says what to do). */
export interface TapApiAuthenticator {
  authenticate(req: IncomingMessage): Result<UserInfo, string>;
}

/**
 * Decides one permission. Rejects (throws) only when no decision could be made (the API server
 * is unreachable): the route answers 503 then, never "allowed".
 */
export interface TapApiAuthorizer {
  authorize(user: UserInfo, attrs: RequestAttributes): Promise<Decision>;
}

/** A pod whose sidecar can be tapped. */
export interface TapPod {
  namespace: string;
  pod: string;
  /** The workload the pod belongs to, when known (goes into the grant). */
  workload?: Target;
  /** `host:port` of the sidecar's tap gRPC service. */
  tapAddress: string;
  /** `host:port` of the sidecar's admin server, for `meshtap stat`. */
  adminAddress?: string;
  /**
   * Addresses naming this pod as a peer (edges): local mode's registered inbound (`host:port`)
   * and source (IP) addresses; in a cluster, absent (the pod IP of `tapAddress` names it).
   */
  inboundAddresses?: string[];
  sourceAddresses?: string[];
  /** The pod's labels (per-pod ones such as pod-template-hash left out), for NetworkPolicy drafts. */
  labels?: Record<string, string>;
}

/** Finds the pods a target means. */
export interface TapApiDiscovery {
  /**
   * The tappable pods of `target` in `namespace`. An empty list means "nothing to tap" (the
   * route answers 404 with `noPodsHint`); an error is sent as is (e.g. the workload does not exist).
   */
  resolve(namespace: string, target: Target): Promise<Result<TapPod[], KubeStatus>>;
  /** Every tappable pod of a namespace (`GET …/namespaces/NS/sidecars`). */
  list(namespace: string | undefined): Promise<TapPod[]>;
  /**
   * Calls `onChange` when the pods of `namespace` may have changed (Kubernetes: a pod watch).
   * Absent: live taps re-resolve their target on a timer instead.
   */
  watch?(namespace: string, onChange: () => void): { stop(): void };
  /** Every tappable pod of every namespace, with its workload where known (edges, routes). */
  listAll(): Promise<TapPod[]>;
  /** Why a target may have no pods, appended to the 404 message. */
  readonly noPodsHint: string;
}

/** Authentication, authorization and discovery of one tap API mode. */
export interface TapApiAccess {
  /** `local` or `kubernetes`, for logs and /readyz. */
  mode: string;
  authenticator: TapApiAuthenticator;
  authorizer: TapApiAuthorizer;
  discovery: TapApiDiscovery;
}
