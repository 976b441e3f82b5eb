/**
 * The tap API's edges and routes endpoints (docs/edges-api.md): authenticate, check `list
 * edges` / `list routes` in the namespace asked for (cluster-wide for all namespaces), read the
 * window's samples (the tap API's own history of the sidecars' /metrics, or Prometheus), and
 * answer an EdgeList / RouteList.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { TapApiAccess } from '../server/access.js';
import { DEFAULT_EDGES_WINDOW, EDGES_RESOURCE, ROUTES_RESOURCE, type EdgeList, type RouteList } from '../server/edges-wire.js';
import { sendJson, sendStatus } from '../server/http-util.js';
import type { TapApiMetrics } from '../server/metrics.js';
import { authenticate, notFoundHint, requirePermission } from '../server/tap-route.js';
import type { UserInfo } from '../server/rbac.js';
import { formatTarget, isValidName, parseTarget } from '../server/targets.js';
import { kubeStatus, TAP_API_GROUP, type KubeStatus } from '../server/wire.js';
import type { TapPod } from '../server/access.js';
import { computeEdges, computeRoutes, edgeInScope, type AddressResolver, type PeerName } from './compute.js';
import type { WindowSamples } from './history.js';

/** Longest window a request may ask for. */
export const MAX_EDGES_WINDOW_MS = 3_600_000;

export interface EdgesRouteContext {
  access: TapApiAccess;
  metrics: TapApiMetrics;
  /** The window's samples of every sidecar. */
  window(windowMs: number): Promise<WindowSamples>;
  source: 'sidecars' | 'prometheus';
  /** Names addresses (registered sidecars' inbound and source addresses; pod IPs). */
  resolver(): Promise<AddressResolver>;
  /** Labels every pod of a workload carries (`ns/deploy/web` → labels). */
  workloadLabels(): Promise<Map<string, Record<string, string>>>;
}

const WINDOW = /^(\d+)(s|m|h)$/;

function parseWindow(text: string | null): { text: string; ms: number } | string {
  const t = text ?? DEFAULT_EDGES_WINDOW;
  const m = WINDOW.exec(t);
  if (!m) return `window '${t}' is not a duration such as 30s, 1m or 1h`;
  const ms = Number(m[1]) * (m[2] === 's' ? 1000 : m[2] === 'm' ? 60_000 : 3_600_000);
  if (ms < 1000 || ms > MAX_EDGES_WINDOW_MS) return `window '${t}' must be between 1s and 1h`;
  return { text: t, ms };
}

/** `deploy/web` in canonical form, or an error message. */
function parseWorkload(text: string, what: string): PeerName['workload'] | { error: string } {
  const t = parseTarget(text);
  if (!t.ok) return { error: `${what}: ${t.error}` };
  if (t.value.resource === 'namespaces') return { error: `${what}: give a workload (deploy/NAME, sts/NAME, pod/NAME, …), not a namespace` };
  return formatTarget(t.value);
}

/** `GET …/edges` (namespace undefined = all namespaces). */
export async function serveEdges(ctx: EdgesRouteContext, req: IncomingMessage, res: ServerResponse, namespace: string | undefined, query: URLSearchParams): Promise<void> {
  const user = authenticate(ctx, req, res);
  if (!user) return;
  if (namespace !== undefined && !isValidName(namespace)) return sendStatus(res, kubeStatus(400, 'namespace must be a Kubernetes name'));
  const attrs = { isResourceRequest: true as const, verb: 'list', apiGroup: TAP_API_GROUP, resource: EDGES_RESOURCE, namespace: namespace ?? '' };
  const hint = namespace === undefined ? 'all namespaces needs the permission cluster-wide; or ask for one namespace' : undefined;
  if (!(await requirePermission(ctx, res, user, attrs, { kind: EDGES_RESOURCE, ...(hint ? { hint } : {}) }))) return;
  const window = parseWindow(query.get('window'));
  if (typeof window === 'string') return sendStatus(res, kubeStatus(400, window));
  let workload: string | undefined;
  const w = query.get('workload');
  if (w !== null) {
    const parsed = parseWorkload(w, 'workload');
    if (typeof parsed !== 'string') return sendStatus(res, kubeStatus(400, parsed.error));
    workload = parsed;
  }
  const unmeshed = query.get('unmeshed');
  if (unmeshed !== null && unmeshed !== 'expand' && unmeshed !== 'aggregate') return sendStatus(res, kubeStatus(400, `unmeshed must be expand or aggregate, not '${unmeshed}'`));
  const [data, resolve, labels] = await Promise.all([ctx.window(window.ms), ctx.resolver(), ctx.workloadLabels()]);
  const items = computeEdges(data.samples, { windowMs: data.windowMs, resolve, expandUnmeshed: unmeshed === 'expand' }).filter((e) => edgeInScope(e, namespace, workload));
  if (items.length === 0 && workload !== undefined && namespace !== undefined) {
    const missing = await notFound(ctx, user, namespace, workload);
    if (missing) return sendStatus(res, missing);
  }
  for (const e of items) {
    for (const end of [e.src, e.dst]) {
      const l = end.meshed ? labels.get(`${end.namespace}/${end.workload}`) : undefined;
      if (l) end.labels = l;
    }
  }
  const body: EdgeList = {
    kind: 'EdgeList',
    apiVersion: `${TAP_API_GROUP}/v1alpha1`,
    window: window.text,
    windowMs: data.windowMs,
    ...(namespace !== undefined ? { namespace } : {}),
    source: ctx.source,
    items,
    ...(data.unreachable.length > 0 ? { unreachable: data.unreachable } : {}),
  };
  sendJson(res, 200, body);
}

