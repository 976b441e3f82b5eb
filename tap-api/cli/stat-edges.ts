/**
 * `meshtap stat deploy --to deploy/api` / `--from deploy/web`: Linkerd's `stat --to/--from`, the
 * traffic between two workloads instead of what a workload served. The numbers are the tap API's
 * edges (docs/edges-api.md), which come from the callers' `route_response_total` series (each
 * request counted once, by the caller's sidecar when the caller is meshed): `--to X` gives one row
 * per selected workload that called X, `--from X` one row per selected workload X called. Needs
 * `list edges` where the rows are (as `meshtap edges`); answers at once (the window is history).
 */
import { MeshtapError } from '../../common/index.js';
import type { Edge, EdgeEnd } from '../server/edges-wire.js';
import { formatTarget } from '../server/targets.js';
import { fetchEdges, type EdgesConnection } from './edges-client.js';
import { connectKube } from './kube-client.js';
import type { StatSelector } from './stat.js';
import type { StatRow } from './stat-metrics.js';

/** The other end of `--to`/`--from`: a workload in a namespace. */
export interface StatPeer {
  direction: 'to' | 'from';
  /** `deploy/api` */
  workload: string;
  /** Default: the rows' namespace. */
  namespace?: string;
}

export interface EdgeStatOptions {
  connection: EdgesConnection;
  selectors: StatSelector[];
  /** Namespace of the rows (default: the kubeconfig context's, else `default`). */
  namespace?: string;
  allNamespaces: boolean;
  peer: StatPeer;
  /** `10s`, `1m`, … as the user gave -t. */
  window: string;
}

function matches(end: EdgeEnd, sel: StatSelector): boolean {
  if (!end.meshed || !end.workload) return false;
  const want = sel.name ? formatTarget({ resource: sel.resource, name: sel.name }) : undefined;
  if (want) return end.workload === want;
  return end.workload.startsWith(`${formatTarget({ resource: sel.resource, name: 'x' }).split('/')[0]}/`);
}

/** Rows of `stat SELECTORS --to|--from PEER`, one per matching workload, sorted. */
export async function collectEdgeStats(o: EdgeStatOptions): Promise<StatRow[]> {
  for (const sel of o.selectors) {
    if (sel.resource === 'pods' || sel.resource === 'namespaces') {
      throw new MeshtapError('MT_USAGE', `--${o.peer.direction} works on workloads (deploy, sts, ds, job): edges are kept per workload, not per ${sel.resource === 'pods' ? 'pod' : 'namespace'}`);
    }
  }
  let namespace = o.namespace;
  if (namespace === undefined && 'kube' in o.connection) {
    const k = await connectKube(o.connection.kube);
    void k.dispatcher.close().catch(() => undefined);
    namespace = k.namespace;
  }
  namespace ??= 'default';
  const peerNamespace = o.peer.namespace ?? namespace;
  const list = await fetchEdges(o.connection, { ...(o.allNamespaces ? { allNamespaces: true } : { namespace }), window: o.window });
  const isPeer = (end: EdgeEnd): boolean => end.meshed && end.workload === o.peer.workload && end.namespace === peerNamespace;
  const rows: StatRow[] = [];
  for (const e of list.items as Edge[]) {
    const [row, other] = o.peer.direction === 'to' ? [e.src, e.dst] : [e.dst, e.src];
    if (!isPeer(other)) continue;
    if (!o.allNamespaces && row.namespace !== namespace) continue;
    if (!o.selectors.some((s) => matches(row, s))) continue;
    rows.push({
      namespace: row.namespace!,
      name: row.workload!,
      // Edges do not say how many sidecars the row's workload has: shown as '-'.
      meshed: { ok: 0, total: 0 },
      ...(e.successRate !== undefined ? { successRate: e.successRate } : {}),
      rps: e.rps,
      ...(e.latencyMs.p50 !== undefined ? { latencyMsP50: e.latencyMs.p50 } : {}),
      ...(e.latencyMs.p95 !== undefined ? { latencyMsP95: e.latencyMs.p95 } : {}),
      ...(e.latencyMs.p99 !== undefined ? { latencyMsP99: e.latencyMs.p99 } : {}),
      tcpConnections: e.tcpOpen ?? 0,
    });
  }
  return rows.sort((a, b) => a.namespace.localeCompare(b.namespace) || a.name.localeCompare(b.name));
}
