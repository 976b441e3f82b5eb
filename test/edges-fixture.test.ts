/**
 * Edges, routes and the NetworkPolicy advisor on a three-workload fixture with a known call graph
 * (issue 15): in namespace shop, `web` calls `api` (HTTP/1) and, across namespaces, `audit` in
 * namespace other (HTTP/2); an unmeshed client calls `api` directly. Each workload runs behind its
 * own real sidecar registered with a real tap API; the test is web's application and the
 * unmeshed client, so it knows every request sent.
 */
import http from 'node:http';
import http2 from 'node:http2';
import { createRequire } from 'node:module';
import type { AddressInfo } from 'node:net';
import { rm } from 'node:fs/promises';
import { request } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseAllDocuments } from 'yaml';
import { startSidecar, type Sidecar } from '../proxy/index.js';
import { PROJECT_ENGINE } from './support/engines.js';
import type { EdgeList, RouteList, StatRow, TapApiServer } from '../tap-api/index.js';
import { REGISTRATION_TOKEN, startFixtureTapApi, TOKENS, writeTapApiFixtures } from './tap-api-fixtures.js';
import { runMeshtap } from './support/meshtap-process.js';
import { until } from './support/until.js';

const require = createRequire(import.meta.url);

let dir: string;
let tapApi: TapApiServer;
const closers: Array<() => Promise<unknown>> = [];
let web: Sidecar;
let api: Sidecar;
let audit: Sidecar;
/** Requests sent on each true edge. */
const SENT = { webToApi: { ok: 4, orders: 2 }, webToAudit: 3, unmeshedToApi: { ok: 5, boom: 2 } };

const hostPort = (a: string) => ({ host: a.slice(0, a.lastIndexOf(':')), port: Number(a.slice(a.lastIndexOf(':') + 1)) });

beforeAll(async () => {
  const f = await writeTapApiFixtures();
  dir = f.dir;
  tapApi = await startFixtureTapApi(f.rbacDir);
  closers.push(() => tapApi.close());
  const apiApp = http.createServer((req, res) => {
    res.writeHead(req.url === '/boom' ? 500 : 200).end('ok');
  });
  const auditApp = http2.createServer((_req, res) => {
    res.writeHead(204).end();
  });
  for (const s of [apiApp, auditApp]) await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  closers.push(() => new Promise((r) => apiApp.close(r)), () => new Promise((r) => auditApp.close(r)));
  const sidecar = async (workload: string, namespace: string, forwards: Parameters<typeof startSidecar>[0]['forwards']) => {
    const s = await startSidecar({
      forwards,
      admin: { host: '127.0.0.1', port: 0 },
      tap: { host: '127.0.0.1', port: 0 },
      identity: { workload, namespace, pod: `${workload.split('/')[1]}-0` },
      engine: PROJECT_ENGINE,
      tapApi: tapApi.url,
      tapApiToken: REGISTRATION_TOKEN,
      podLabels: { app: workload.split('/')[1]! },
    });
    closers.push(() => s.close());
    return s;
  };
  api = await sidecar('deploy/api', 'shop', [{ proxy: 'in', listen: { host: '127.0.0.1', port: 0 }, target: { host: '127.0.0.1', port: (apiApp.address() as AddressInfo).port } }]);
  audit = await sidecar('deploy/audit', 'other', [{ proxy: 'in', listen: { host: '127.0.0.1', port: 0 }, target: { host: '127.0.0.1', port: (auditApp.address() as AddressInfo).port } }]);
  web = await sidecar('deploy/web', 'shop', [
    { proxy: 'out', listen: { host: '127.0.0.1', port: 0 }, target: hostPort(api.listeners[0]!.address) },
    { proxy: 'out', listen: { host: '127.0.0.1', port: 0 }, target: hostPort(audit.listeners[0]!.address) },
  ]);
  await until('three sidecars registered', () => tapApi.registry.list().length >= 3, 10_000);

  // web's application: HTTP/1 to api and HTTP/2 to audit, through web's outbound forwards.
  const viaWeb = (i: number) => `http://${web.listeners[i]!.address}`;
  for (let i = 0; i < SENT.webToApi.ok; i++) await (await request(`${viaWeb(0)}/users/${1000 + i}`)).body.dump();
  for (let i = 0; i < SENT.webToApi.orders; i++) await (await request(`${viaWeb(0)}/orders`, { method: 'POST', body: '{}' })).body.dump();
  const h2 = http2.connect(viaWeb(1));
  for (let i = 0; i < SENT.webToAudit; i++) {
    await new Promise<void>((resolve, reject) => {
      const s = h2.request({ ':method': 'POST', ':path': `/events/${i}` });
      s.on('response', () => s.resume());
      s.on('end', () => resolve());
      s.on('error', reject);
      s.end('{}');
    });
  }
  h2.close();
  // The unmeshed client: straight to api's sidecar, from 127.0.0.1.
  const direct = `http://${api.listeners[0]!.address}`;
  for (const id of [123, 456, 123, 456, 789].slice(0, SENT.unmeshedToApi.ok)) await (await request(`${direct}/users/${id}`)).body.dump();
  for (let i = 0; i < SENT.unmeshedToApi.boom; i++) await (await request(`${direct}/boom`)).body.dump();
}, 60_000);

