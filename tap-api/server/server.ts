/**
 * `meshtap tap-api`: one server for both modes. Local mode (tokens + embedded RBAC + sidecar
 * registry, plain HTTP) is what `tokens` + `policy` build; Kubernetes mode passes its own
 * `access` (front proxy + SubjectAccessReview + API discovery) and an HTTPS `createServer`.
 * Routes:
 *
 *   POST   /v1/sidecars                       register / heartbeat (JSON SidecarRegistration;
 *                                             bearer registration token; local mode only)
 *   DELETE /v1/sidecars/NS/POD                forget (a sidecar that stops cleanly; same token)
 *   GET    /v1/public-key                     {algorithm: "Ed25519", publicKey: base64 raw 32 bytes}
 *   GET    /healthz, /readyz, /metrics
 *   GET    /version, /apis/tap.meshtap.dev/v1alpha1/version   the server's build and mode (no
 *            authentication, like Kubernetes' /version: a build is no secret; through kube-apiserver
 *            the caller needs `get version` in tap.meshtap.dev, which the tap ClusterRoles grant)
 *   GET    /apis, /apis/tap.meshtap.dev, /apis/tap.meshtap.dev/v1alpha1   discovery documents
 *   POST   /apis/tap.meshtap.dev/v1alpha1/watch/namespaces/NS/RESOURCE/NAME/tap
 *   POST   /apis/tap.meshtap.dev/v1alpha1/watch/namespaces/NS/tap
 *            bearer token; body: JSON TapRequest; answer: NDJSON TapApiLine stream
 *   GET    /apis/tap.meshtap.dev/v1alpha1/namespaces/NS/sidecars
 *            bearer token + `list sidecars`; answer: {kind: "SidecarList", items}
 *
 * Errors are Kubernetes Status objects. Registration in local mode needs the shared
 * registration token (registration-route.ts) unless `insecureRegistration` is set (throwaway
 * tests only); every grant is addressed to the tap address it is sent to, so even a sidecar
 * that registered cannot replay what it receives to another. In Kubernetes mode pods come from
 * the API server and the registration routes answer 404.
 */
