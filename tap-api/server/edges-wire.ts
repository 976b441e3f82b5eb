/**
 * The wire contract of edges and routes (DESIGN §11): who calls whom and on which routes, as the
 * tap API serves them to `meshtap edges`, `meshtap routes`, `meshtap advise network-policy` and
 * the dashboard's service map. Plain types and constants only (no imports), so every party
 * (server, CLI, dashboard bundle) can share them. Documented in docs/edges-api.md.
 *
 * Paths (the same in local and Kubernetes mode; in Kubernetes mode through kube-apiserver):
 *
 *   GET /apis/tap.meshtap.dev/v1alpha1/namespaces/NS/edges?window=1m[&workload=deploy/web][&unmeshed=expand]
 *   GET /apis/tap.meshtap.dev/v1alpha1/edges?window=1m[&unmeshed=expand]           (all namespaces)
 *   GET /apis/tap.meshtap.dev/v1alpha1/namespaces/NS/routes?workload=deploy/web[&to=deploy/x[&toNamespace=NS2]]&window=1m
 *
 * and, local mode's short forms of the same answers:
 *
 *   GET /v1/edges?namespace=NS|allNamespaces=true&window=1m[&workload=…][&unmeshed=expand]
 *   GET /v1/routes?namespace=NS&workload=deploy/web[&to=…][&toNamespace=…]&window=1m
 *
 * Permission: verb `list` on resource `edges` (resp. `routes`) in API group tap.meshtap.dev, in
 * namespace NS; all namespaces needs it cluster-wide (a ClusterRoleBinding). An edge is listed
 * for NS when either end is in NS, so a viewer of NS also sees the names of its callers and
 * callees in other namespaces (as `linkerd viz edges` does).
 */

/** Resource (verb `list`) that edges need. */
export const EDGES_RESOURCE = 'edges';
/** Resource (verb `list`) that routes need. */
export const ROUTES_RESOURCE = 'routes';
/** Window when the request gives none. */
export const DEFAULT_EDGES_WINDOW = '1m';
/** The route every request falls into once a sidecar's route bound is reached. */
export const OTHER_ROUTE = '[other]';
/** `address` of the aggregated end standing for every unmeshed peer (without `unmeshed=expand`). */
export const UNMESHED_ADDRESS = 'unmeshed';

/** Protocols an edge or route was seen speaking; `tcp` = opaque TCP (no HTTP observed). */
export type EdgeProtocol = 'http/1.1' | 'http/1.0' | 'h2' | 'grpc' | 'tcp';

/**
 * One end of an edge. A meshed end has `namespace` and `workload` (a workload-less pod has
 * `workload: "pod/NAME"`); an unmeshed end (no sidecar, or not resolvable) has only `address`:
 * an IP (a caller) or `ip:port` (a destination), or `unmeshed` when aggregated.
 */
export interface EdgeEnd {
  namespace?: string;
  /** `deploy/web`, `sts/db`, `pod/x` (TYPE/NAME as the CLI takes it). */
  workload?: string;
  address?: string;
  meshed: boolean;
  /**
   * Labels every pod of the workload carries (Kubernetes: from the pods, per-pod labels such as
   * pod-template-hash left out; local mode: what its sidecars registered), for NetworkPolicy
   * selectors. Absent when not known.
   */
  labels?: Record<string, string>;
}

/** Latency percentiles in ms, interpolated in Linkerd's histogram buckets (absent: no responses). */
export interface LatencyPercentiles {
  p50?: number;
  p95?: number;
  p99?: number;
}

export interface Edge {
  src: EdgeEnd;
  dst: EdgeEnd;
  /** Sorted. */
  protocols: EdgeProtocol[];
  /** Destination ports seen (as the connections addressed them), sorted. */
  ports: number[];
  /** HTTP/gRPC requests that ended in the window (responses, resets and no-responses included). */
  requests: number;
  /** requests / window seconds. */
  rps: number;
  /** 0..1 (Linkerd's classification: 5xx, failing gRPC statuses, no response or one cut short = failure); absent without requests. */
  successRate?: number;
  latencyMs: LatencyPercentiles;
  /**
   * Open TCP connections at the end of the window and bytes moved during it, as the observing
   * sidecar counted them. Absent where the observing side cannot tell connections apart by peer
   * (an unmeshed caller seen by the callee's inbound sidecar).
   */
  tcpOpen?: number;
  bytes?: { /** src → dst */ sent: number; /** dst → src */ received: number };
  /**
   * Which sidecar's metrics the edge comes from: the caller's (`outbound`, whenever the caller is
   * meshed) or the callee's (`inbound`, for unmeshed callers). Each request is counted once.
   */
  observedBy: 'outbound' | 'inbound';
}

export interface EdgeList {
  kind: 'EdgeList';
  apiVersion: 'tap.meshtap.dev/v1alpha1';
  /** The window asked for (`1m`) and the one the numbers really cover, in ms. */
  window: string;
  windowMs: number;
  /** Namespace scope; absent for all namespaces. */
  namespace?: string;
  /** Where the numbers come from. */
  source: 'sidecars' | 'prometheus';
  /** Sorted by src then dst (namespace, workload, address). */
  items: Edge[];
  /** Sidecars that did not answer (their edges are missing or partial): `ns/pod`. */
  unreachable?: string[];
}

/** Per-route statistics of one workload: served (inbound) or, with `to`, called (outbound). */
export interface RouteStats {
  /** `GET`, `POST`, …; gRPC: `POST`. */
  method: string;
  /** Path template (`/users/{id}`), a gRPC method as is (`/pkg.Service/Method`), or `[other]`. */
  route: string;
  protocols: EdgeProtocol[];
  /** Outbound (`to`) only: the destination. */
  dst?: EdgeEnd;
  requests: number;
  rps: number;
  successRate?: number;
  latencyMs: LatencyPercentiles;
}

export interface RouteList {
  kind: 'RouteList';
  apiVersion: 'tap.meshtap.dev/v1alpha1';
  window: string;
  windowMs: number;
  namespace: string;
  /** `deploy/web` */
  workload: string;
  /** `inbound`: routes the workload served; `outbound`: routes it called on `to`. */
  direction: 'inbound' | 'outbound';
  to?: EdgeEnd;
  source: 'sidecars' | 'prometheus';
  /** Sorted by requests (descending), then method and route. */
  items: RouteStats[];
  unreachable?: string[];
}