afterAll(async () => {
  for (const c of closers.reverse()) await c().catch(() => undefined);
  if (dir) await rm(dir, { recursive: true, force: true });
});

/** A window longer than the test, so everything sent in beforeAll stays inside it. */
const cli = (token: string, args: string[]) => runMeshtap([...args, ...(args.includes('-t') ? [] : ['-t', '30m']), '--tap-api', tapApi.url, '--token', token]);
const summary = (list: EdgeList) =>
  list.items.map((e) => ({
    src: e.src.meshed ? `${e.src.namespace}/${e.src.workload}` : e.src.address,
    dst: e.dst.meshed ? `${e.dst.namespace}/${e.dst.workload}` : e.dst.address,
    requests: e.requests,
    successRate: e.successRate,
    protocols: e.protocols,
  }));

const SHOP_EDGES = [
  { src: 'shop/deploy/web', dst: 'other/deploy/audit', requests: SENT.webToAudit, successRate: 1, protocols: ['h2'] },
  { src: 'shop/deploy/web', dst: 'shop/deploy/api', requests: SENT.webToApi.ok + SENT.webToApi.orders, successRate: 1, protocols: ['http/1.1'] },
  {
    src: 'unmeshed',
    dst: 'shop/deploy/api',
    requests: SENT.unmeshedToApi.ok + SENT.unmeshedToApi.boom,
    successRate: SENT.unmeshedToApi.ok / (SENT.unmeshedToApi.ok + SENT.unmeshedToApi.boom),
    protocols: ['http/1.1'],
  },
];

describe('stat --to/--from (issue 11 habit: Linkerd\'s stat for outbound traffic, from the edges)', () => {
  it('--to: the workloads of -n that called it; --from: the workloads it called; pods and bad pairs are usage errors', async () => {
    const to = await cli(TOKENS.viewer, ['stat', 'deploy', '-n', 'shop', '--to', 'deploy/api', '-o', 'json']);
    expect(to.code, to.stderr).toBe(0);
    // The unmeshed caller has no workload: not a row.
    expect((JSON.parse(to.stdout) as StatRow[]).map((r) => ({ namespace: r.namespace, name: r.name, successRate: r.successRate, rps: r.rps > 0 }))).toEqual([
      { namespace: 'shop', name: 'deploy/web', successRate: 1, rps: true },
    ]);
    const from = await cli(TOKENS.sa, ['stat', 'deploy', '-A', '--from', 'deploy/web', '--from-namespace', 'shop', '-o', 'json']);
    expect(from.code, from.stderr).toBe(0);
    expect((JSON.parse(from.stdout) as StatRow[]).map((r) => `${r.namespace}/${r.name}`)).toEqual(['other/deploy/audit', 'shop/deploy/api']);
    const table = await cli(TOKENS.viewer, ['stat', 'deploy/web', '-n', 'shop', '--to', 'deploy/api']);
    expect(table.code, table.stderr).toBe(0);
    expect(table.stdout).toMatch(/^NAMESPACE\s+NAME\s+MESHED\s+SUCCESS/);
    expect(table.stdout.split('\n')[1]).toMatch(/^shop\s+deploy\/web\s+-\s+100\.00%/);
    const none = await cli(TOKENS.viewer, ['stat', 'deploy', '-n', 'shop', '--to', 'deploy/nobody']);
    expect([none.code, none.stderr]).toEqual([1, 'meshtap: no requests from deploy to deploy/nobody in the last 30m in namespace "shop" (-A for every namespace)\n']);
    for (const args of [['stat', 'pod', '--to', 'deploy/api'], ['stat', 'deploy', '--to', 'deploy/api', '--from', 'deploy/web'], ['stat', 'deploy', '--to', 'pod/x']]) {
      const bad = await cli(TOKENS.viewer, args);
      expect([bad.code, bad.stderr.split('\n').length], args.join(' ')).toEqual([2, 2]);
    }
  }, 60_000);
});

