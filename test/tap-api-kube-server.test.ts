/**
 * The tap API in Kubernetes mode, behind a stand-in kube-apiserver that authenticates users,
 * answers SubjectAccessReviews and proxies the aggregated API with its front-proxy client
 * certificate; real `meshtap proxy` sidecars; the real client (openKubeTapStream with a
 * kubeconfig). Proves: a tap sees exactly the deployment's meshed Running pods (owner chain,
 * not just labels); SAR denial is a 403 naming the permission; bodies need tap-bodies; the
 * identity headers are believed only from a verified front proxy (no certificate, another
 * CA's certificate, a name not allowed: 401); no meshed pods / unknown workload is a 404;
 * discovery documents; serving certificates are reloaded when their files change; sidecar
 * registration routes do not exist in this mode (nothing to register, nothing to hijack).
 */
import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { KubeConfig } from '@kubernetes/client-node';
import { Agent, request } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LABEL } from '../injector/annotations.js';
import { MESHED_LABEL, startKubeTapApiServer, type KubeTapApiServer } from '../tap-api/server/index.js';
import { createTestCa, type PemPair, type TestCa } from './support/test-ca.js';
import { callThrough, startKubeTapCluster, TAP_API_SERVICE, TOKENS, type KubeTapCluster } from './fixtures/kube-tap/cluster.js';
import { collectKubeTap } from './fixtures/kube-tap/collect.js';

let cluster: KubeTapCluster;
let tapApi: KubeTapApiServer;
let servingCa: TestCa;
let tlsDir: string;
const kubeconfigs: Record<'alice' | 'bob' | 'carol', string> = { alice: '', bob: '', carol: '' };
const agents: Agent[] = [];

async function writeServing(ca: TestCa): Promise<void> {
  const pair = await ca.issueServing([TAP_API_SERVICE], 1, ['127.0.0.1']);
  await writeFile(join(tlsDir, 'tls.crt'), pair.certPem);
  await writeFile(join(tlsDir, 'tls.key'), pair.keyPem);
}

beforeAll(async () => {
  cluster = await startKubeTapCluster();
  servingCa = await createTestCa('meshtap-ca.meshtap');
  tlsDir = await mkdtemp(join(tmpdir(), 'meshtap-kube-tls-'));
  await writeServing(servingCa);
  const kc = new KubeConfig();
  kc.loadFromFile(cluster.api.kubeconfig({ token: TOKENS.tapApi }));
  // No --requestheader-client-ca-file: the CA and allowed names come from extension-apiserver-authentication.
  tapApi = await startKubeTapApiServer({
    port: 0,
    keys: cluster.keys,
    kubeconfig: kc,
    tls: { certFile: join(tlsDir, 'tls.crt'), keyFile: join(tlsDir, 'tls.key') },
    tlsReloadIntervalMs: 3_600_000,
  });
  cluster.api.aggregate(tapApi.url, servingCa.certPem, TAP_API_SERVICE);
  for (const u of ['alice', 'bob', 'carol'] as const) kubeconfigs[u] = cluster.api.kubeconfig({ token: TOKENS[u] });
}, 120_000);

afterAll(async () => {
  await Promise.all(agents.map((a) => a.close()));
  await tapApi?.close();
  await cluster?.close();
}, 60_000);

/** A direct HTTPS request to the tap API (not through the stand-in), with an optional client certificate. */
async function direct(path: string, headers: Record<string, string>, client?: PemPair, ca = servingCa.certPem) {
  const agent = new Agent({ connect: { ca, servername: TAP_API_SERVICE, ...(client ? { cert: client.certPem, key: client.keyPem } : {}) } });
  agents.push(agent);
  const res = await request(new URL(path, tapApi.url), { method: path.includes('/watch/') ? 'POST' : 'GET', headers, dispatcher: agent, body: path.includes('/watch/') ? '{}' : null });
  const text = await res.body.text();
  return { status: res.statusCode, body: text.startsWith('{') ? (JSON.parse(text) as Record<string, unknown>) : text };
}

const WEB_TAP = '/apis/tap.meshtap.dev/v1alpha1/watch/namespaces/shop/deployments/web/tap';

