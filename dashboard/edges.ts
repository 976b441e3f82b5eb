/**
 * `GET /api/edges` and `GET /api/routes`: the tap API's edge and route statistics (DESIGN §11,
 * docs/edges-api.md), asked as the user. The map may show several namespaces: one EdgeList per
 * namespace, merged (an edge between two shown namespaces is listed by both: kept once). Asked
 * with the CLI's own client (tap-api's `fetchEdges`/`fetchRoutes`: bearer token, or kube-apiserver
 * with the kubeconfig's credentials), so `meshtap edges` and the map get the same answers and errors.
 */
import { MeshtapError } from '../common/index.js';
import { fetchEdges as fetchEdgeList, fetchRoutes as fetchRouteList, type Edge, type EdgeList, type RouteList } from '../tap-api/index.js';
import type { DashboardConnection } from './connection.js';

const WINDOW = /^\d+(ms|s|m|h)$/;
const NAME = /^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$/;
const WORKLOAD = /^[a-z]+\/[a-z0-9]([-a-z0-9.]*[a-z0-9])?$/;

const endKey = (e: Edge['src']): string => JSON.stringify([e.namespace ?? '', e.workload ?? '', e.address ?? '']);

/** Edges of the namespaces, merged into one list. */
export async function fetchEdges(c: DashboardConnection, namespaces: string[], window: string): Promise<EdgeList> {
  if (!WINDOW.test(window)) throw new MeshtapError('MT_BAD_REQUEST', `window '${window}' is not a duration like 1m`);
  for (const ns of namespaces) if (!NAME.test(ns)) throw new MeshtapError('MT_BAD_REQUEST', `namespace '${ns}' is not a Kubernetes name`);
  const lists = await Promise.all(
    namespaces.map((ns) => fetchEdgeList(c, { namespace: ns, window })),
  );
  const seen = new Set<string>();
  const items: Edge[] = [];
  for (const l of lists) {
    for (const e of l.items) {
      const k = `${endKey(e.src)}>${endKey(e.dst)}`;
      if (seen.has(k)) continue;
      seen.add(k);
      items.push(e);
    }
  }
  const first = lists[0];
  return {
    kind: 'EdgeList',
    apiVersion: 'tap.meshtap.dev/v1alpha1',
    window,
    windowMs: Math.min(...lists.map((l) => l.windowMs)),
    ...(namespaces.length === 1 ? { namespace: namespaces[0]! } : {}),
    source: first?.source ?? 'sidecars',
    items,
    unreachable: [...new Set(lists.flatMap((l) => l.unreachable ?? []))],
  };
}

/** Routes a workload served. */
export async function fetchRoutes(c: DashboardConnection, namespace: string, workload: string, window: string): Promise<RouteList> {
  if (!WINDOW.test(window)) throw new MeshtapError('MT_BAD_REQUEST', `window '${window}' is not a duration like 1m`);
  if (!NAME.test(namespace)) throw new MeshtapError('MT_BAD_REQUEST', `namespace '${namespace}' is not a Kubernetes name`);
  if (!WORKLOAD.test(workload)) throw new MeshtapError('MT_BAD_REQUEST', `workload '${workload}' is not TYPE/NAME`);
  return fetchRouteList(c, { namespace, workload, window });
}