describe('meshtap edges on a known call graph', () => {
  it('shows exactly the true edges of shop, with the counts sent (cross-namespace and unmeshed included)', async () => {
    const r = await cli(TOKENS.viewer, ['edges', 'deploy', '-n', 'shop', '-o', 'json']);
    expect(r.code, r.stderr).toBe(0);
    expect(summary(JSON.parse(r.stdout) as EdgeList)).toEqual(SHOP_EDGES);
  }, 60_000);

  it('names the unmeshed caller by address on request, and the namespace other sees only its own edge', async () => {
    const expanded = JSON.parse((await cli(TOKENS.viewer, ['edges', 'deploy', '-n', 'shop', '--unmeshed-addresses', '-o', 'json'])).stdout) as EdgeList;
    expect(summary(expanded).map((e) => e.src)).toEqual(['shop/deploy/web', 'shop/deploy/web', '127.0.0.1']);
    const other = await cli(TOKENS.otherNs, ['edges', 'deploy', '-n', 'other', '-o', 'json']);
    expect(other.code, other.stderr).toBe(0);
    expect(summary(JSON.parse(other.stdout) as EdgeList)).toEqual([SHOP_EDGES[0]]);
    const all = await cli(TOKENS.sa, ['edges', 'all', '-A', '-o', 'json']);
    expect(all.code, all.stderr).toBe(0);
    expect(summary(JSON.parse(all.stdout) as EdgeList)).toEqual(SHOP_EDGES);
  }, 60_000);

  it('refuses a viewer without the permission, naming it', async () => {
    for (const [token, args] of [
      [TOKENS.nobody, ['edges', 'deploy', '-n', 'shop']],
      [TOKENS.otherNs, ['edges', 'deploy', '-n', 'shop']],
      [TOKENS.viewer, ['edges', 'deploy', '-A']],
      [TOKENS.otherNs, ['routes', 'deploy/api', '-n', 'shop']],
    ] as const) {
      const r = await cli(token, [...args]);
      expect(r.code, `${args.join(' ')}: ${r.stderr}`).toBe(1);
      expect(r.stdout).toBe('');
      expect(r.stderr).toMatch(/(edges|routes)\.tap\.meshtap\.dev is forbidden.*list/);
    }
  }, 60_000);

  it("routes fold /users/123 and /users/456 into /users/{id}, served and called", async () => {
    const served = JSON.parse((await cli(TOKENS.viewer, ['routes', 'deploy/api', '-n', 'shop', '-o', 'json'])).stdout) as RouteList;
    expect(served.items.map((r) => [r.method, r.route, r.requests, r.successRate])).toEqual([
      ['GET', '/users/{id}', SENT.webToApi.ok + SENT.unmeshedToApi.ok, 1],
      ['GET', '/boom', SENT.unmeshedToApi.boom, 0],
      ['POST', '/orders', SENT.webToApi.orders, 1],
    ]);
    const toAudit = JSON.parse((await cli(TOKENS.viewer, ['routes', 'deploy/web', '-n', 'shop', '--to', 'deploy/audit', '--to-namespace', 'other', '-o', 'json'])).stdout) as RouteList;
    expect(toAudit.items.map((r) => [r.method, r.route, r.requests, r.protocols])).toEqual([['POST', '/events/{id}', SENT.webToAudit, ['h2']]]);
    const table = await cli(TOKENS.viewer, ['routes', 'deploy/api', '-n', 'shop']);
    expect(table.stdout.split('\n')[1]).toMatch(/^\/users\/\{id\}\s+GET\s+100\.00%/);
  }, 60_000);
});

// ---- NetworkPolicy evaluation (networking.k8s.io/v1 semantics, for the policies drafted here) ----

type Obj = Record<string, any>;
interface Pod {
  namespace: string;
  labels: Record<string, string>;
}
type Peer = { pod: Pod } | { ip: string };

const matches = (sel: Obj | undefined, labels: Record<string, string>) => Object.entries(sel?.matchLabels ?? {}).every(([k, v]) => labels[k] === v);
const inCidr = (ip: string, cidr: string) => cidr === `${ip}/32` || cidr === `${ip}/128`;

/** Whether one NetworkPolicyPeer of a policy in `policyNs` selects `peer`. */
function peerMatches(p: Obj, policyNs: string, peer: Peer): boolean {
  if (p.ipBlock) return 'ip' in peer && inCidr(peer.ip, p.ipBlock.cidr);
  if (!('pod' in peer)) return false;
  const nsOk = p.namespaceSelector ? matches(p.namespaceSelector, { 'kubernetes.io/metadata.name': peer.pod.namespace }) : peer.pod.namespace === policyNs;
  return nsOk && (p.podSelector ? matches(p.podSelector, peer.pod.labels) : true);
}
const portOk = (rule: Obj, port: number, protocol: string) => !rule.ports || rule.ports.some((p: Obj) => p.port === port && (p.protocol ?? 'TCP') === protocol);