/** `GET …/namespaces/NS/routes?workload=…[&to=…]`. */
export async function serveRoutes(ctx: EdgesRouteContext, req: IncomingMessage, res: ServerResponse, namespace: string, query: URLSearchParams): Promise<void> {
  const user = authenticate(ctx, req, res);
  if (!user) return;
  if (!isValidName(namespace)) return sendStatus(res, kubeStatus(400, 'namespace must be a Kubernetes name'));
  const attrs = { isResourceRequest: true as const, verb: 'list', apiGroup: TAP_API_GROUP, resource: ROUTES_RESOURCE, namespace };
  if (!(await requirePermission(ctx, res, user, attrs, { kind: ROUTES_RESOURCE }))) return;
  const window = parseWindow(query.get('window'));
  if (typeof window === 'string') return sendStatus(res, kubeStatus(400, window));
  const w = query.get('workload');
  if (w === null) return sendStatus(res, kubeStatus(400, 'routes needs workload=TYPE/NAME (e.g. deploy/web)'));
  const workload = parseWorkload(w, 'workload');
  if (typeof workload !== 'string') return sendStatus(res, kubeStatus(400, workload.error));
  let to: PeerName | undefined;
  const t = query.get('to');
  if (t !== null) {
    const toWorkload = parseWorkload(t, 'to');
    if (typeof toWorkload !== 'string') return sendStatus(res, kubeStatus(400, toWorkload.error));
    const toNamespace = query.get('toNamespace') ?? namespace;
    if (!isValidName(toNamespace)) return sendStatus(res, kubeStatus(400, 'toNamespace must be a Kubernetes name'));
    to = { namespace: toNamespace, workload: toWorkload };
  }
  const [data, resolve] = await Promise.all([ctx.window(window.ms), ctx.resolver()]);
  const items = computeRoutes(data.samples, { self: { namespace, workload }, ...(to ? { to } : {}), windowMs: data.windowMs, resolve });
  if (items.length === 0) {
    // Nothing served (or sent): a workload that has no meshed pods is a 404, as kubectl says of a
    // missing object, not an empty table; one that has them just had no requests in the window.
    for (const [ns, w] of [[namespace, workload], ...(to ? [[to.namespace, to.workload]] : [])] as const) {
      const missing = await notFound(ctx, user, ns, w);
      if (missing) return sendStatus(res, missing);
    }
  }
  const body: RouteList = {
    kind: 'RouteList',
    apiVersion: `${TAP_API_GROUP}/v1alpha1`,
    window: window.text,
    windowMs: data.windowMs,
    namespace,
    workload,
    direction: to ? 'outbound' : 'inbound',
    ...(to ? { to: { namespace: to.namespace, workload: to.workload, meshed: true } } : {}),
    source: ctx.source,
    items,
    ...(data.unreachable.length > 0 ? { unreachable: data.unreachable } : {}),
  };
  sendJson(res, 200, body);
}

/** The 404 for `workload` when it has no meshed pods in `namespace` (with a did-you-mean), else undefined. */
async function notFound(ctx: EdgesRouteContext, user: UserInfo, namespace: string, workload: string): Promise<KubeStatus | undefined> {
  const target = parseTarget(workload);
  if (!target.ok) return undefined;
  let resolved;
  try {
    resolved = await ctx.access.discovery.resolve(namespace, target.value);
  } catch {
    return undefined; // cannot tell right now: the empty list stands
  }
  if (resolved.ok && resolved.value.length > 0) return undefined;
  if (!resolved.ok && resolved.error.code !== 404) return undefined;
  ctx.metrics.rejected.inc({ reason: 'not-found' });
  const hint = await notFoundHint(ctx, user, namespace, target.value);
  const what = resolved.ok ? `no meshed pods found for ${workload}` : resolved.error.message;
  return kubeStatus(404, `${what} in namespace "${namespace}"${hint}`, { name: target.value.name, kind: target.value.resource });
}
