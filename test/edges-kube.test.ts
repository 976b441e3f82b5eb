/**
 * Edges, routes and caller names in Kubernetes mode (issue 15): a real tap API in Kubernetes mode
 * behind the stand-in kube-apiserver (test/support/kube-api-server.ts: aggregation, SubjectAccessReviews, pod lists), real
 * sidecars, and the CLI finding the cluster through a kubeconfig.
 *
 * The cluster: `shop/deploy/web` (pod IP 127.0.0.1) is called by `other/deploy/client`, a meshed
 * pod whose IP is its sidecar's loopback source address (so its outbound connections come from
 * its pod IP, as in a cluster), and by an unmeshed caller at 127.0.0.3. No sidecar registers
 * anywhere: names can only come from the tap API's pod list.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { KubeConfig } from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startSidecar, type Sidecar } from '../proxy/index.js';
import { loopbackSourceAddress } from '../proxy/peers.js';
import type { TapEvent } from '../tap-protocol/events.js';
import { exportPublicKeyRaw, generateGrantKeyPair } from '../tap-protocol/index.js';
import { startKubeTapApiServer, type EdgeList, type KubeTapApiServer, type RouteList } from '../tap-api/server/index.js';
import { collectKubeTap } from './fixtures/kube-tap/collect.js';
import { startKubeApiServer, type KubeApiServer, type SarSpec, type SarStatus } from './support/kube-api-server.js';
import { deployment, extensionApiserverAuthentication, namespace, pod, replicaSet, type Obj } from './support/kube-objects.js';
import { createTestCa } from './support/test-ca.js';
import { runMeshtap } from './support/meshtap-process.js';
import { PROJECT_ENGINE } from './support/engines.js';

const SERVICE = 'meshtap-tap-api.meshtap.svc';
const TOKENS = { viewer: 'tok-viewer', cluster: 'tok-cluster', nobody: 'tok-nobody', tapApi: 'tok-tap-api' } as const;
const CLIENT_IP = loopbackSourceAddress('other', 'client-5f5f-k2j3h');
const UNMESHED_IP = '127.0.0.3';
/** Requests sent on each edge. */
const SENT = { client: { users: 4, boom: 1 }, unmeshed: 3 };

/** viewer: tap + edges + routes in shop; cluster: edges in every namespace; nobody: nothing. */
function decide(spec: SarSpec): SarStatus {
  const a = spec.resourceAttributes;
  if (!a || a.group !== 'tap.meshtap.dev') return { allowed: false };
  const want = `${a.verb} ${a.resource}${a.subresource ? `/${a.subresource}` : ''}`;
  if (spec.user === 'viewer' && a.namespace === 'shop' && ['watch deployments/tap', 'list edges', 'list routes'].includes(want)) return { allowed: true, reason: 'RBAC: allowed by RoleBinding "viewer/shop"' };
  if (spec.user === 'cluster' && want === 'list edges') return { allowed: true, reason: 'RBAC: allowed by ClusterRoleBinding "cluster"' };
  return { allowed: false };
}

let api: KubeApiServer;
let tapApi: KubeTapApiServer;
let dir: string;
let backend: http.Server;
let web: Sidecar;
let client: Sidecar;
const kubeconfig: Record<'viewer' | 'cluster' | 'nobody', string> = { viewer: '', cluster: '', nobody: '' };

/** A meshed pod object whose sidecar's tap and admin ports are the given sidecar's. */
function meshedPod(ns: string, name: string, app: string, owner: Obj, ip: string, s: Sidecar): Obj {
  const port = (a: string | undefined): number => Number(a!.slice(a!.lastIndexOf(':') + 1));
  const p = pod({ ns, name, labels: { app, 'pod-template-hash': name.split('-')[1]! }, owner, podIP: ip, tapPort: port(s.tapAddress) });
  const sidecar = (p.spec as unknown as { initContainers: Array<{ ports: Array<{ name: string; containerPort: number }> }> }).initContainers[0]!;
  sidecar.ports.find((x) => x.name === 'meshtap-admin')!.containerPort = port(s.adminAddress);
  return p;
}

