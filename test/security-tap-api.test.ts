/**
 * Adversarial tests of the tap API (local mode, real HTTP, a real grant-requiring sidecar
 * registered in namespace shop): what a user may see is decided by the namespace they are
 * authorized in, whatever path or filter they craft.
 */
import { rm } from 'node:fs/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { generateGrantKeyPair } from '../tap-protocol/index.js';
import type { TapApiServer } from '../tap-api/server/index.js';
import { registerSidecar, startFixtureTapApi, TOKENS, writeTapApiFixtures } from './tap-api-fixtures.js';
import { startSecurityRig, type SecurityRig } from './security-rig.js';

const PREFIX = '/apis/tap.meshtap.dev/v1alpha1';
let api: TapApiServer;
let rig: SecurityRig;
let dir: string;

beforeAll(async () => {
  const f = await writeTapApiFixtures();
  dir = f.dir;
  const keys = generateGrantKeyPair();
  api = await startFixtureTapApi(f.rbacDir, {}, keys);
  rig = await startSecurityRig({}, keys);
  expect(await registerSidecar(api.url, { workload: 'deploy/web', namespace: 'shop', pod: 'web-1', tapAddress: rig.sidecar.tapAddress })).toBe(200);
  expect(await rig.call('/shop-secret', { headers: { authorization: 'Basic YWRtaW46aHVudGVyMg==' } })).toBe(200);
});

afterAll(async () => {
  await rig?.close();
  await api?.close();
  if (dir) await rm(dir, { recursive: true, force: true });
});

/** POSTs a tap request by hand (the real client never builds these paths) and reads the whole answer. */
async function rawTap(token: string, path: string, body: unknown): Promise<{ status: number; text: string }> {
  const res = await fetch(`${api.url}${PREFIX}${path}`, {
    method: 'POST',
    headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
    body: JSON.stringify(body),
    signal: AbortSignal.timeout(20_000),
  });
  return { status: res.status, text: await res.text() };
}

describe('tap API: namespace boundaries', () => {
  it('positive control: a viewer of shop tapping ns/shop sees the exchange', async () => {
    const r = await rawTap(TOKENS.viewer, '/watch/namespaces/shop/tap', { last: 10 });
    expect(r.status).toBe(200);
    expect(r.text).toContain('/shop-secret');
  });

  it('dave (viewer in "other" only) cannot tap ns/shop directly', async () => {
    const r = await rawTap(TOKENS.otherNs, '/watch/namespaces/shop/tap', { last: 10 });
    expect(r.status).toBe(403);
    expect(r.text).not.toContain('/shop-secret');
  });

  it('regression (cross-namespace namespace tap): /namespaces/other/namespaces/shop/tap is refused and shows nothing of shop', async () => {
    // Authorized as "namespaces/tap named shop in namespace other" (dave's RoleBinding), it used to
    // resolve to every pod of namespace shop.
    const r = await rawTap(TOKENS.otherNs, '/watch/namespaces/other/namespaces/shop/tap', { last: 10 });
    expect(r.status).toBeGreaterThanOrEqual(400);
    expect(r.text).not.toContain('/shop-secret');
    expect(r.text).not.toContain('web-1');
  });
});

describe('tap API: filters cannot probe redacted headers', () => {
  it('regression (header-filter oracle): a viewer filtering on the value of a redacted header is refused', async () => {
    // The viewer may not see `authorization`; a filter on its value would tell them whether a guess is right.
    const guess = { matches: [[{ field: 'header', name: 'Authorization', value: 'Basic YWRtaW46aHVudGVyMg==' }]], last: 10 };
    const r = await rawTap(TOKENS.viewer, '/watch/namespaces/shop/deployments/web/tap', guess);
    expect(r.status).toBe(400);
    expect(r.text).toContain('authorization');
    expect(r.text).not.toContain('/shop-secret');
  });

  it('a filter on a redacted header is allowed together with revealing it (which needs tap-bodies)', async () => {
    const reveal = { matches: [[{ field: 'header', name: 'authorization', value: 'Basic YWRtaW46aHVudGVyMg==' }]], revealHeaders: ['authorization'], last: 10 };
    expect((await rawTap(TOKENS.viewer, '/watch/namespaces/shop/deployments/web/tap', reveal)).status).toBe(403);
    const r = await rawTap(TOKENS.admin, '/watch/namespaces/shop/deployments/web/tap', reveal);
    expect(r.status).toBe(200);
    expect(r.text).toContain('/shop-secret');
  });

  it('filters on other headers still work for a viewer', async () => {
    const r = await rawTap(TOKENS.viewer, '/watch/namespaces/shop/deployments/web/tap', { matches: [[{ field: 'header', name: 'accept', value: 'nothing-sends-this' }]], last: 10 });
    expect(r.status).toBe(200);
    expect(r.text).not.toContain('/shop-secret');
  });
});
