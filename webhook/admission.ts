/**
 * AdmissionReview in and out (admission.k8s.io v1 and v1beta1), answering in the version
 * received. Pure: the server feeds it the decoded body and the namespace's annotations.
 * The response envelope is what kube-apiserver checks: same apiVersion/kind, the
 * request's uid, `patchType: JSONPatch` whenever there is a patch.
 */
import { injectPod, type MeshConfig, type PodLike } from '../injector/index.js';

export const ADMISSION_VERSIONS = ['admission.k8s.io/v1', 'admission.k8s.io/v1beta1'] as const;
export type AdmissionVersion = (typeof ADMISSION_VERSIONS)[number];

/** The parts of `request` the webhook reads. */
export interface AdmissionRequest {
  uid: string;
  kind?: { group?: string; version?: string; kind?: string };
  resource?: { group?: string; version?: string; resource?: string };
  subResource?: string;
  namespace?: string;
  operation?: string;
  dryRun?: boolean;
  object?: unknown;
}

export interface ParsedReview {
  apiVersion: AdmissionVersion;
  request: AdmissionRequest;
}

export interface AdmissionResponse {
  uid: string;
  allowed: boolean;
  patchType?: 'JSONPatch';
  patch?: string;
  warnings?: string[];
  status?: { code: number; message: string; reason?: string };
}

export interface AdmissionReviewOut {
  apiVersion: AdmissionVersion;
  kind: 'AdmissionReview';
  response: AdmissionResponse;
}

/** Checks the envelope; an error string says what is wrong (answered with 400). */
export function parseAdmissionReview(body: unknown): { ok: true; value: ParsedReview } | { ok: false; error: string } {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) return { ok: false, error: 'body is not a JSON object' };
  const b = body as Record<string, unknown>;
  if (b.kind !== 'AdmissionReview') return { ok: false, error: `kind is ${JSON.stringify(b.kind)}, want "AdmissionReview"` };
  if (!ADMISSION_VERSIONS.includes(b.apiVersion as AdmissionVersion)) {
    return { ok: false, error: `apiVersion ${JSON.stringify(b.apiVersion)} is not one of ${ADMISSION_VERSIONS.join(', ')}` };
  }
  const r = b.request;
  if (typeof r !== 'object' || r === null) return { ok: false, error: 'request is missing' };
  const uid = (r as Record<string, unknown>).uid;
  if (typeof uid !== 'string' || uid === '') return { ok: false, error: 'request.uid is missing' };
  return { ok: true, value: { apiVersion: b.apiVersion as AdmissionVersion, request: r as AdmissionRequest } };
}

/** What the webhook decided, for the metrics and logs. */
export type AdmissionOutcome = 'injected' | 'skipped' | 'ignored';

/** Decides for one request. Only CREATE of core/v1 pods is looked at; anything else is allowed untouched. */
export function admit(
  review: ParsedReview,
  config: MeshConfig,
  namespaceAnnotations: Record<string, string> | undefined,
  extraWarnings: string[] = [],
): { review: AdmissionReviewOut; outcome: AdmissionOutcome; reason?: string } {
  const { request } = review;
  const envelope = (response: Omit<AdmissionResponse, 'uid'>): AdmissionReviewOut => ({
    apiVersion: review.apiVersion,
    kind: 'AdmissionReview',
    response: { uid: request.uid, ...response },
  });
  const isPodCreate =
    (request.kind?.group ?? '') === '' && request.kind?.kind === 'Pod' && (request.operation ?? 'CREATE') === 'CREATE' && !request.subResource;
  if (!isPodCreate) return { review: envelope({ allowed: true }), outcome: 'ignored', reason: 'not a pod creation' };

  const result = injectPod({
    pod: request.object as PodLike,
    namespace: request.namespace,
    namespaceAnnotations,
    config,
    requireOptIn: true,
  });
  // kube-apiserver truncates long warnings; keep each readable and bounded.
  const warnings = [...extraWarnings, ...result.warnings].map((w) => truncate(`meshtap: ${w}`, MAX_WARNING_CHARS));
  const withWarnings = warnings.length > 0 ? { warnings } : {};
  if (!result.injected) return { review: envelope({ allowed: true, ...withWarnings }), outcome: 'skipped', reason: result.reason };
  const patch = Buffer.from(JSON.stringify(result.patch)).toString('base64');
  return { review: envelope({ allowed: true, patchType: 'JSONPatch', patch, ...withWarnings }), outcome: 'injected' };
}

/** The answer when meshtap itself failed: allow (fail open) with a warning, or deny with --strict. */
export function internalErrorReview(review: ParsedReview, message: string, strict: boolean): AdmissionReviewOut {
  const response: AdmissionResponse = strict
    ? { uid: review.request.uid, allowed: false, status: { code: 500, message: `meshtap injection failed: ${message}`, reason: 'InternalError' } }
    : { uid: review.request.uid, allowed: true, warnings: [`meshtap: injection skipped after an internal error: ${message}`] };
  return { apiVersion: review.apiVersion, kind: 'AdmissionReview', response };
}

/** Longest warning sent back (kube-apiserver recommends short warnings and truncates long ones). */
export const MAX_WARNING_CHARS = 256;

function truncate(text: string, max: number): string {
  return text.length <= max ? text : text.slice(0, max - 1) + '…';
}