/** GET through web's inbound forward, from `localAddress`. */
async function call(path: string, localAddress: string, via = web.listeners[0]!.address): Promise<void> {
  await new Promise<void>((resolve, reject) => {
    http.get(`http://${via}${path}`, { localAddress, agent: false }, (res) => res.resume().on('end', resolve).on('error', reject)).on('error', reject);
  });
}

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'meshtap-edges-kube-'));
  const keys = generateGrantKeyPair();
  api = await startKubeApiServer({
    tokens: {
      [TOKENS.viewer]: { user: 'viewer', groups: ['system:authenticated'] },
      [TOKENS.cluster]: { user: 'cluster', groups: ['system:authenticated'] },
      [TOKENS.nobody]: { user: 'nobody', groups: ['system:authenticated'] },
      [TOKENS.tapApi]: { user: 'system:serviceaccount:meshtap:meshtap-tap-api', groups: ['system:serviceaccounts', 'system:authenticated'] },
    },
    decide,
  });
  backend = http.createServer((req, res) => res.writeHead(req.url === '/boom' ? 500 : 200).end('ok'));
  await new Promise<void>((r) => backend.listen(0, '127.0.0.1', r));
  const publicKey = exportPublicKeyRaw(keys.publicKey);
  web = await startSidecar({
    forwards: [{ proxy: 'in', listen: { host: '127.0.0.1', port: 0 }, target: { host: '127.0.0.1', port: (backend.address() as AddressInfo).port } }],
    admin: { host: '127.0.0.1', port: 0 },
    tap: { host: '127.0.0.1', port: 0 },
    identity: { workload: 'deploy/web', namespace: 'shop', pod: 'web-7d4b9c-a1b2c' },
    engine: PROJECT_ENGINE,
    tapPublicKey: publicKey,
    requireGrant: true,
  });
  const webIn = web.listeners[0]!.address;
  // The client pod's sidecar: admin and tap on its pod IP, outbound connections from it.
  client = await startSidecar({
    forwards: [{ proxy: 'out', listen: { host: '127.0.0.1', port: 0 }, target: { host: '127.0.0.1', port: Number(webIn.slice(webIn.lastIndexOf(':') + 1)) } }],
    admin: { host: CLIENT_IP, port: 0 },
    tap: { host: CLIENT_IP, port: 0 },
    identity: { workload: 'deploy/client', namespace: 'other', pod: 'client-5f5f-k2j3h' },
    engine: PROJECT_ENGINE,
    tapPublicKey: publicKey,
    requireGrant: true,
    loopbackSource: true,
  });
  const webDeploy = deployment('shop', 'web', '0d1e0000-0000-4000-8000-00000000e001', 1);
  const webRs = replicaSet('shop', webDeploy, '7d4b9c', '0d1e0000-0000-4000-8000-00000000e002');
  const clientDeploy = deployment('other', 'client', '0d1e0000-0000-4000-8000-00000000e003', 1);
  const clientRs = replicaSet('other', clientDeploy, '5f5f', '0d1e0000-0000-4000-8000-00000000e004');
  api.add(
    namespace('shop'),
    namespace('other'),
    extensionApiserverAuthentication(api.frontProxyCa.certPem, api.userCa.certPem, ['front-proxy-client']),
    webDeploy,
    webRs,
    clientDeploy,
    clientRs,
    meshedPod('shop', 'web-7d4b9c-a1b2c', 'web', webRs, '127.0.0.1', web),
    meshedPod('other', 'client-5f5f-k2j3h', 'client', clientRs, CLIENT_IP, client),
  );

  const ca = await createTestCa('meshtap-ca.meshtap');
  const pair = await ca.issueServing([SERVICE], 1, ['127.0.0.1']);
  await writeFile(join(dir, 'tls.crt'), pair.certPem);
  await writeFile(join(dir, 'tls.key'), pair.keyPem);
  const kc = new KubeConfig();
  kc.loadFromFile(api.kubeconfig({ token: TOKENS.tapApi }));
  tapApi = await startKubeTapApiServer({ port: 0, keys, kubeconfig: kc, tls: { certFile: join(dir, 'tls.crt'), keyFile: join(dir, 'tls.key') }, tlsReloadIntervalMs: 3_600_000 });
  api.aggregate(tapApi.url, ca.certPem, SERVICE);
  for (const u of ['viewer', 'cluster', 'nobody'] as const) kubeconfig[u] = api.kubeconfig({ token: TOKENS[u] });

  const viaClient = client.listeners[0]!.address;
  for (let i = 0; i < SENT.client.users; i++) await call(`/users/${100 + i}`, '127.0.0.1', viaClient);
  for (let i = 0; i < SENT.client.boom; i++) await call('/boom', '127.0.0.1', viaClient);
  for (let i = 0; i < SENT.unmeshed; i++) await call('/health', UNMESHED_IP);
}, 120_000);

afterAll(async () => {
  await tapApi?.close();
  await Promise.all([web?.close(), client?.close()]);
  await new Promise<void>((r) => (backend ? backend.close(() => r()) : r()));
  await api?.close();
  if (dir) await rm(dir, { recursive: true, force: true });
}, 60_000);

/** The CLI through the stand-in (a window longer than the test). */
const cli = (user: keyof typeof kubeconfig, args: string[]) => runMeshtap([...args, '-t', '30m', '--kubeconfig', kubeconfig[user]], { env: { MESHTAP_TAP_API: '' } });
const summary = (list: EdgeList) =>
  list.items
    .map((e) => ({
      src: e.src.meshed ? `${e.src.namespace}/${e.src.workload}` : e.src.address,
      dst: e.dst.meshed ? `${e.dst.namespace}/${e.dst.workload}` : e.dst.address,
      requests: e.requests,
      observedBy: e.observedBy,
    }))
    .sort((a, b) => String(a.src).localeCompare(String(b.src)));
