/**
 * Regression (R6, sec10): the tap API's "did you mean" picked the nearest meshed workload among
 * all of them and only then asked whether the user may tap it, so a user who may tap every
 * deployment but deploy/carts (an authorizer that denies single names: a webhook's "all but …",
 * RBAC resourceNames) and typed deploy/cartz got no hint, although deploy/card was near enough —
 * which told them that a nearer name they may not see exists. Now the hint is the nearest among
 * the names the user may tap. The tap API in Kubernetes mode behind the stand-in kube-apiserver
 * (answering SubjectAccessReviews per name), the real client through the aggregated API.
 */
import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { KubeConfig } from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startKubeTapApiServer, type KubeTapApiServer } from '../tap-api/server/index.js';
import { generateGrantKeyPair } from '../tap-protocol/index.js';
import { collectKubeTap } from './fixtures/kube-tap/collect.js';
import { startKubeApiServer, type KubeApiServer, type SarSpec, type SarStatus } from './support/kube-api-server.js';
import { deployment, extensionApiserverAuthentication, namespace, pod, replicaSet } from './support/kube-objects.js';
import { createTestCa } from './support/test-ca.js';

const SERVICE = 'meshtap-tap-api.meshtap.svc';
const TOKENS = { all: 'tok-all', limited: 'tok-limited', tapApi: 'tok-tap-api-sa' } as const;

/** The stand-in's authorizer: `all` may tap every deployment in shop; `limited` every one but carts (a webhook's per-name deny). */
function decide(spec: SarSpec): SarStatus {
  const a = spec.resourceAttributes;
  if (!a || a.group !== 'tap.meshtap.dev' || a.namespace !== 'shop' || a.verb !== 'watch' || a.resource !== 'deployments' || a.subresource !== 'tap') return { allowed: false };
  if (spec.user === 'all') return { allowed: true, reason: 'RBAC: allowed' };
  if (spec.user === 'limited' && a.name !== 'carts') return { allowed: true, reason: 'webhook: allowed' };
  return { allowed: false, denied: spec.user === 'limited', reason: 'webhook: carts is not yours' };
}

let api: KubeApiServer;
let tapApi: KubeTapApiServer;
const kubeconfigs = { all: '', limited: '' };

beforeAll(async () => {
  api = await startKubeApiServer({
    tokens: {
      [TOKENS.all]: { user: 'all', groups: ['system:authenticated'] },
      [TOKENS.limited]: { user: 'limited', groups: ['system:authenticated'] },
      [TOKENS.tapApi]: { user: 'system:serviceaccount:meshtap:meshtap-tap-api', groups: ['system:serviceaccounts', 'system:authenticated'] },
    },
    decide,
    namespace: 'shop',
  });
  const objects = [namespace('shop'), extensionApiserverAuthentication(api.frontProxyCa.certPem, api.userCa.certPem, ['front-proxy-client'])];
  // Two meshed deployments: carts (nearer to the typo cartz) and card. No sidecar is ever dialled.
  for (const [i, name] of ['carts', 'card'].entries()) {
    const d = deployment('shop', name, `0d1e0000-0000-4000-8000-00000000d00${i}`);
    const rs = replicaSet('shop', d, '5c6d', `0d1e0000-0000-4000-8000-00000000e00${i}`);
    objects.push(d, rs, pod({ ns: 'shop', name: `${name}-5c6d-a1b2c`, labels: { app: name, 'pod-template-hash': '5c6d' }, owner: rs, tapPort: 1 }));
  }
  for (const o of objects) api.add(o);
  const servingCa = await createTestCa('meshtap-ca.meshtap');
  const tlsDir = await mkdtemp(join(tmpdir(), 'meshtap-dym-tls-'));
  const pair = await servingCa.issueServing([SERVICE], 1, ['127.0.0.1']);
  await writeFile(join(tlsDir, 'tls.crt'), pair.certPem);
  await writeFile(join(tlsDir, 'tls.key'), pair.keyPem);
  const kc = new KubeConfig();
  kc.loadFromFile(api.kubeconfig({ token: TOKENS.tapApi }));
  tapApi = await startKubeTapApiServer({
    port: 0,
    keys: generateGrantKeyPair(),
    kubeconfig: kc,
    tls: { certFile: join(tlsDir, 'tls.crt'), keyFile: join(tlsDir, 'tls.key') },
    tlsReloadIntervalMs: 3_600_000,
  });
  api.aggregate(tapApi.url, servingCa.certPem, SERVICE);
  kubeconfigs.all = api.kubeconfig({ token: TOKENS.all });
  kubeconfigs.limited = api.kubeconfig({ token: TOKENS.limited });
}, 120_000);

afterAll(async () => {
  await tapApi?.close();
  await api?.close();
}, 60_000);

const failure = async (kubeconfig: string, target: string) => (await collectKubeTap(kubeconfig, target).failure()) as { code?: string; message?: string };

describe('did you mean, under RBAC', () => {
  it('suggests the nearest workload the user may tap, not the nearest of all', async () => {
    const limited = await failure(kubeconfigs.limited, 'deploy/cartz');
    expect(limited.code).toBe('MT_NOT_FOUND');
    expect(limited.message).toBe('deployments.apps "cartz" not found in namespace "shop"; did you mean deploy/card?');
  }, 30_000);

  it('suggests the nearest of all to a user who may tap all', async () => {
    const all = await failure(kubeconfigs.all, 'deploy/cartz');
    expect(all.message).toBe('deployments.apps "cartz" not found in namespace "shop"; did you mean deploy/carts?');
  }, 30_000);

  it('never names a workload the user may not tap', async () => {
    const limited = await failure(kubeconfigs.limited, 'deploy/cart');
    // cart -> card (1) and carts (1): equally near; carts is not the limited user's to see.
    expect(limited.message).toBe('deployments.apps "cart" not found in namespace "shop"; did you mean deploy/card?');
  }, 30_000);
});
