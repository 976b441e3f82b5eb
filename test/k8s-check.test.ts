import { readFileSync, writeFileSync } from 'node:fs';
import { KubeConfig } from '@kubernetes/client-node';
import { afterEach, describe, expect, it } from 'vitest';
import { runClusterChecks, formatCheckResults } from '../webhook/index.js';
import { sendJson, startKubeApiServer, STANDIN_TOKEN, type KubeApiServerOptions, type KubeApiServer } from './support/kube-api-server.js';
import { installInto } from './fixtures/k8s/cluster.js';

let api: KubeApiServer | undefined;
afterEach(async () => {
  await api?.close();
  api = undefined;
});

async function cluster(options: KubeApiServerOptions = {}): Promise<{ api: KubeApiServer; kc: KubeConfig }> {
  api = await startKubeApiServer(options);
  const kc = new KubeConfig();
  kc.loadFromFile(api.kubeconfigPath);
  return { api, kc };
}

const byName = (results: { name: string; ok: boolean; detail?: string; hint?: string }[]) => Object.fromEntries(results.map((r) => [r.name, r]));

describe('meshtap check (cluster) against a stand-in API server', () => {
  it('a healthy installation passes every check', async () => {
    const { api, kc } = await cluster();
    await installInto(api);
    const results = await runClusterChecks(kc, { namespace: 'meshtap', pre: false });
    expect(results.filter((r) => !r.ok)).toEqual([]);
    expect(results.map((r) => r.name)).toEqual([
      'Kubernetes API reachable',
      'Kubernetes version is 1.29 or newer',
      'control plane namespace meshtap exists',
      'meshtap-webhook Deployment ready',
      'meshtap-tap-api Deployment ready',
      'webhook caBundle valid and not expiring',
      'webhook registered (MutatingWebhookConfiguration)',
      'webhook service has ready endpoints',
      'webhook reachable through the API server',
      'tap API caBundle valid and not expiring',
      'APIService v1alpha1.tap.meshtap.dev Available',
      'agent ready on every node',
      'sidecars run the control plane version',
    ]);
    expect(byName(results)['Kubernetes version is 1.29 or newer']!.detail).toBe('v1.31.4');
    // The real wire protocol was used: bearer token, real paths.
    expect(api.requests.map((r) => r.url)).toEqual(expect.arrayContaining([
      '/version',
      '/apis/admissionregistration.k8s.io/v1/mutatingwebhookconfigurations/meshtap-webhook',
      '/apis/apiregistration.k8s.io/v1/apiservices/v1alpha1.tap.meshtap.dev',
      '/apis/apps/v1/namespaces/meshtap/daemonsets/meshtap-agent',
    ]));
    const text = formatCheckResults('cluster', results);
    expect(text.split('\n').filter((l) => l.startsWith('✔'))).toHaveLength(results.length);
  });

  it('a broken installation: each problem is one ✖ line with a hint', async () => {
    const { api, kc } = await cluster();
    await installInto(api, { daemonSetReady: 2, apiServiceAvailable: false, webhookEndpointsReady: false, webhookHealthz: 'unavailable', sidecarVersions: ['0.1.0', '0.0.9'] });
    const results = byName(await runClusterChecks(kc, { namespace: 'meshtap', pre: false }));
    expect(results['agent ready on every node']).toMatchObject({ ok: false, detail: '2/3 nodes ready', hint: expect.stringContaining('kubectl') });
    expect(results['APIService v1alpha1.tap.meshtap.dev Available']).toMatchObject({ ok: false, detail: expect.stringMatching(/^FailedDiscoveryCheck: failing or missing response/) });
    expect(results['webhook service has ready endpoints']).toMatchObject({ ok: false, detail: '0 ready endpoint(s)' });
    expect(results['webhook reachable through the API server']).toMatchObject({ ok: false, detail: expect.stringContaining('503') });
    expect(results['sidecars run the control plane version']).toMatchObject({ ok: false, detail: expect.stringContaining('shop/web-7d4b9c8f6d-1abcd (0.0.9)') });
    expect(results['webhook registered (MutatingWebhookConfiguration)']!.ok).toBe(true);
  });

  it('missing objects are reported as not found (404 Status), expired caBundles as expired', async () => {
    const { api, kc } = await cluster();
    await installInto(api, { omit: ['MutatingWebhookConfiguration/meshtap-webhook', 'DaemonSet/meshtap-agent'] });
    const results = byName(await runClusterChecks(kc, { namespace: 'meshtap', pre: false }));
    expect(results['webhook registered (MutatingWebhookConfiguration)']).toMatchObject({ ok: false, detail: 'not found', hint: expect.stringContaining('meshtap install') });
    expect(results['agent ready on every node']).toMatchObject({ ok: false, detail: 'not found' });

    // Far in the future the generated CA has expired.
    const later = byName(await runClusterChecks(kc, { namespace: 'meshtap', pre: false, now: new Date(Date.now() + 20 * 365 * 86_400_000) }));
    expect(later['tap API caBundle valid and not expiring']).toMatchObject({ ok: false, detail: expect.stringMatching(/^caBundle expired on /) });
  });

  it('--pre: permissions through SelfSubjectAccessReview', async () => {
    const denied = new Set(['clusterroles', 'mutatingwebhookconfigurations']);
    const { api, kc } = await cluster({
      tokens: { [STANDIN_TOKEN]: { user: 'admin', groups: ['system:authenticated'] } },
      decide: (spec) =>
        denied.has(spec.resourceAttributes?.resource ?? '') ? { allowed: false } : { allowed: true, reason: 'RBAC: allowed by ClusterRoleBinding "cluster-admin" of ClusterRole "cluster-admin" to User "admin"' },
    });
    const results = await runClusterChecks(kc, { namespace: 'meshtap', pre: true });
    const failed = results.filter((r) => !r.ok).map((r) => r.name);
    expect(failed).toEqual(['can create clusterroles', 'can create mutatingwebhookconfigurations']);
    expect(results.find((r) => r.name === 'can create rolebindings in kube-system')!.ok).toBe(true);
    const posted = api.requests.filter((r) => r.method === 'POST').map((r) => (r.body as any).spec.resourceAttributes);
    expect(posted).toContainEqual({ verb: 'create', group: 'apps', resource: 'daemonsets', namespace: 'meshtap' });
  });

  it('an old cluster fails the version check', async () => {
    const { api, kc } = await cluster();
    api.route((req, res) => {
      if (req.url !== '/version') return false;
      sendJson(res, 200, { major: '1', minor: '27+', gitVersion: 'v1.27.16-eks-a18cd3a', gitCommit: 'x', gitTreeState: 'clean', buildDate: '2024-08-01T00:00:00Z', goVersion: 'go1.22.5', compiler: 'gc', platform: 'linux/amd64' });
      return true;
    });
    const results = byName(await runClusterChecks(kc, { namespace: 'meshtap', pre: true }));
    expect(results['Kubernetes version is 1.29 or newer']).toMatchObject({ ok: false, detail: 'v1.27.16-eks-a18cd3a', hint: expect.stringContaining('native-sidecar') });
  });

  it('an unreachable API server: one failed line, nothing else attempted', async () => {
    const { api, kc } = await cluster();
    await api.close();
    const results = await runClusterChecks(kc, { namespace: 'meshtap', pre: false });
    expect(results).toEqual([{ name: 'Kubernetes API reachable', ok: false, detail: expect.stringMatching(/ECONNREFUSED/), hint: expect.stringContaining('KUBECONFIG') }]);
  });

  it('a wrong token is a clear failure (401 Status)', async () => {
    const { api } = await cluster();
    const kc = new KubeConfig();
    const path = api.kubeconfigPath + '.bad';
    writeFileSync(path, readFileSync(api.kubeconfigPath, 'utf8').replace(`token: ${STANDIN_TOKEN}`, 'token: wrong'));
    kc.loadFromFile(path);
    const results = await runClusterChecks(kc, { namespace: 'meshtap', pre: false });
    expect(results[0]).toMatchObject({ ok: false, detail: 'HTTP 401: Unauthorized' });
  });
});
