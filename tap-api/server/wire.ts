/**
 * The tap API's HTTP wire shapes, shared by the server and its client: Kubernetes `Status`
 * objects for errors (so kubectl-minded tools read them) and the NDJSON lines of a tap stream.
 */
import type { TapMessage } from '../../tap-protocol/index.js';

export const TAP_API_GROUP = 'tap.meshtap.dev';
export const TAP_API_VERSION = 'v1alpha1';
export const TAP_API_PREFIX = `/apis/${TAP_API_GROUP}/${TAP_API_VERSION}`;
/** Subresource a tap needs (verb `watch`). */
export const TAP_SUBRESOURCE = 'tap';
/** The separate subresource that bodies and unredacted headers need (verb `watch`). */
export const TAP_BODIES_SUBRESOURCE = 'tap-bodies';
/** Resource listed by `meshtap stat` (verb `list`). */
export const SIDECARS_RESOURCE = 'sidecars';
/**
 * `GET /apis/tap.meshtap.dev/v1alpha1/version` (and `/version` directly): the server's build
 * (`meshtap version`). Public, like Kubernetes' /version: the tap API answers it to anyone; through
 * kube-apiserver the caller needs `get` on `version` (the tap ClusterRoles grant it).
 */
export const VERSION_RESOURCE = 'version';

/** A Kubernetes `Status` (metav1.Status) as kube-apiserver returns for failures. */
export interface KubeStatus {
  kind: 'Status';
  apiVersion: 'v1';
  metadata: Record<string, never>;
  status: 'Failure';
  message: string;
  reason: string;
  details?: { name?: string; group?: string; kind?: string };
  code: number;
}

const REASONS: Record<number, string> = {
  400: 'BadRequest',
  401: 'Unauthorized',
  403: 'Forbidden',
  404: 'NotFound',
  405: 'MethodNotAllowed',
  409: 'Conflict',
  413: 'RequestEntityTooLarge',
  415: 'UnsupportedMediaType',
  429: 'TooManyRequests',
  500: 'InternalError',
  503: 'ServiceUnavailable',
};

/** Builds a failure Status for an HTTP code. */
export function kubeStatus(code: number, message: string, details?: KubeStatus['details']): KubeStatus {
  const s: KubeStatus = { kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Failure', message, reason: REASONS[code] ?? 'Unknown', code };
  if (details) s.details = details;
  return s;
}

/**
 * One NDJSON line of a tap stream: the sidecars' messages, plus
 * `notice` (one pod's part ended; the others go on) and `error` (the stream ends because of it:
 * slow client dropped, tap API shutting down).
 */
export type TapApiLine =
  | TapMessage
  | { type: 'notice'; pod: string; message: string }
  | { type: 'error'; code: string; message: string };

/** Body of `POST /v1/sidecars` answers. */
/** Another sidecar's inbound address and its workload, in a registration reply. */
export interface RegistrationPeer {
  address: string;
  /** `deploy/web` */
  workload?: string;
  namespace: string;
}

export interface RegistrationReply {
  /** How long the entry lives without a heartbeat. */
  ttlMs: number;
  /** Base64 of the raw Ed25519 public key that signs grants. */
  publicKey: string;
  /** Changes when the tap API restarts (a new registry). */
  instance: string;
}

/** One item of `GET …/namespaces/NS/sidecars`. */
export interface SidecarInfo {
  namespace: string;
  pod: string;
  workload?: string;
  adminAddress?: string;
}