/** Kubernetes semantics: isolated on a side iff some policy selects the pod for it; then some rule must allow. */
function allowed(policies: Obj[], src: Peer, dst: Peer, port: number, protocol = 'TCP'): boolean {
  const side = (pod: Pod, type: 'Ingress' | 'Egress', other: Peer) => {
    const selecting = policies.filter((p) => p.metadata.namespace === pod.namespace && p.spec.policyTypes.includes(type) && matches(p.spec.podSelector, pod.labels));
    if (selecting.length === 0) return true;
    return selecting.some((p) =>
      (type === 'Ingress' ? p.spec.ingress : p.spec.egress ?? []).some(
        (rule: Obj) => portOk(rule, port, protocol) && (type === 'Ingress' ? rule.from : rule.to).some((peer: Obj) => peerMatches(peer, p.metadata.namespace, other)),
      ),
    );
  };
  return ('pod' in src ? side(src.pod, 'Egress', dst) : true) && ('pod' in dst ? side(dst.pod, 'Ingress', src) : true);
}

describe('meshtap advise network-policy', () => {
  it('drafts valid NetworkPolicies admitting every observed edge and nothing else', async () => {
    const r = await cli(TOKENS.viewer, ['advise', 'network-policy', '-n', 'shop', '-t', '10m']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/^# DRAFT NetworkPolicy for shop\/deploy\/api/);
    const docs = parseAllDocuments(r.stdout).map((d) => d.toJS() as Obj);
    const { NetworkPolicy } = require('kubernetes-models/networking.k8s.io/v1/NetworkPolicy');
    for (const d of docs) expect(() => new NetworkPolicy(d).validate(), d.metadata.name).not.toThrow();
    expect(docs.map((d) => `${d.metadata.namespace}/${d.metadata.name}`)).toEqual(['shop/api-observed', 'shop/web-observed']);

    const edges = JSON.parse((await cli(TOKENS.viewer, ['edges', 'deploy', '-n', 'shop', '--unmeshed-addresses', '-o', 'json'])).stdout) as EdgeList;
    const pods: Record<string, Pod> = {
      'shop/deploy/web': { namespace: 'shop', labels: { app: 'web' } },
      'shop/deploy/api': { namespace: 'shop', labels: { app: 'api' } },
      'other/deploy/audit': { namespace: 'other', labels: { app: 'audit' } },
    };
    const dns: Pod = { namespace: 'kube-system', labels: { 'k8s-app': 'kube-dns' } };
    const peerOf = (e: EdgeList['items'][number]['src']): Peer => (e.meshed ? { pod: pods[`${e.namespace}/${e.workload}`]! } : { ip: e.address! });
    const observed = new Set<string>();
    for (const e of edges.items) {
      for (const port of e.ports) {
        expect(allowed(docs, peerOf(e.src), peerOf(e.dst), port), `${JSON.stringify(e.src)} -> ${JSON.stringify(e.dst)}:${port}`).toBe(true);
        observed.add(`${JSON.stringify(peerOf(e.src))}>${JSON.stringify(peerOf(e.dst))}:${port}`);
      }
    }
    expect(observed.size).toBe(3);

    // Nothing else: every other (source, destination, port) that a shop policy governs is denied.
    const ports = [...new Set(edges.items.flatMap((e) => e.ports)), 53, 80, 443];
    const peers: Peer[] = [...Object.values(pods).map((pod) => ({ pod })), { pod: dns }, { ip: '127.0.0.1' }, { ip: '10.9.9.9' }];
    let denied = 0;
    for (const src of peers) {
      for (const dst of peers) {
        if (!('pod' in dst) && !('pod' in src)) continue;
        for (const port of ports) {
          const governed = ('pod' in src && src.pod.namespace === 'shop') || ('pod' in dst && dst.pod.namespace === 'shop');
          if (!governed) continue;
          const key = `${JSON.stringify(src)}>${JSON.stringify(dst)}:${port}`;
          const isDns = 'pod' in dst && dst.pod === dns && port === 53;
          const expected = observed.has(key) || isDns;
          expect(allowed(docs, src, dst, port), key).toBe(expected);
          if (!expected) denied++;
        }
      }
    }
    expect(denied).toBeGreaterThan(50);
    // DNS is admitted over UDP too; nothing else over UDP.
    expect(allowed(docs, { pod: pods['shop/deploy/web']! }, { pod: dns }, 53, 'UDP')).toBe(true);
    expect(allowed(docs, { pod: pods['shop/deploy/web']! }, { pod: pods['shop/deploy/api']! }, edges.items[1]!.ports[0]!, 'UDP')).toBe(false);
  }, 90_000);
});
