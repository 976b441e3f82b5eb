/**
 * The one stand-in Kubernetes API server of the test suites (the only stand-in the house
 * rules allow), speaking kube-apiserver's wire protocol so that @kubernetes/client-node, the
 * CLI and the agent talk to it exactly as to a real cluster:
 *
 *   - HTTPS on 127.0.0.1:0. Users authenticate with a bearer token or a client certificate
 *     signed by `userCa` (CN = user, O = groups); anything else gets the real 401 `Status`.
 *   - REST: `/api/v1/...` and `/apis/GROUP/VERSION/...`, namespaced and cluster-wide. GET one
 *     object (kind and apiVersion set) or a list (`XxxList`, items without kind/apiVersion,
 *     `metadata.resourceVersion`, labelSelector, fieldSelector, limit/continue); errors as
 *     `Status` objects (404 NotFound with details, 400 BadRequest, 500 InternalError).
 *   - Watches (`?watch=true|1`): a chunked stream of newline-delimited `{type, object}`.
 *     Without a resourceVersion it starts with ADDED for what exists; with one, it sends every
 *     change after it, or, when that is older than the compaction point, one ERROR event with
 *     a 410 Expired Status and the end of the stream. BOOKMARKs when allowed, timeoutSeconds.
 *   - POST SubjectAccessReview and SelfSubjectAccessReview, decided by `decide` (by default
 *     `system:masters` may do anything, as in a real cluster). No test needs TokenReview yet.
 *   - The aggregator: requests under an aggregated group (`aggregate()`) are proxied, once the
 *     user is authenticated, to the registered server over TLS (verified against the
 *     APIService caBundle and the service name) with the front-proxy client certificate and
 *     the identity in X-Remote-User / X-Remote-Group / X-Remote-Extra-*; the caller's own
 *     Authorization and X-Remote-* headers are removed. It streams both ways and, like
 *     kube-apiserver, does not authorize aggregated requests itself.
 *
 * Tests drive changes (`add`, `update`, `remove`), the connection (`closeWatches`, `silent`,
 * `bookmark`, `expireHistory`, `failNextLists`) and read what it saw (`requests`, `reviews`).
 * Object builders shaped like a real API server's: test/support/kube-objects.ts.
 */
import type { V1SubjectAccessReviewSpec, V1SubjectAccessReviewStatus } from '@kubernetes/client-node';
import { randomUUID } from 'node:crypto';
import { mkdtempSync } from 'node:fs';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { createServer, type Server } from 'node:https';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TLSSocket } from 'node:tls';
import { writeKubeconfig, type KubeconfigUser } from './kubeconfig.js';
import { proxyAggregated, type AggregatedBackend } from './kube-aggregator.js';
import { kubeStatus, sendJson } from './kube-status.js';
import { createKubeStore, kindOf, type Change, type Obj, type Query } from './kube-store.js';
import { createTestCa, type PemPair, type TestCa } from './test-ca.js';

export type { Obj } from './kube-store.js';
export { kubeStatus, sendJson } from './kube-status.js';
export type { PemPair, TestCa } from './test-ca.js';

/** Who a token or client certificate stands for. */
export interface KubeUser {
  user: string;
  groups: string[];
  extra?: Record<string, string[]>;
}

/** The `spec` of a SubjectAccessReview (for a SelfSubjectAccessReview, the caller's identity is filled in). */
export type SarSpec = V1SubjectAccessReviewSpec & { user: string };
export type SarStatus = V1SubjectAccessReviewStatus;

/** One request the stand-in received. */
export interface KubeRequest {
  method: string;
  /** Path and query as sent. */
  url: string;
  path: string;
  query: URLSearchParams;
  isWatch: boolean;
  /** The authenticated user, when there was one. */
  user?: string;
  /** The parsed JSON body, for requests the stand-in itself answers. */
  body?: unknown;
}

/** A custom answer (a service proxy, an old /version): return true when handled. */
export type Route = (req: IncomingMessage, res: ServerResponse, body: unknown) => boolean;

export interface KubeApiServerOptions {
  /** bearer token → user; the first one is `kubeconfigPath`'s user. */
  tokens?: Record<string, KubeUser>;
  /** Decides (Self)SubjectAccessReviews. */
  decide?: (spec: SarSpec) => SarStatus;
  /** The namespace of the kubeconfigs written. */
  namespace?: string;
}

