/**
 * The client of edges and routes (docs/edges-api.md), for `meshtap edges`, `meshtap routes`,
 * `meshtap advise network-policy` and the dashboard: the tap API directly (local mode, a bearer
 * token), or kube-apiserver's aggregated API with a kubeconfig (Kubernetes mode). Failures are
 * MeshtapErrors carrying the server's message (MT_RBAC_DENIED naming the missing permission, …).
 */
import { getTapApiJson, type CallOptions } from './client.js';
import type { EdgeList, RouteList } from '../server/edges-wire.js';
import { connectKube } from './kube-client.js';
import { TAP_API_PREFIX } from '../server/wire.js';

/** Where to ask, as whom. */
export type EdgesConnection = { tapApi: { url: string; token?: string } } | { kube: { kubeconfigPath?: string; context?: string } };

export interface EdgesQuery {
  /** Default: the kubeconfig context's namespace (Kubernetes), else `default`. */
  namespace?: string;
  allNamespaces?: boolean;
  /** `1m`, `30s`, … (default 1m). */
  window?: string;
  /** Only edges touching this workload (`deploy/web`) of `namespace`. */
  workload?: string;
  /** Unmeshed peers by address instead of one `unmeshed` end. */
  expandUnmeshed?: boolean;
}

export interface RoutesQuery {
  namespace?: string;
  /** `deploy/web` */
  workload: string;
  /** Routes `workload` called on this workload (`deploy/api`), instead of those it served. */
  to?: string;
  /** Namespace of `to` (default: `namespace`). */
  toNamespace?: string;
  window?: string;
}

/** The HTTP path (and query) of an edges request. */
export function edgesPath(namespace: string | undefined, q: EdgesQuery): string {
  const params = new URLSearchParams();
  if (q.window) params.set('window', q.window);
  if (q.workload) params.set('workload', q.workload);
  if (q.expandUnmeshed) params.set('unmeshed', 'expand');
  const query = params.size > 0 ? `?${params}` : '';
  return q.allNamespaces || namespace === undefined ? `${TAP_API_PREFIX}/edges${query}` : `${TAP_API_PREFIX}/namespaces/${encodeURIComponent(namespace)}/edges${query}`;
}

/** The HTTP path (and query) of a routes request. */
export function routesPath(namespace: string, q: RoutesQuery): string {
  const params = new URLSearchParams({ workload: q.workload });
  if (q.to) params.set('to', q.to);
  if (q.toNamespace) params.set('toNamespace', q.toNamespace);
  if (q.window) params.set('window', q.window);
  return `${TAP_API_PREFIX}/namespaces/${encodeURIComponent(namespace)}/routes?${params}`;
}

async function get<T>(conn: EdgesConnection, path: (namespace: string) => string, namespace: string | undefined): Promise<T> {
  if ('tapApi' in conn) return getTapApiJson<T>(conn.tapApi.url, path(namespace ?? 'default'), conn.tapApi.token);
  const k = await connectKube(conn.kube);
  const more: CallOptions = { dispatcher: k.dispatcher, headers: k.headers, describeServer: k.describeServer };
  try {
    return await getTapApiJson<T>(k.url, path(namespace ?? k.namespace), undefined, more);
  } finally {
    void k.dispatcher.close().catch(() => undefined);
  }
}

/** Who calls whom over a window (needs `list edges` in tap.meshtap.dev). */
export function fetchEdges(conn: EdgesConnection, q: EdgesQuery = {}): Promise<EdgeList> {
  return get<EdgeList>(conn, (ns) => edgesPath(q.allNamespaces ? undefined : ns, q), q.namespace);
}

/** A workload's routes over a window (needs `list routes` in tap.meshtap.dev). */
export function fetchRoutes(conn: EdgesConnection, q: RoutesQuery): Promise<RouteList> {
  return get<RouteList>(conn, (ns) => routesPath(ns, q), q.namespace);
}
