import { mkdtempSync, renameSync, writeFileSync } from 'node:fs';
import { X509Certificate } from 'node:crypto';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connect } from 'node:tls';
import { KubeConfig } from '@kubernetes/client-node';
import { Agent, request } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createMeshConfig } from '../injector/index.js';
import { createKubeNamespaceLookup } from './namespace-lookup.js';
import { startWebhookServer, type WebhookServer } from './server.js';
import { createCertificateAuthority, serviceDnsNames } from './install/certs.js';
import { podCreateReview, verifyAdmissionResponse } from '../test/fixtures/k8s/admission.js';
import { kubeStatus, sendJson, startKubeApiServer, type KubeApiServer } from '../test/support/kube-api-server.js';
import { apiPod, controllerCreatedPod } from '../test/fixtures/k8s/pods.js';
import { applyStrict } from '../test/fixtures/k8s/strict-patch.js';
import { until } from '../test/support/until.js';

const SERVICE_HOST = 'meshtap-webhook.meshtap.svc';
const config = createMeshConfig({ version: '0.1.0', image: 'ghcr.io/meshtap/meshtap:v0.1.0' });

let dir: string;
let caPem: string;
let api: KubeApiServer;
let webhook: WebhookServer;
let strictWebhook: WebhookServer;
let agent: Agent;

function writePair(pair: { certPem: string; keyPem: string }): void {
  // Atomic like a Secret volume update: write aside, then rename into place.
  writeFileSync(join(dir, 'tls.crt.new'), pair.certPem);
  writeFileSync(join(dir, 'tls.key.new'), pair.keyPem);
  renameSync(join(dir, 'tls.key.new'), join(dir, 'tls.key'));
  renameSync(join(dir, 'tls.crt.new'), join(dir, 'tls.crt'));
}

async function post(server: WebhookServer, path: string, body: string, contentType = 'application/json') {
  const res = await request(`https://127.0.0.1:${server.port}${path}`, { method: 'POST', body, headers: { 'content-type': contentType }, dispatcher: agent });
  const text = await res.body.text();
  return { status: res.statusCode, text, json: () => JSON.parse(text) as unknown };
}

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'meshtap-webhook-'));
  const ca = await createCertificateAuthority('meshtap-ca');
  caPem = ca.certPem;
  writePair(await ca.issueServing(serviceDnsNames('meshtap-webhook', 'meshtap')));

  api = await startKubeApiServer();
  api.add(
    { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'shop', labels: { 'kubernetes.io/metadata.name': 'shop' }, annotations: { 'meshtap.dev/inject': 'enabled', 'meshtap.dev/skip-outbound-ports': '5432' } }, spec: { finalizers: ['kubernetes'] }, status: { phase: 'Active' } },
    { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'plain', labels: { 'kubernetes.io/metadata.name': 'plain' } }, spec: { finalizers: ['kubernetes'] }, status: { phase: 'Active' } },
    { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'batch', labels: { 'kubernetes.io/metadata.name': 'batch' }, annotations: { 'meshtap.dev/inject': 'enabled', 'meshtap.dev/busy-poll-us': '0' } }, spec: { finalizers: ['kubernetes'] }, status: { phase: 'Active' } },
  );
  api.route((req, res) => {
    if (req.url === '/api/v1/namespaces/flaky') {
      sendJson(res, 500, kubeStatus(500, 'InternalError', 'Internal error occurred: etcdserver: request timed out'));
      return true;
    }
    return false;
  });
  const kc = new KubeConfig();
  kc.loadFromFile(api.kubeconfigPath);
  const lookupNamespace = await createKubeNamespaceLookup(kc, { ttlMs: 0 });
  const base = { host: '127.0.0.1', port: 0, certFile: join(dir, 'tls.crt'), keyFile: join(dir, 'tls.key'), config, lookupNamespace, maxBodyBytes: 1024 * 1024, certCheckIntervalMs: 100 };
  webhook = await startWebhookServer(base);
  strictWebhook = await startWebhookServer({ ...base, strict: true });
  agent = new Agent({ connect: { ca: caPem, servername: SERVICE_HOST } });
});

afterAll(async () => {
  await agent?.close();
  await webhook?.close();
  await strictWebhook?.close();
  await api?.close();
});