describe('tap API, Kubernetes mode', () => {
  it('reads the same meshed label the injector writes', () => {
    expect(MESHED_LABEL).toBe(LABEL.injected);
  });

  it('an allowed tap sees every meshed Running pod of the deployment, and only those', async () => {
    const grantsBefore = (await tapApi.metrics.grantsIssued.get()).values[0]?.value ?? 0;
    const reviewsBefore = cluster.api.reviews.length;
    const tap = collectKubeTap(kubeconfigs.alice, 'deploy/web');
    await tap.live();
    for (const s of [cluster.sidecars.webA, cluster.sidecars.webB, cluster.sidecars.stray]) {
      for (let i = 0; i < 2; i++) expect(await callThrough(s, `/k/${i}`)).toBe(200);
    }
    await tap.ends((e) => e.pod === 'web-7d4b9c-a1b2c', 2);
    await tap.ends((e) => e.pod === 'web-7d4b9c-d3e4f', 2);
    tap.cancel();
    // Two pods fanned out to: not the Pending one, not the un-meshed one, not the canary that only shares labels.
    expect(((await tapApi.metrics.grantsIssued.get()).values[0]?.value ?? 0) - grantsBefore).toBe(2);
    expect(new Set(tap.events.map((e) => e.pod))).toEqual(new Set(['web-7d4b9c-a1b2c', 'web-7d4b9c-d3e4f']));
    expect(tap.notices).toEqual([]);
    const end = tap.events.find((e) => e.kind === 'end')!;
    expect(end.responseHeaders?.find(([n]) => n === 'set-cookie')?.[1]).not.toBe('session=s3cret');
    expect(end.responseBody).toBeUndefined();
    // The one review asked: exactly the tap permission, for the user the front proxy named.
    expect(cluster.api.reviews.slice(reviewsBefore)).toEqual([
      {
        user: 'alice',
        groups: ['viewers', 'system:authenticated'],
        extra: { 'scopes.example.com/team': ['payments'] },
        resourceAttributes: { namespace: 'shop', verb: 'watch', group: 'tap.meshtap.dev', resource: 'deployments', subresource: 'tap', name: 'web' },
      },
    ]);
  }, 90_000);

  it('a SubjectAccessReview denial is a 403 that names the missing permission', async () => {
    const err = (await collectKubeTap(kubeconfigs.carol, 'deploy/web').failure()) as { code?: string; message?: string };
    expect(err?.code).toBe('MT_RBAC_DENIED');
    expect(err.message).toContain('User "carol" cannot watch resource "deployments/tap" in API group "tap.meshtap.dev" in the namespace "shop"');
  }, 30_000);

  it('bodies need the separate tap-bodies permission', async () => {
    const denied = (await collectKubeTap(kubeconfigs.alice, 'deploy/web', { bodies: true }).failure()) as { code?: string; message?: string };
    expect(denied?.code).toBe('MT_RBAC_DENIED');
    expect(denied.message).toContain('cannot watch resource "deployments/tap-bodies"');
    const reviewed = cluster.api.reviews.filter((r) => r.user === 'alice' && r.resourceAttributes?.subresource === 'tap-bodies');
    expect(reviewed.length).toBeGreaterThan(0);

    const tap = collectKubeTap(kubeconfigs.bob, 'deploy/web', { bodies: true });
    await tap.live();
    expect(await callThrough(cluster.sidecars.webA, '/with-body', { method: 'POST', body: 'hello' })).toBe(200);
    await tap.ends((e) => e.path === '/with-body', 1);
    tap.cancel();
    const end = tap.events.find((e) => e.kind === 'end' && e.path === '/with-body')!;
    expect(end.requestBody?.data).toBe('hello');
    expect(end.responseBody?.data).toBe('answer to POST /with-body hello');
  }, 90_000);

  it('believes X-Remote-User only from a verified front proxy', async () => {
    const spoof = { 'x-remote-user': 'bob', 'x-remote-group': 'system:masters', 'content-type': 'application/json' };
    const noCert = await direct(WEB_TAP, spoof);
    expect(noCert.status).toBe(401);
    expect((noCert.body as { message: string }).message).toContain('no front-proxy client certificate');

    const otherCa = await createTestCa('not-the-front-proxy-ca');
    const foreign = await direct(WEB_TAP, spoof, await otherCa.issueClient('front-proxy-client'));
    expect(foreign.status).toBe(401);
    expect((foreign.body as { message: string }).message).toContain('not signed by the requestheader client CA');

    // Signed by the right CA, but not a name in requestheader-allowed-names.
    const wrongName = await direct(WEB_TAP, spoof, await cluster.api.frontProxyCa.issueClient('someone-else'));
    expect(wrongName.status).toBe(401);
    expect((wrongName.body as { message: string }).message).toContain('"someone-else" is not in --requestheader-allowed-names');

    // The control: the same request with the real front-proxy certificate is believed (and authorized: bob may tap).
    const agent = new Agent({ connect: { ca: servingCa.certPem, servername: TAP_API_SERVICE, cert: cluster.api.frontProxyClient.certPem, key: cluster.api.frontProxyClient.keyPem } });
    agents.push(agent);
    const ac = new AbortController();
    const ok = await request(new URL(WEB_TAP, tapApi.url), { method: 'POST', headers: spoof, body: '{}', dispatcher: agent, signal: ac.signal });
    expect(ok.statusCode).toBe(200);
    ac.abort();
    await ok.body.text().catch(() => undefined);
  }, 60_000);

  it('has no sidecar registration: POST and DELETE /v1/sidecars answer 404, even through the front proxy', async () => {
    const body = JSON.stringify({ workload: 'deploy/web', namespace: 'shop', pod: 'web-7d4b9c-a1b2c', tapAddress: '127.0.0.1:1' });
    for (const client of [undefined, cluster.api.frontProxyClient]) {
      const agent = new Agent({ connect: { ca: servingCa.certPem, servername: TAP_API_SERVICE, ...(client ? { cert: client.certPem, key: client.keyPem } : {}) } });
      agents.push(agent);
      const post = await request(new URL('/v1/sidecars', tapApi.url), { method: 'POST', headers: { 'content-type': 'application/json' }, body, dispatcher: agent });
      expect(post.statusCode).toBe(404);
      expect(((await post.body.json()) as { message: string }).message).toContain('pods come from the API server');
      const del = await request(new URL('/v1/sidecars/shop/web-7d4b9c-a1b2c', tapApi.url), { method: 'DELETE', dispatcher: agent });
      expect(del.statusCode).toBe(404);
      await del.body.text();
    }
  }, 30_000);

  it('answers 404 when a target has no meshed pods or does not exist', async () => {
    const quiet = (await collectKubeTap(kubeconfigs.alice, 'deploy/quiet').failure()) as { code?: string; message?: string };
    expect(quiet?.code).toBe('MT_NOT_FOUND');
    expect(quiet.message).toContain('no meshed pods found for deploy/quiet in namespace "shop"');
    const missing = (await collectKubeTap(kubeconfigs.alice, 'deploy/nope').failure()) as { code?: string; message?: string };
    expect(missing?.code).toBe('MT_NOT_FOUND');
    expect(missing.message).toBe('deployments.apps "nope" not found');
    // Regression (session 8): a typo names the nearest meshed deployment there (one alice may tap).
    const typo = (await collectKubeTap(kubeconfigs.alice, 'deploy/wbe').failure()) as { code?: string; message?: string };
    expect(typo?.code).toBe('MT_NOT_FOUND');
    expect(typo.message).toBe('deployments.apps "wbe" not found in namespace "shop"; did you mean deploy/web?');
    // carol may tap nothing: she gets the 403, never a name.
    const carol = (await collectKubeTap(kubeconfigs.carol, 'deploy/wbe').failure()) as { code?: string; message?: string };
    expect(carol?.code).toBe('MT_RBAC_DENIED');
    expect(carol.message).not.toContain('web?');
  }, 30_000);

  it('taps one pod by name, and a namespace as all its meshed pods', async () => {
    const grants = async () => (await tapApi.metrics.grantsIssued.get()).values[0]?.value ?? 0;
    const before = await grants();
    const one = collectKubeTap(kubeconfigs.alice, 'pod/web-7d4b9c-d3e4f');
    await one.live();
    expect((await grants()) - before).toBe(1);
    expect(await callThrough(cluster.sidecars.webB, '/one')).toBe(200);
    await one.ends((e) => e.path === '/one', 1);
    one.cancel();
    const ns = collectKubeTap(kubeconfigs.alice, 'ns/shop');
    await ns.live();
    expect((await grants()) - before).toBe(4); // 1 + the three meshed Running pods of shop
    ns.cancel();
  }, 60_000);

  it('serves discovery documents and health without a client certificate', async () => {
    const list = await direct('/apis/tap.meshtap.dev/v1alpha1', {});
    expect(list.status).toBe(200);
    expect(list.body).toMatchObject({ kind: 'APIResourceList', groupVersion: 'tap.meshtap.dev/v1alpha1' });
    const resources = (list.body as { resources: Array<{ name: string; verbs: string[]; namespaced: boolean }> }).resources;
    expect(resources).toContainEqual({ name: 'deployments/tap', singularName: '', namespaced: true, kind: 'Tap', verbs: ['watch'] });
    expect(resources).toContainEqual({ name: 'namespaces/tap-bodies', singularName: '', namespaced: false, kind: 'Tap', verbs: ['watch'] });
    expect((await direct('/apis/tap.meshtap.dev', {})).body).toMatchObject({ kind: 'APIGroup', name: 'tap.meshtap.dev', preferredVersion: { version: 'v1alpha1' } });
    expect((await direct('/healthz', {})).status).toBe(200);
    expect((await direct('/readyz', {})).status).toBe(200);
  }, 30_000);

  it('reloads the serving certificate when its files change', async () => {
    expect(await tapApi.reloadTls()).toBe(false); // nothing changed yet
    const rotated = await createTestCa('meshtap-ca.rotated');
    await writeServing(rotated);
    expect(await tapApi.reloadTls()).toBe(true);
    expect((await direct('/healthz', {}, undefined, rotated.certPem)).status).toBe(200);
    await expect(direct('/healthz', {}, undefined, servingCa.certPem)).rejects.toThrow();
    // A half-written pair is refused and the rotated one kept.
    await writeFile(join(tlsDir, 'tls.key'), '-----BEGIN PRIVATE KEY-----\nbroken\n');
    expect(await tapApi.reloadTls()).toBe(false);
    expect((await direct('/healthz', {}, undefined, rotated.certPem)).status).toBe(200);
    // Put the original CA's pair back so the stand-in (which trusts servingCa) keeps working.
    await writeServing(servingCa);
    expect(await tapApi.reloadTls()).toBe(true);
  }, 30_000);
});