export interface KubeApiServer {
  url: string;
  /** CA of the serving certificate (what kubeconfigs trust). */
  servingCa: TestCa;
  /** kube-apiserver's --requestheader-client-ca-file CA, and the front-proxy client pair it signed. */
  frontProxyCa: TestCa;
  frontProxyClient: PemPair;
  /** kube-apiserver's --client-ca-file: signs users' client certificates. */
  userCa: TestCa;
  /** A kubeconfig for the first token's user. */
  kubeconfigPath: string;
  requests: KubeRequest[];
  /** SubjectAccessReview specs received (and SelfSubjectAccessReviews, with the caller filled in), in order. */
  reviews: SarSpec[];
  readonly resourceVersion: number;
  readonly openWatches: number;
  /** While true, watch events are not sent (a silent connection); they still enter the history. */
  silent: boolean;
  /** Adds objects (uid, resourceVersion, creationTimestamp filled in); returns the first. */
  add<T extends Obj>(first: T, ...more: Obj[]): T;
  /** Changes the stored object with `o`'s uid; watches see MODIFIED. */
  update<T extends Obj>(o: T, change: (stored: T) => void): T;
  /** Deletes; watches see DELETED. Returns the object removed. */
  remove(kind: string, namespace: string | undefined, name: string): Obj | undefined;
  find(kind: string, namespace: string | undefined, name: string): Obj | undefined;
  /** Sends a BOOKMARK at the current resourceVersion to watches that allow them. */
  bookmark(): void;
  /** Compacts the history: open watches get ERROR 410 and end; older resourceVersions get 410. */
  expireHistory(): void;
  /** Ends every open watch stream (clients must reconnect). */
  closeWatches(): void;
  /** The next `n` list requests fail with 500 and an InternalError Status. */
  failNextLists(n: number): void;
  /** Registers an aggregated API server (the APIService's service and caBundle). */
  aggregate(backendUrl: string, caBundlePem: string, serverName: string, group?: string): void;
  route(r: Route): void;
  /** A kubeconfig for a token user or a client-certificate user. */
  kubeconfig(user: KubeconfigUser): string;
  waitForRequest(match: (r: KubeRequest) => boolean, timeoutMs?: number): Promise<KubeRequest>;
  close(): Promise<void>;
}

export const STANDIN_TOKEN = 'standin-token';

export const STANDIN_VERSION = {
  major: '1', minor: '31', gitVersion: 'v1.31.4', gitCommit: 'a78aa47129b8539636eb86a9d00e31b2720fe06b', gitTreeState: 'clean',
  buildDate: '2024-12-10T11:37:55Z', goVersion: 'go1.22.9', compiler: 'gc', platform: 'linux/amd64',
};

/** Real clusters: members of system:masters bypass authorization; everyone else is denied (empty status). */
function defaultDecide(spec: SarSpec): SarStatus {
  return spec.groups?.includes('system:masters') ? { allowed: true, reason: '' } : { allowed: false };
}

interface Watcher {
  res: ServerResponse;
  query: Query;
  bookmarks: boolean;
  timer?: NodeJS.Timeout;
}

const REVIEWS: Record<string, string> = {
  '/apis/authorization.k8s.io/v1/subjectaccessreviews': 'SubjectAccessReview',
  '/apis/authorization.k8s.io/v1/selfsubjectaccessreviews': 'SelfSubjectAccessReview',
};