describe('webhook /inject', () => {
  it('injects a controller-created pod (no name, no namespace) in an enabled namespace; v1 envelope; ?timeout=10s', async () => {
    const pod = controllerCreatedPod();
    const review = podCreateReview(pod, { namespace: 'shop' });
    const res = await post(webhook, '/inject?timeout=10s', JSON.stringify(review));
    expect(res.status).toBe(200);
    const out = verifyAdmissionResponse(review, res.json());
    expect(out.allowed).toBe(true);
    const patched = applyStrict(pod, out.patch!) as { metadata: { annotations: Record<string, string> }; spec: { initContainers: { name: string; args: string[] }[] } };
    expect(patched.spec.initContainers[0]!.name).toBe('meshtap-proxy');
    expect(patched.spec.initContainers[0]!.args).toContain('deploy/web');
    // Namespace annotations were read from the API server.
    expect(patched.metadata.annotations['meshtap.dev/skip-outbound-ports']).toBe('5432');
    expect(api.requests.some((r) => r.url === '/api/v1/namespaces/shop')).toBe(true);
  });

  it("a namespace's meshtap.dev/busy-poll-us, read from the API server, becomes the sidecar's --busy-poll-us", async () => {
    const pod = apiPod({ name: 'worker', namespace: 'batch' });
    const review = podCreateReview(pod, { namespace: 'batch' });
    const out = verifyAdmissionResponse(review, (await post(webhook, '/inject', JSON.stringify(review))).json());
    expect(out.warnings ?? []).toEqual([]);
    const patched = applyStrict(pod, out.patch!) as { spec: { initContainers: { name: string; args: string[] }[] } };
    const args = patched.spec.initContainers[0]!.args;
    expect(args[args.indexOf('--busy-poll-us') + 1]).toBe('0');
    expect(args[args.indexOf('--engine') + 1]).toBe('native');
    expect(api.requests.some((r) => r.url === '/api/v1/namespaces/batch')).toBe(true);
  });

  it('answers v1beta1 in v1beta1', async () => {
    const review = podCreateReview(controllerCreatedPod(), { namespace: 'shop', version: 'admission.k8s.io/v1beta1' });
    const out = verifyAdmissionResponse(review, (await post(webhook, '/inject', JSON.stringify(review))).json());
    expect(out.patch!.length).toBeGreaterThan(0);
  });

  it('dry runs get the same answer and are counted apart', async () => {
    const pod = controllerCreatedPod();
    const dry = podCreateReview(pod, { namespace: 'shop', dryRun: true });
    const wet = podCreateReview(pod, { namespace: 'shop' });
    const a = verifyAdmissionResponse(dry, (await post(webhook, '/inject', JSON.stringify(dry))).json());
    const b = verifyAdmissionResponse(wet, (await post(webhook, '/inject', JSON.stringify(wet))).json());
    expect(a.patch).toEqual(b.patch);
    const metrics = await (await request(`https://127.0.0.1:${webhook.port}/metrics`, { dispatcher: agent })).body.text();
    expect(metrics).toMatch(/meshtap_webhook_admissions_total\{outcome="injected",dry_run="true"\} [1-9]/);
  });

  it('pods in namespaces without opt-in are allowed untouched', async () => {
    const review = podCreateReview(apiPod({ name: 'x', namespace: 'plain' }), { namespace: 'plain' });
    const out = verifyAdmissionResponse(review, (await post(webhook, '/inject', JSON.stringify(review))).json());
    expect(out).toEqual({ allowed: true });
  });

  it('an unreadable namespace costs a warning, not the pod', async () => {
    const review = podCreateReview(apiPod({ name: 'x', namespace: 'flaky', annotations: { 'meshtap.dev/inject': 'enabled' } }), { namespace: 'flaky' });
    const out = verifyAdmissionResponse(review, (await post(webhook, '/inject', JSON.stringify(review))).json());
    expect(out.allowed).toBe(true);
    expect(out.patch!.length).toBeGreaterThan(0);
    expect(out.warnings!.join()).toMatch(/namespace flaky annotations unavailable/);
  });

  it('invalid annotation values come back as warnings', async () => {
    const review = podCreateReview(apiPod({ name: 'x', namespace: 'shop', annotations: { 'meshtap.dev/body-limit': 'huge' } }), { namespace: 'shop' });
    const out = verifyAdmissionResponse(review, (await post(webhook, '/inject', JSON.stringify(review))).json());
    expect(out.warnings).toEqual([expect.stringMatching(/^meshtap: pod annotation meshtap\.dev\/body-limit="huge" is not a size/)]);
  });

  it('fails open on an internal error, or denies with --strict', async () => {
    const broken = apiPod({ name: 'x', namespace: 'shop' }, { volumes: 'not-a-list' });
    const review = podCreateReview(broken, { namespace: 'shop' });
    const open = verifyAdmissionResponse(review, (await post(webhook, '/inject', JSON.stringify(review))).json());
    expect(open.allowed).toBe(true);
    expect(open.patch).toBeUndefined();
    expect(open.warnings!.join()).toMatch(/internal error/);
    const strict = verifyAdmissionResponse(review, (await post(strictWebhook, '/inject', JSON.stringify(review))).json());
    expect(strict.allowed).toBe(false);
    expect(strict.status?.code).toBe(500);
  });

  it('malformed requests: 415, 400, 413, 405, 404', async () => {
    const review = JSON.stringify(podCreateReview(controllerCreatedPod(), { namespace: 'shop' }));
    expect((await post(webhook, '/inject', review, 'application/yaml')).status).toBe(415);
    expect((await post(webhook, '/inject', '{"kind": "AdmissionRev')).status).toBe(400);
    const notReview = await post(webhook, '/inject', JSON.stringify({ kind: 'AdmissionReview', apiVersion: 'admission.k8s.io/v2', request: { uid: 'x' } }));
    expect(notReview.status).toBe(400);
    expect(notReview.text).toMatch(/apiVersion/);
    expect((await post(webhook, '/inject', JSON.stringify({ kind: 'AdmissionReview', apiVersion: 'admission.k8s.io/v1', request: {} }))).status).toBe(400);
    expect((await post(webhook, '/inject', 'x'.repeat(2 * 1024 * 1024))).status).toBe(413);
    const get = await request(`https://127.0.0.1:${webhook.port}/inject`, { dispatcher: agent });
    await get.body.dump();
    expect(get.statusCode).toBe(405);
    expect((await post(webhook, '/mutate', review)).status).toBe(404);
    const metrics = await (await request(`https://127.0.0.1:${webhook.port}/metrics`, { dispatcher: agent })).body.text();
    expect(metrics).toMatch(/meshtap_webhook_rejected_requests_total\{reason="too-large"\} 1/);
    expect(metrics).toMatch(/meshtap_webhook_rejected_requests_total\{reason="content-type"\} 1/);
  });

  it('/healthz answers ok', async () => {
    const res = await request(`https://127.0.0.1:${webhook.port}/healthz`, { dispatcher: agent });
    expect(res.statusCode).toBe(200);
    expect(await res.body.text()).toBe('ok\n');
  });
});