import { createServer, type IncomingMessage, type RequestListener, type Server, type ServerResponse } from 'node:http';
import { Server as HttpsServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import { randomUUID } from 'node:crypto';
import { buildInfo, createLogger, MeshtapError } from '../../common/index.js';
import type { TapApiAccess } from './access.js';
import { apiGroup, apiGroupList, apiResourceList } from './api-discovery.js';
import { sendJson, sendStatus } from './http-util.js';
import { createLocalAccess } from './local-access.js';
import { createEdgeHistory, type EdgeHistory } from '../edges/history.js';
import { prometheusWindow } from '../edges/prometheus.js';
import { createPeerNames } from '../edges/peer-names.js';
import { resolverOf, workloadLabelsOf } from '../edges/resolve.js';
import { serveEdges, serveRoutes, type EdgesRouteContext } from '../edges/route.js';
import { createTapApiMetrics, type TapApiMetrics } from './metrics.js';
import type { RbacPolicy } from './rbac.js';
import { serveRegistration, type RegistrationRouteContext } from './registration-route.js';
import { createRegistrationCheck } from './registration-token.js';
import { createSidecarRegistry, DEFAULT_SIDECAR_TTL_MS, type SidecarRegistry } from './registry.js';
import { authenticate, requirePermission, serveTap, type TapRouteContext } from './tap-route.js';
import { formatTarget, isValidName, resourceOfKind } from './targets.js';
import type { TokenAuthenticator } from './tokens.js';
import { kubeStatus, SIDECARS_RESOURCE, TAP_API_GROUP, TAP_API_PREFIX, VERSION_RESOURCE, type SidecarInfo } from './wire.js';
import { exportPublicKeyRaw, DEFAULT_GRANT_TTL_MS, type GrantKeyPair } from '../../tap-protocol/index.js';

export interface TapApiServerOptions {
  host?: string;
  /** 0 = any free port. */
  port: number;
  /** Local mode: the token file's users. */
  tokens?: TokenAuthenticator;
  /** Local mode: the RBAC policy. */
  policy?: RbacPolicy;
  /**
   * Another mode's authentication, authorization and discovery (Kubernetes mode). Given
   * `access`, `tokens`/`policy` are not used and registrations are answered but not recorded.
   */
  access?: TapApiAccess;
  /** Builds the listening server (e.g. HTTPS with client certificates); default plain HTTP. */
  createServer?: (listener: RequestListener) => Server | HttpsServer;
  /** Extra readiness condition for `/readyz` (e.g. certificates loaded). */
  isReady?: () => boolean;
  keys: GrantKeyPair;
  /**
   * Local mode: the token sidecars must present (bearer) to register or say goodbye. Required
   * unless `insecureRegistration` is set.
   */
  registrationToken?: string;
  /** Local mode: let anyone register any pod at any address. For throwaway local tests only. */
  insecureRegistration?: boolean;
  sidecarTtlMs?: number;
  maxSidecars?: number;
  maxConcurrentTaps?: number;
  /** Concurrent taps of one user (so one user cannot take every slot). */
  maxTapsPerUser?: number;
  /** Largest request body (tap requests, registrations). */
  maxBodyBytes?: number;
  /** Bytes waiting for one tap client before it is dropped. */
  clientQueueBytes?: number;
  /** Per-tap rate when the client asks for none. */
  defaultMaxRps?: number;
  /** Highest per-tap rate a client may ask for. */
  maxRpsCap?: number;
  grantTtlMs?: number;
  /**
   * Edges and routes (docs/edges-api.md): from this Prometheus, or (default) from the sidecars'
   * /metrics, read every `scrapeIntervalMs` (default 10 s).
   */
  edges?: { prometheus?: string; scrapeIntervalMs?: number };
}

export const TAP_API_DEFAULTS = {
  maxConcurrentTaps: 64,
  maxTapsPerUser: 8,
  maxBodyBytes: 64 * 1024,
  clientQueueBytes: 1024 * 1024,
  defaultMaxRps: 100,
  maxRpsCap: 1000,
} as const;

export interface TapApiServer {
  /** `http://host:port` (or `https://…`) */
  url: string;
  port: number;
  registry: SidecarRegistry;
  metrics: TapApiMetrics;
  /** Replaces the RBAC policy (e.g. after re-reading --rbac). */
  setPolicy(policy: RbacPolicy): void;
  /** Ends live taps with a final message, then closes. */
  close(): Promise<void>;
}

/** Starts the tap API server. */
export async function startTapApiServer(options: TapApiServerOptions): Promise<TapApiServer> {
  const log = createLogger('tap-api');
  const instance = randomUUID();
  const ttlMs = options.sidecarTtlMs ?? DEFAULT_SIDECAR_TTL_MS;
  const registry = createSidecarRegistry({ ttlMs, ...(options.maxSidecars ? { maxSidecars: options.maxSidecars } : {}) });
  const metrics = createTapApiMetrics(() => registry.size);
  let policy: RbacPolicy = options.policy ?? { roles: [], bindings: [] };
  let access: TapApiAccess;
  if (options.access) access = options.access;
  else if (options.tokens) access = createLocalAccess(options.tokens, () => policy, registry);
  else throw new MeshtapError('MT_USAGE', 'startTapApiServer: give tokens + policy (local mode) or access');
  const isLocal = options.access === undefined;
  if (isLocal && options.registrationToken === undefined && options.insecureRegistration !== true) {
    throw new MeshtapError('MT_USAGE', 'startTapApiServer: local mode needs a registrationToken (or insecureRegistration: true, for throwaway tests only)');
  }
  const publicKey = exportPublicKeyRaw(options.keys.publicKey);
  const registration: RegistrationRouteContext = {
    registry: isLocal ? registry : undefined,
    check: createRegistrationCheck(isLocal && options.insecureRegistration !== true ? options.registrationToken : undefined),
    metrics,
    maxBodyBytes: options.maxBodyBytes ?? TAP_API_DEFAULTS.maxBodyBytes,
    reply: { ttlMs, publicKey, instance },
    log,
  };
  if (isLocal && options.insecureRegistration === true) log.warn('insecure registration: anyone who reaches this tap API can register any pod; use only for throwaway local tests');
  const ctx: TapRouteContext = {
    access,
    keys: options.keys,
    metrics,
    limits: {
      maxBodyBytes: options.maxBodyBytes ?? TAP_API_DEFAULTS.maxBodyBytes,
      maxConcurrentTaps: options.maxConcurrentTaps ?? TAP_API_DEFAULTS.maxConcurrentTaps,
      maxTapsPerUser: options.maxTapsPerUser ?? TAP_API_DEFAULTS.maxTapsPerUser,
      clientQueueBytes: options.clientQueueBytes ?? TAP_API_DEFAULTS.clientQueueBytes,
      defaultMaxRps: options.defaultMaxRps ?? TAP_API_DEFAULTS.defaultMaxRps,
      maxRpsCap: options.maxRpsCap ?? TAP_API_DEFAULTS.maxRpsCap,
      grantTtlMs: options.grantTtlMs ?? DEFAULT_GRANT_TTL_MS,
    },
    active: new Set(),
    tapsByUser: new Map(),
    peerNames: createPeerNames({ list: () => access.discovery.listAll(), byPodIp: !isLocal }),
  };

  const prometheus = options.edges?.prometheus;
  const history: EdgeHistory | undefined = prometheus
    ? undefined
    : createEdgeHistory({
        list: async () =>
          (await access.discovery.listAll()).flatMap((p) => (p.adminAddress ? [{ key: `${p.namespace}/${p.pod}`, adminAddress: p.adminAddress }] : [])),
        ...(options.edges?.scrapeIntervalMs ? { intervalMs: options.edges.scrapeIntervalMs } : {}),
      });
  const edges: EdgesRouteContext = {
    access,
    metrics,
    source: prometheus ? 'prometheus' : 'sidecars',
    window: (ms) => (prometheus ? prometheusWindow(prometheus, ms) : history!.window(ms)),
    resolver: async () => resolverOf(await access.discovery.listAll(), !isLocal),
    workloadLabels: async () => workloadLabelsOf(await access.discovery.listAll()),
  };

  const route = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const url = new URL(req.url ?? '/', 'http://tap-api');
    const path = url.pathname;
    const method = req.method ?? 'GET';
    if (path === '/healthz' && method === 'GET') return void res.end('ok\n');
    if (path === '/readyz' && method === 'GET') {
      const ready = options.isReady?.() ?? true;
      res.statusCode = ready ? 200 : 503;
      return void res.end(ready ? 'ok\n' : 'not ready\n');
    }
    if (method === 'GET' && (path === '/apis' || path === '/apis/')) return sendJson(res, 200, apiGroupList());
    if (method === 'GET' && path === `/apis/${TAP_API_GROUP}`) return sendJson(res, 200, apiGroup());
    if (method === 'GET' && (path === TAP_API_PREFIX || path === TAP_API_PREFIX + '/')) return sendJson(res, 200, apiResourceList());
    if (path === '/metrics' && method === 'GET') {
      res.setHeader('content-type', metrics.registry.contentType);
      return void res.end(await metrics.registry.metrics());
    }
    if (path === '/v1/public-key' && method === 'GET') return sendJson(res, 200, { algorithm: 'Ed25519', publicKey });
    if (method === 'GET' && (path === '/version' || path === `${TAP_API_PREFIX}/${VERSION_RESOURCE}`)) {
      return sendJson(res, 200, { ...buildInfo(), mode: isLocal ? 'local' : 'kubernetes' });
    }
    if (await serveRegistration(registration, req, res, method, path)) return;
    if (path === '/v1/edges' && method === 'GET') {
      const all = url.searchParams.get('allNamespaces') === 'true';
      return serveEdges(edges, req, res, all ? undefined : (url.searchParams.get('namespace') ?? 'default'), url.searchParams);
    }
    if (path === '/v1/routes' && method === 'GET') return serveRoutes(edges, req, res, url.searchParams.get('namespace') ?? 'default', url.searchParams);
    if (path.startsWith(TAP_API_PREFIX + '/')) return apiRoute(req, res, method, path.slice(TAP_API_PREFIX.length), url.searchParams);
    sendStatus(res, kubeStatus(404, `no route for ${method} ${path}`));
  };

  const apiRoute = async (req: IncomingMessage, res: ServerResponse, method: string, rest: string, query: URLSearchParams): Promise<void> => {
    if (method === 'GET' && rest === '/edges') return serveEdges(edges, req, res, undefined, query);
    const scoped = /^\/namespaces\/([^/]+)\/(edges|routes)$/.exec(rest);
    if (scoped && method === 'GET') {
      const ns = decodeURIComponent(scoped[1]!);
      return scoped[2] === 'edges' ? serveEdges(edges, req, res, ns, query) : serveRoutes(edges, req, res, ns, query);
    }
    const tap = /^\/watch\/namespaces\/([^/]+)(?:\/([^/]+)\/([^/]+))?\/tap$/.exec(rest);
    if (tap) {
      if (method !== 'POST') return sendStatus(res, kubeStatus(405, 'use POST with a JSON TapRequest body'));
      const ns = decodeURIComponent(tap[1]!);
      const resource = tap[2] === undefined ? 'namespaces' : resourceOfKind(tap[2]);
      const name = tap[2] === undefined ? ns : decodeURIComponent(tap[3]!);
      if (!resource || (tap[2] !== undefined && tap[2] !== resource)) return sendStatus(res, kubeStatus(404, `the server could not find the requested resource "${tap[2]}"`));
      if (!isValidName(ns) || !isValidName(name)) return sendStatus(res, kubeStatus(400, 'namespace and name must be Kubernetes names'));
      return serveTap(ctx, req, res, ns, { resource, name }, query.get('labelSelector') ?? undefined);
    }
    // `…/sidecars` lists every namespace (`-A`, `stat ns`): it needs `list sidecars` cluster-wide.
    const list = /^(?:\/namespaces\/([^/]+))?\/sidecars$/.exec(rest);
    if (list && method === 'GET') {
      const ns = list[1] === undefined ? undefined : decodeURIComponent(list[1]);
      const user = authenticate(ctx, req, res);
      if (!user) return;
      const attrs = { isResourceRequest: true as const, verb: 'list', apiGroup: TAP_API_GROUP, resource: SIDECARS_RESOURCE, ...(ns !== undefined ? { namespace: ns } : {}) };
      if (!(await requirePermission(ctx, res, user, attrs, { kind: SIDECARS_RESOURCE }))) return;
      const items: SidecarInfo[] = (await access.discovery.list(ns)).map((r) => ({
        namespace: r.namespace,
        pod: r.pod,
        ...(r.workload ? { workload: formatTarget(r.workload) } : {}),
        ...(r.adminAddress ? { adminAddress: r.adminAddress } : {}),
      }));
      return sendJson(res, 200, { kind: 'SidecarList', apiVersion: `${TAP_API_GROUP}/v1alpha1`, items });
    }
    sendStatus(res, kubeStatus(404, `the server could not find the requested resource (${method} ${TAP_API_PREFIX}${rest})`));
  };

  const listener: RequestListener = (req, res) => {
    route(req, res).catch((err: unknown) => {
      log.error('request failed', { error: err instanceof Error ? err.message : String(err) });
      if (!res.headersSent) sendStatus(res, kubeStatus(500, 'internal error in the tap API'));
      else res.destroy();
    });
  };
  const server = options.createServer ? options.createServer(listener) : createServer(listener);
  const scheme = server instanceof HttpsServer ? 'https' : 'http';
  server.on('clientError', (_err, socket) => socket.destroy());
  await new Promise<void>((resolve, reject) => {
    const onError = (err: NodeJS.ErrnoException) => {
      const at = options.host ?? '127.0.0.1';
      reject(new MeshtapError('MT_LISTEN', `tap API: cannot listen on ${at.includes(':') ? `[${at}]` : at}:${options.port}: ${err.code ?? err.message}`, { cause: err }));
    };
    server.once('error', onError);
    server.listen(options.port, options.host ?? '127.0.0.1', () => {
      server.off('error', onError);
      resolve();
    });
  });
  const addr = server.address() as AddressInfo;
  const host = addr.family === 'IPv6' ? `[${addr.address}]` : addr.address;
  return {
    url: `${scheme}://${host}:${addr.port}`,
    port: addr.port,
    registry,
    metrics,
    setPolicy(p) {
      policy = p;
    },
    async close() {
      history?.close();
      for (const t of [...ctx.active]) t.end({ type: 'error', code: 'MT_TAP_API_SHUTDOWN', message: 'the tap API is shutting down' });
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      server.closeIdleConnections();
      setTimeout(() => server.closeAllConnections(), 1000).unref();
      await closed;
    },
  };
}
