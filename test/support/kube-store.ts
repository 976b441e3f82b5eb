/**
 * The object store behind the stand-in Kubernetes API server (kube-api-server.ts): objects
 * keyed by uid, one resourceVersion counter for everything (as etcd has), a bounded event
 * history for watches that resume from a resourceVersion, and the list semantics clients rely
 * on: label selectors (=, ==, !=, in, notin, exists, !key), field selectors (any dotted path,
 * = / == / !=), `limit` + `continue` paging. Kept apart from the HTTP side so the semantics
 * read in one place.
 */

/** A Kubernetes object as the API server stores it (kind and apiVersion set). */
export type Obj = { apiVersion: string; kind: string; metadata: { name: string; namespace?: string; uid?: string; resourceVersion?: string; [k: string]: unknown }; [k: string]: unknown };

/** kind → REST plural (the resources the tests serve). */
export const PLURALS: Record<string, string> = {
  Namespace: 'namespaces', Node: 'nodes', Pod: 'pods', Service: 'services', ServiceAccount: 'serviceaccounts', Secret: 'secrets', ConfigMap: 'configmaps',
  Deployment: 'deployments', DaemonSet: 'daemonsets', ReplicaSet: 'replicasets', StatefulSet: 'statefulsets', Job: 'jobs',
  MutatingWebhookConfiguration: 'mutatingwebhookconfigurations', APIService: 'apiservices', EndpointSlice: 'endpointslices',
  ClusterRole: 'clusterroles', ClusterRoleBinding: 'clusterrolebindings', Role: 'roles', RoleBinding: 'rolebindings', PodDisruptionBudget: 'poddisruptionbudgets',
};

/** plural → kind. */
export function kindOf(plural: string): string {
  return Object.keys(PLURALS).find((k) => PLURALS[k] === plural) ?? 'Unknown';
}

/** Which objects a list or watch asks for. */
export interface Query {
  apiVersion: string;
  plural: string;
  namespace: string | undefined;
  labelSelector: string | null;
  fieldSelector: string | null;
}

/** One change, as a watch sends it. */
export interface Change {
  rv: number;
  type: 'ADDED' | 'MODIFIED' | 'DELETED';
  object: Obj;
}

/** How many changes are kept for watches that resume; older ones are compacted away. */
const HISTORY_LIMIT = 1000;

/** Splits a selector at top-level commas (not inside `in (a,b)`). */
function selectorTerms(sel: string): string[] {
  const out: string[] = [];
  let depth = 0;
  let cur = '';
  for (const c of sel) {
    if (c === '(') depth++;
    if (c === ')') depth--;
    if (c === ',' && depth === 0) {
      out.push(cur.trim());
      cur = '';
    } else cur += c;
  }
  if (cur.trim()) out.push(cur.trim());
  return out;
}

/** Label selector semantics of kube-apiserver (the subset clients send). */
export function matchesLabels(labels: Record<string, string>, sel: string | null): boolean {
  if (!sel) return true;
  return selectorTerms(sel).every((t) => {
    let m: RegExpExecArray | null;
    if ((m = /^(\S+)\s+(in|notin)\s+\((.*)\)$/.exec(t))) {
      const vals = m[3]!.split(',').map((v) => v.trim());
      const has = m[1]! in labels && vals.includes(labels[m[1]!]!);
      return m[2] === 'in' ? has : !has;
    }
    if (t.startsWith('!')) return !(t.slice(1) in labels);
    if ((m = /^([^!=]+)!=(.*)$/.exec(t))) return labels[m[1]!] !== m[2];
    if ((m = /^([^=]+)==?(.*)$/.exec(t))) return labels[m[1]!] === m[2];
    return t in labels;
  });
}

/** Field selector semantics: `a.b.c=value`, `==`, `!=`; a missing field is the empty string. */
export function matchesFields(o: Obj, sel: string | null): boolean {
  if (!sel) return true;
  const field = (path: string): string => {
    let v: unknown = o;
    for (const k of path.split('.')) v = v === null || typeof v !== 'object' ? undefined : (v as Record<string, unknown>)[k];
    return v === undefined || v === null ? '' : String(v);
  };
  return selectorTerms(sel).every((t) => {
    const m = /^([^!=]+)(!=|==|=)(.*)$/.exec(t);
    if (!m) return false;
    return m[2] === '!=' ? field(m[1]!) !== m[3] : field(m[1]!) === m[3];
  });
}