const WEB_EDGES = [
  { src: 'other/deploy/client', dst: 'shop/deploy/web', requests: SENT.client.users + SENT.client.boom, observedBy: 'outbound' },
  { src: 'unmeshed', dst: 'shop/deploy/web', requests: SENT.unmeshed, observedBy: 'inbound' },
];

describe('Kubernetes mode: callers named by pod IP', () => {
  it('inbound tap events of web carry the calling workload (from its pod IP); an unmeshed caller stays an address', async () => {
    const tap = collectKubeTap(kubeconfig.viewer, 'deploy/web');
    try {
      await tap.live();
      // The tap is live: send until both callers' exchanges have come through.
      let events: TapEvent[] = [];
      for (let i = 0; i < 100; i++) {
        await call('/named', '127.0.0.1', client.listeners[0]!.address);
        await call('/named', UNMESHED_IP);
        events = tap.events.filter((e) => e.kind === 'end' && e.path === '/named');
        if (events.some((e) => e.src.startsWith(`${CLIENT_IP}:`)) && events.some((e) => e.src.startsWith(`${UNMESHED_IP}:`))) break;
        await new Promise((r) => setTimeout(r, 100));
      }
      const fromClient = events.filter((e) => e.src.startsWith(`${CLIENT_IP}:`));
      const fromUnmeshed = events.filter((e) => e.src.startsWith(`${UNMESHED_IP}:`));
      expect(fromClient.length, String(tap.error)).toBeGreaterThan(0);
      expect(fromUnmeshed.length).toBeGreaterThan(0);
      for (const e of fromClient) expect([e.proxy, e.srcWorkload, e.srcNamespace, e.dstWorkload]).toEqual(['in', 'deploy/client', 'other', 'deploy/web']);
      for (const e of fromUnmeshed) expect([e.srcWorkload, e.srcNamespace]).toEqual([undefined, undefined]);
    } finally {
      tap.cancel();
    }
  }, 60_000);
});

describe('Kubernetes mode: edges and routes through the API server', () => {
  it('edges -n shop: the meshed caller by its pod IP (counted by its outbound sidecar) and the unmeshed one, with the counts sent', async () => {
    const r = await cli('viewer', ['edges', 'deploy', '-n', 'shop', '-o', 'json']);
    expect(r.code, r.stderr).toBe(0);
    const list = JSON.parse(r.stdout) as EdgeList;
    expect(list.source).toBe('sidecars');
    // The tap test may have added /named requests on both edges: at least the counts sent here.
    const got = summary(list);
    expect(got.map((e) => [e.src, e.dst, e.observedBy])).toEqual(WEB_EDGES.map((e) => [e.src, e.dst, e.observedBy]));
    for (const [i, e] of got.entries()) expect(e.requests).toBeGreaterThanOrEqual(WEB_EDGES[i]!.requests);
    expect(api.reviews.some((s) => s.user === 'viewer' && s.resourceAttributes?.resource === 'edges' && s.resourceAttributes.verb === 'list' && s.resourceAttributes.namespace === 'shop')).toBe(true);
  }, 60_000);

  it('routes deploy/web -n shop folds /users/100../users/103 into /users/{id}', async () => {
    const r = await cli('viewer', ['routes', 'deploy/web', '-n', 'shop', '-o', 'json']);
    expect(r.code, r.stderr).toBe(0);
    const list = JSON.parse(r.stdout) as RouteList;
    const users = list.items.find((x) => x.route === '/users/{id}');
    expect(users?.method).toBe('GET');
    expect(users?.requests).toBe(SENT.client.users);
    expect(list.items.some((x) => x.route.startsWith('/users/1'))).toBe(false);
  }, 60_000);

  it('-A needs the permission cluster-wide: refused for a namespace viewer, answered for a cluster-wide one', async () => {
    const denied = await cli('viewer', ['edges', 'deploy', '-A', '-o', 'json']);
    expect(denied.code).toBe(1);
    expect(denied.stderr).toMatch(/forbidden/);
    const r = await cli('cluster', ['edges', 'deploy', '-A', '-o', 'json']);
    expect(r.code, r.stderr).toBe(0);
    expect(summary(JSON.parse(r.stdout) as EdgeList).map((e) => [e.src, e.dst])).toEqual(WEB_EDGES.map((e) => [e.src, e.dst]));
  }, 60_000);

  it('a user without `list edges` / `list routes` is refused, naming the permission', async () => {
    const edges = await cli('nobody', ['edges', 'deploy', '-n', 'shop']);
    expect(edges.code).toBe(1);
    expect(edges.stderr).toMatch(/edges\.tap\.meshtap\.dev is forbidden: User "nobody" cannot list resource "edges"/);
    const routes = await cli('cluster', ['routes', 'deploy/web', '-n', 'shop']);
    expect(routes.code).toBe(1);
    expect(routes.stderr).toMatch(/routes\.tap\.meshtap\.dev is forbidden/);
  }, 60_000);
});