function peerFingerprint(port: number): Promise<string> {
  return new Promise((resolve, reject) => {
    const s = connect({ host: '127.0.0.1', port, servername: SERVICE_HOST, rejectUnauthorized: false }, () => {
      const fp = s.getPeerCertificate().fingerprint256;
      s.destroy();
      resolve(fp);
    });
    s.on('error', reject);
  });
}

function waitForFingerprint(port: number, want: string): Promise<void> {
  return until('the new certificate served', async () => (await peerFingerprint(port)) === want, { intervalMs: 100 });
}

describe('certificate rotation while serving', () => {
  it('serves a rotated pair on new connections; a mismatched pair is ignored', async () => {
    const ca2 = await createCertificateAuthority('meshtap-ca-2');
    const pair2 = await ca2.issueServing(serviceDnsNames('meshtap-webhook', 'meshtap'));
    writePair(pair2);
    await waitForFingerprint(webhook.port, new X509Certificate(pair2.certPem).fingerprint256);
    const agent2 = new Agent({ connect: { ca: ca2.certPem, servername: SERVICE_HOST } });
    try {
      const res = await request(`https://127.0.0.1:${webhook.port}/healthz`, { dispatcher: agent2 });
      expect(res.statusCode).toBe(200);
      await res.body.dump();
      // A cert with the wrong key must not replace the working pair.
      const pair3 = await ca2.issueServing(serviceDnsNames('meshtap-webhook', 'meshtap'));
      writePair({ certPem: pair3.certPem, keyPem: pair2.keyPem });
      expect(await webhook.certs.check()).toBe(false);
      expect(await peerFingerprint(webhook.port)).toBe(new X509Certificate(pair2.certPem).fingerprint256);
    } finally {
      await agent2.close();
    }
  });
});