function matches(q: Query, o: Obj): boolean {
  return (
    o.apiVersion === q.apiVersion &&
    PLURALS[o.kind] === q.plural &&
    (q.namespace === undefined || o.metadata.namespace === q.namespace) &&
    matchesLabels((o.metadata.labels as Record<string, string>) ?? {}, q.labelSelector) &&
    matchesFields(o, q.fieldSelector)
  );
}

const clone = <T>(o: T): T => structuredClone(o);
const now = (): string => new Date().toISOString().replace(/\.\d+Z$/, 'Z');

/** The store: tests hold references to the objects they added; readers get copies. */
export function createKubeStore(onChange: (c: Change) => void) {
  const objects = new Map<string, Obj>();
  const history: Change[] = [];
  let rv = 5000;
  let uidSeq = 0;
  let compactedAt = 0;

  const record = (type: Change['type'], o: Obj): Change => {
    rv += 1;
    o.metadata.resourceVersion = String(rv);
    const c: Change = { rv, type, object: clone(o) };
    history.push(c);
    if (history.length > HISTORY_LIMIT) compactedAt = history.shift()!.rv;
    onChange(c);
    return c;
  };
  const find = (kind: string, namespace: string | undefined, name: string): Obj | undefined =>
    [...objects.values()].find((o) => o.kind === kind && o.metadata.namespace === namespace && o.metadata.name === name);

  return {
    get resourceVersion(): number {
      return rv;
    },
    /** Oldest resourceVersion a watch may resume from. */
    get compactedAt(): number {
      return compactedAt;
    },
    /** Forgets the history up to now (what etcd compaction does). */
    compact(): void {
      compactedAt = rv;
      history.length = 0;
    },
    add(o: Obj): void {
      uidSeq += 1;
      o.metadata.uid ??= `5c1e0000-0000-4000-8000-${String(uidSeq).padStart(12, '0')}`;
      o.metadata.creationTimestamp ??= now();
      objects.set(o.metadata.uid, o);
      record('ADDED', o);
    },
    /** Applies `change` to the stored object with `o`'s uid; a MODIFIED event follows. */
    update<T extends Obj>(o: T, change: (stored: T) => void): T {
      const stored = objects.get(o.metadata.uid ?? '') as T | undefined;
      if (!stored) throw new Error(`the stand-in holds no ${o.kind} ${o.metadata.namespace ?? ''}/${o.metadata.name}`);
      change(stored);
      record('MODIFIED', stored);
      return stored;
    },
    /** Removes it; the DELETED event's copy carries deletionTimestamp, as a finished deletion does. */
    remove(kind: string, namespace: string | undefined, name: string): Obj | undefined {
      const o = find(kind, namespace, name);
      if (!o) return undefined;
      objects.delete(o.metadata.uid!);
      rv += 1;
      o.metadata.resourceVersion = String(rv);
      const object = clone(o);
      object.metadata.deletionTimestamp = now();
      object.metadata.deletionGracePeriodSeconds = 0;
      const c: Change = { rv, type: 'DELETED', object };
      history.push(c);
      onChange(c);
      return o;
    },
    find,
    get(q: Query, name: string): Obj | undefined {
      const o = [...objects.values()].find((x) => x.metadata.name === name && matches({ ...q, labelSelector: null, fieldSelector: null }, x));
      return o && clone(o);
    },
    /** A list page: items without kind/apiVersion (as kube-apiserver sends them), `continue` when paged. */
    list(q: Query, limit: number, continueToken: string | null): { items: Obj[]; continue?: string } {
      const all = [...objects.values()].filter((o) => matches(q, o));
      const from = continueToken ? Number(Buffer.from(continueToken, 'base64url').toString()) : 0;
      const page = limit > 0 ? all.slice(from, from + limit) : all.slice(from);
      const items = page.map(({ kind: _k, apiVersion: _a, ...rest }) => clone(rest) as Obj);
      return limit > 0 && from + limit < all.length ? { items, continue: Buffer.from(String(from + limit)).toString('base64url') } : { items };
    },
    /** What a new watch sends first: ADDED for what exists (no resourceVersion), or the changes since one. */
    replay(q: Query, since: string | null): Change[] {
      if (!since || since === '0') return [...objects.values()].filter((o) => matches(q, o)).map((o) => ({ rv, type: 'ADDED', object: clone(o) }));
      return history.filter((c) => c.rv > Number(since) && matches(q, c.object));
    },
    matches,
  };
}

export type KubeStore = ReturnType<typeof createKubeStore>;
