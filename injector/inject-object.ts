/**
 * Injection for any Kubernetes object: a Pod, a workload's pod template (Deployment,
 * StatefulSet, DaemonSet, ReplicaSet, ReplicationController, Job, CronJob) or a `List` of
 * them. Other kinds pass through untouched. One report line per object, kubectl-shaped.
 */
import type { MeshConfig } from './config.js';
import { injectPod } from './inject-pod.js';
import type { JsonObject, PodLike } from './types.js';
import { workloadName } from './workload.js';

/** Where each kind keeps its pod template. */
const TEMPLATE_PATHS: Record<string, string[]> = {
  Pod: [],
  Deployment: ['spec', 'template'],
  StatefulSet: ['spec', 'template'],
  DaemonSet: ['spec', 'template'],
  ReplicaSet: ['spec', 'template'],
  ReplicationController: ['spec', 'template'],
  Job: ['spec', 'template'],
  CronJob: ['spec', 'jobTemplate', 'spec', 'template'],
};

/** Kinds `meshtap inject` can inject. */
export const INJECTABLE_KINDS = Object.keys(TEMPLATE_PATHS);

export interface ObjectReport {
  /** `deployment/web` (kind lower-cased, like kubectl). */
  object: string;
  injected: boolean;
  /** Why it was skipped (absent when injected). */
  reason?: string;
  warnings: string[];
}

export interface InjectObjectResult {
  /** The mutated object (the same reference when nothing changed). */
  object: unknown;
  reports: ObjectReport[];
}

function isObject(v: unknown): v is JsonObject {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** Injects one decoded document (a `List` recursively). Never throws on odd input. */
export function injectObject(doc: unknown, config: MeshConfig): InjectObjectResult {
  if (!isObject(doc)) return { object: doc, reports: [{ object: 'document', injected: false, reason: 'not a Kubernetes object', warnings: [] }] };
  const kind = typeof doc.kind === 'string' ? doc.kind : '';
  const meta = isObject(doc.metadata) ? doc.metadata : {};
  const name = typeof meta.name === 'string' ? meta.name : typeof meta.generateName === 'string' ? `${meta.generateName}*` : '(unnamed)';
  const label = `${kind.toLowerCase() || 'object'}/${name}`;

  if (/List$/.test(kind) && Array.isArray(doc.items)) {
    const reports: ObjectReport[] = [];
    let changed = false;
    const items = doc.items.map((item) => {
      const r = injectObject(item, config);
      reports.push(...r.reports);
      if (r.object !== item) changed = true;
      return r.object;
    });
    return { object: changed ? { ...doc, items } : doc, reports };
  }

  const path = TEMPLATE_PATHS[kind];
  if (path === undefined) return { object: doc, reports: [{ object: label, injected: false, reason: `kind ${kind || '(none)'} has no pod template`, warnings: [] }] };

  let template: unknown = doc;
  for (const key of path) template = isObject(template) ? template[key] : undefined;
  if (!isObject(template)) return { object: doc, reports: [{ object: label, injected: false, reason: 'no pod template', warnings: [] }] };

  const namespace = typeof meta.namespace === 'string' ? meta.namespace : undefined;
  const result = injectPod({
    pod: template as PodLike,
    namespace,
    config,
    workload: kind === 'Pod' ? undefined : workloadName(kind, typeof meta.name === 'string' ? meta.name : 'unknown'),
    requireOptIn: false,
  });
  if (!result.injected) return { object: doc, reports: [{ object: label, injected: false, reason: result.reason, warnings: result.warnings }] };

  const warnings = [...result.warnings];
  const native = result.pod.spec?.initContainers?.some((c) => c.name === 'meshtap-proxy') ?? false;
  if (!native && (kind === 'Job' || kind === 'CronJob')) {
    warnings.push('a classic sidecar keeps a Job running after its main container exits; prefer the native sidecar');
  }
  return { object: replaceAt(doc, path, result.pod), reports: [{ object: label, injected: true, warnings }] };
}

/** A copy of `obj` with the value at `path` replaced (copies only along the path). */
function replaceAt(obj: JsonObject, path: string[], value: unknown): unknown {
  if (path.length === 0) return value;
  const [head, ...rest] = path as [string, ...string[]];
  return { ...obj, [head]: replaceAt(obj[head] as JsonObject, rest, value) };
}