export async function startKubeApiServer(options: KubeApiServerOptions = {}): Promise<KubeApiServer> {
  const tokens = options.tokens ?? { [STANDIN_TOKEN]: { user: 'tester', groups: ['system:masters', 'system:authenticated'] } };
  const decide = options.decide ?? defaultDecide;
  const [servingCa, frontProxyCa, userCa] = await Promise.all([createTestCa('standin-serving-ca'), createTestCa('front-proxy-ca'), createTestCa('kubernetes-client-ca')]);
  const serving = await servingCa.issueServing(['localhost'], 1, ['127.0.0.1']);
  const frontProxyClient = await frontProxyCa.issueClient('front-proxy-client');
  const watchers = new Set<Watcher>();
  const requests: KubeRequest[] = [];
  const reviews: SarSpec[] = [];
  const routes: Route[] = [];
  const waiters: { match: (r: KubeRequest) => boolean; resolve: (r: KubeRequest) => void }[] = [];
  const backends = new Map<string, AggregatedBackend>();
  let silent = false;
  let failingLists = 0;

  const line = (w: Watcher, type: string, object: unknown): void => {
    if (!w.res.writableEnded) w.res.write(`${JSON.stringify({ type, object })}\n`);
  };
  const endWatch = (w: Watcher): void => {
    clearTimeout(w.timer);
    watchers.delete(w);
    if (!w.res.writableEnded) w.res.end();
  };
  const expired = (since: string): Record<string, unknown> => kubeStatus(410, 'Expired', `too old resource version: ${since} (${store.compactedAt})`);
  const store = createKubeStore((c: Change) => {
    if (!silent) for (const w of watchers) if (store.matches(w.query, c.object)) line(w, c.type, c.object);
  });

  const authenticate = (req: IncomingMessage): KubeUser | undefined => {
    const m = /^Bearer\s+(\S+)$/i.exec(req.headers.authorization ?? '');
    if (m) return tokens[m[1]!];
    const sock = req.socket as TLSSocket;
    if (!sock.authorized) return undefined;
    const cert = sock.getPeerCertificate();
    const o = cert.subject?.O;
    return { user: String(cert.subject.CN), groups: o === undefined ? [] : Array.isArray(o) ? o : [o] };
  };

  const review = (res: ServerResponse, kind: string, body: unknown, who: KubeUser): void => {
    const spec = ((body as { spec?: Record<string, unknown> } | undefined)?.spec ?? {}) as Record<string, unknown>;
    const head = { kind, apiVersion: 'authorization.k8s.io/v1', metadata: { creationTimestamp: null }, spec };
    const asked = (kind === 'SelfSubjectAccessReview' ? { ...spec, user: who.user, groups: who.groups, ...(who.extra ? { extra: who.extra } : {}) } : spec) as unknown as SarSpec;
    reviews.push(asked);
    sendJson(res, 201, { ...head, status: decide(asked) });
  };

  const watch = (req: IncomingMessage, res: ServerResponse, q: Query, params: URLSearchParams): void => {
    res.writeHead(200, { 'content-type': 'application/json', 'transfer-encoding': 'chunked', 'cache-control': 'no-cache, private', 'audit-id': randomUUID() });
    res.flushHeaders();
    const w: Watcher = { res, query: q, bookmarks: params.get('allowWatchBookmarks') === 'true' };
    const since = params.get('resourceVersion');
    if (since && since !== '0' && Number(since) < store.compactedAt) {
      line(w, 'ERROR', expired(since));
      return void res.end();
    }
    watchers.add(w);
    req.socket.on('close', () => endWatch(w));
    const timeoutS = Number(params.get('timeoutSeconds') ?? 0);
    if (timeoutS > 0) w.timer = setTimeout(() => endWatch(w), timeoutS * 1000);
    for (const c of store.replay(q, since)) line(w, c.type, c.object);
  };

  const serveRest = (req: IncomingMessage, res: ServerResponse, url: URL, body: unknown, who: KubeUser): void => {
    if (req.method === 'GET' && url.pathname === '/version') return sendJson(res, 200, STANDIN_VERSION);
    const reviewKind = REVIEWS[url.pathname];
    if (req.method === 'POST' && reviewKind) return review(res, reviewKind, body, who);
    const m = /^\/(?:api\/(v1)|apis\/([^/]+)\/([^/]+))\/(.*)$/.exec(url.pathname);
    if (!m || req.method !== 'GET') return sendJson(res, 404, kubeStatus(404, 'NotFound', 'the server could not find the requested resource', {}));
    const group = m[2];
    const segs = m[4]!.split('/').filter(Boolean).map(decodeURIComponent);
    let namespace: string | undefined;
    let plural: string;
    let name: string | undefined;
    if (segs[0] === 'namespaces' && segs.length >= 3) [, namespace, plural, name] = segs as [string, string, string, string?];
    else [plural, name] = segs as [string, string?];
    const q: Query = { apiVersion: m[1] ?? `${group}/${m[3]}`, plural, namespace, labelSelector: url.searchParams.get('labelSelector'), fieldSelector: url.searchParams.get('fieldSelector') };
    if (name !== undefined) {
      const found = store.get(q, name);
      if (found) return sendJson(res, 200, found);
      return sendJson(res, 404, kubeStatus(404, 'NotFound', `${plural}${group ? `.${group}` : ''} "${name}" not found`, { name, ...(group ? { group } : {}), kind: plural }));
    }
    const watching = url.searchParams.get('watch');
    if (watching === 'true' || watching === '1') return watch(req, res, q, url.searchParams);
    if (failingLists > 0) {
      failingLists--;
      return sendJson(res, 500, kubeStatus(500, 'InternalError', 'etcdserver: request timed out', { causes: [{ message: 'etcdserver: request timed out' }] }));
    }
    const page = store.list(q, Number(url.searchParams.get('limit') ?? 0), url.searchParams.get('continue'));
    const metadata = { resourceVersion: String(store.resourceVersion), ...(page.continue ? { continue: page.continue } : {}) };
    sendJson(res, 200, { kind: `${kindOf(plural)}List`, apiVersion: q.apiVersion, metadata, items: page.items });
  };

  const server: Server = createServer({ cert: serving.certPem, key: serving.keyPem, ca: userCa.certPem, requestCert: true, rejectUnauthorized: false }, (req, res) => {
    const url = new URL(req.url ?? '/', 'https://standin');
    const watching = url.searchParams.get('watch');
    const who = authenticate(req);
    const seen: KubeRequest = { method: req.method ?? '', url: req.url ?? '', path: url.pathname, query: url.searchParams, isWatch: watching === 'true' || watching === '1', ...(who ? { user: who.user } : {}) };
    requests.push(seen);
    for (const w of [...waiters]) if (w.match(seen)) (waiters.splice(waiters.indexOf(w), 1), w.resolve(seen));
    if (!who) {
      req.resume();
      return sendJson(res, 401, kubeStatus(401, 'Unauthorized', 'Unauthorized'));
    }
    const backend = backends.get(url.pathname.split('/')[2] ?? '');
    if (url.pathname.startsWith('/apis/') && backend) return proxyAggregated(req, res, who, backend, frontProxyClient);
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const text = Buffer.concat(chunks).toString('utf8');
      let body: unknown;
      try {
        body = text ? JSON.parse(text) : undefined;
      } catch {
        return sendJson(res, 400, kubeStatus(400, 'BadRequest', 'the body of the request was in an unknown format'));
      }
      if (body !== undefined) seen.body = body;
      for (const r of routes) if (r(req, res, body)) return;
      serveRest(req, res, url, body, who);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const url = `https://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const dir = mkdtempSync(join(tmpdir(), 'meshtap-kube-'));
  let kubeconfigs = 0;
  const kubeconfig = (user: KubeconfigUser): string =>
    writeKubeconfig(join(dir, `kubeconfig-${++kubeconfigs}`), { server: url, caPem: servingCa.certPem, user, ...(options.namespace ? { namespace: options.namespace } : {}) });

  return {
    url,
    servingCa,
    frontProxyCa,
    frontProxyClient,
    userCa,
    kubeconfigPath: kubeconfig({ token: Object.keys(tokens)[0]! }),
    requests,
    reviews,
    get resourceVersion() {
      return store.resourceVersion;
    },
    get openWatches() {
      return watchers.size;
    },
    get silent() {
      return silent;
    },
    set silent(v: boolean) {
      silent = v;
    },
    add(first, ...more) {
      for (const o of [first, ...more]) store.add(o);
      return first;
    },
    update: (o, change) => store.update(o, change),
    remove: (kind, namespace, name) => store.remove(kind, namespace, name),
    find: (kind, namespace, name) => store.find(kind, namespace, name),
    bookmark() {
      for (const w of watchers) {
        if (w.bookmarks) line(w, 'BOOKMARK', { kind: kindOf(w.query.plural), apiVersion: w.query.apiVersion, metadata: { resourceVersion: String(store.resourceVersion) } });
      }
    },
    expireHistory() {
      store.compact();
      for (const w of [...watchers]) {
        line(w, 'ERROR', expired(String(store.resourceVersion)));
        endWatch(w);
      }
    },
    closeWatches() {
      for (const w of [...watchers]) endWatch(w);
    },
    failNextLists(n) {
      failingLists = n;
    },
    aggregate(backendUrl, caBundlePem, serverName, group = 'tap.meshtap.dev') {
      backends.set(group, { url: new URL(backendUrl), ca: caBundlePem, serverName });
    },
    route: (r) => void routes.push(r),
    kubeconfig,
    waitForRequest(match, timeoutMs = 30_000) {
      const hit = requests.find(match);
      if (hit) return Promise.resolve(hit);
      return new Promise((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error('the expected request did not come')), timeoutMs);
        waiters.push({ match, resolve: (r) => (clearTimeout(timer), resolve(r)) });
      });
    },
    async close() {
      for (const w of [...watchers]) endWatch(w);
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      server.closeAllConnections();
      await closed;
    },
  };
}
