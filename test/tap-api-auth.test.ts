/**
 * The tap API's negative matrix over real HTTP (a real server on 127.0.0.1:0, the real client):
 * every refusal carries the right status, code and message, happens before any sidecar is
 * contacted, and leaks nothing about which workloads exist.
 */
import { rm } from 'node:fs/promises';
import { createServer, type Server } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MeshtapError } from '../common/index.js';
import type { TapMessage, TapRequest } from '../tap-protocol/tap-types.js';
import { type TapApiServer } from '../tap-api/server/index.js';
import { registerSidecar, startFixtureTapApi, TOKENS, writeTapApiFixtures } from './tap-api-fixtures.js';
import { listSidecars, openTapApiStream } from '../tap-api/index.js';
import { until } from './support/until.js';

let api: TapApiServer;
let dir: string;
/** A port nobody listens on: registered as the "sidecar" address of pods in these tests. */
let deadPort: number;

async function freePort(): Promise<number> {
  const s: Server = createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  const port = (s.address() as { port: number }).port;
  await new Promise<void>((r) => s.close(() => r()));
  return port;
}

beforeAll(async () => {
  const f = await writeTapApiFixtures();
  dir = f.dir;
  api = await startFixtureTapApi(f.rbacDir);
  deadPort = await freePort();
  for (const pod of ['web-1', 'web-2']) {
    expect(await registerSidecar(api.url, { workload: 'deployment/web', namespace: 'shop', pod, tapAddress: `127.0.0.1:${deadPort}`, adminAddress: '127.0.0.1:1' })).toBe(200);
  }
});

afterAll(async () => {
  await api?.close();
  if (dir) await rm(dir, { recursive: true, force: true });
});

async function tapError(token: string | undefined, target: string, request: Partial<TapRequest> = {}, namespace = 'shop'): Promise<MeshtapError> {
  const s = openTapApiStream({ url: api.url, ...(token ? { token } : {}), namespace, target, request: { matches: [], bodies: false, ...request } });
  try {
    for await (const _m of s.messages) {
      // drain
    }
  } catch (err) {
    expect(err).toBeInstanceOf(MeshtapError);
    return err as MeshtapError;
  } finally {
    s.cancel();
  }
  throw new Error('the tap was not refused');
}

describe('tap API refusals', () => {
  it('no token: 401 MT_UNAUTHORIZED saying how to pass one', async () => {
    const e = await tapError(undefined, 'deploy/web');
    expect(e.code).toBe('MT_UNAUTHORIZED');
    expect(e.message).toContain('no bearer token');
  });

  it('unknown token: 401 MT_UNAUTHORIZED', async () => {
    const e = await tapError('not-a-token', 'deploy/web');
    expect(e.code).toBe('MT_UNAUTHORIZED');
    expect(e.message).toContain('not in the tap API token file');
  });

  it('user without a binding: 403 naming the missing permission like kube-apiserver', async () => {
    const e = await tapError(TOKENS.nobody, 'deploy/web');
    expect(e.code).toBe('MT_RBAC_DENIED');
    expect(e.message).toBe(
      'deployments.tap.meshtap.dev "web" is forbidden: User "carol" cannot watch resource "deployments/tap" in API group "tap.meshtap.dev" in the namespace "shop"',
    );
  });

  it('binding in another namespace does not apply here', async () => {
    const e = await tapError(TOKENS.otherNs, 'deploy/web');
    expect(e.code).toBe('MT_RBAC_DENIED');
    expect(e.message).toContain('User "dave" cannot watch resource "deployments/tap"');
  });

  it('resourceNames mismatch: erin may tap deploy/api only', async () => {
    const e = await tapError(TOKENS.named, 'deploy/web');
    expect(e.code).toBe('MT_RBAC_DENIED');
    // ...while deploy/api is authorized (and then simply has no meshed pods)
    const ok = await tapError(TOKENS.named, 'deploy/api');
    expect(ok.code).toBe('MT_NOT_FOUND');
    // ...and pods of web are a different resource she has no right to
    expect((await tapError(TOKENS.named, 'pod/web-1')).message).toContain('"pods/tap"');
  });

  it('viewer asking for bodies: 403 naming the separate tap-bodies permission', async () => {
    const e = await tapError(TOKENS.viewer, 'deploy/web', { bodies: true });
    expect(e.code).toBe('MT_RBAC_DENIED');
    expect(e.message).toContain('User "alice" cannot watch resource "deployments/tap-bodies" in API group "tap.meshtap.dev" in the namespace "shop"');
  });

  it('viewer asking for unredacted headers: 403 too', async () => {
    const e = await tapError(TOKENS.viewer, 'deploy/web', { revealHeaders: ['authorization'] });
    expect(e.code).toBe('MT_RBAC_DENIED');
    expect(e.message).toContain('tap-bodies');
  });

  it('authorization comes before resolution: unknown targets are 403 for the unauthorized, 404 for the authorized', async () => {
    expect((await tapError(TOKENS.nobody, 'deploy/nothing-here')).code).toBe('MT_RBAC_DENIED');
    const e = await tapError(TOKENS.viewer, 'deploy/nothing-here');
    expect(e.code).toBe('MT_NOT_FOUND');
    expect(e.message).toContain('no meshed pods found for deploy/nothing-here in namespace "shop"');
  });

  it('service accounts get their implicit groups (system:serviceaccounts:NS)', async () => {
    const e = await tapError(TOKENS.sa, 'deploy/nothing', {}, 'anywhere');
    expect(e.code).toBe('MT_NOT_FOUND');
  });

  it('tap API unreachable: MT_TAP_API_UNREACHABLE saying what to do', async () => {
    const s = openTapApiStream({ url: `http://127.0.0.1:${deadPort}`, token: TOKENS.viewer, namespace: 'shop', target: 'deploy/web', request: { matches: [], bodies: false } });
    await expect(s.messages[Symbol.asyncIterator]().next()).rejects.toMatchObject({ code: 'MT_TAP_API_UNREACHABLE', message: expect.stringContaining('ECONNREFUSED') });
  });

  it('bad requests are refused with Status objects', async () => {
    const url = `${api.url}/apis/tap.meshtap.dev/v1alpha1/watch/namespaces/shop/deployments/web/tap`;
    const auth = { authorization: `Bearer ${TOKENS.viewer}` };
    const notJson = await fetch(url, { method: 'POST', headers: auth, body: '{nope' });
    expect(notJson.status).toBe(400);
    expect(await notJson.json()).toMatchObject({ kind: 'Status', status: 'Failure', reason: 'BadRequest', code: 400 });
    const badFilter = await fetch(url, { method: 'POST', headers: auth, body: JSON.stringify({ matches: [[{ field: 'colour', value: 'red' }]] }) });
    expect(badFilter.status).toBe(400);
    expect(((await badFilter.json()) as { message: string }).message).toContain('unknown filter field "colour"');
    const huge = await fetch(url, { method: 'POST', headers: auth, body: JSON.stringify({ matches: [], pad: 'x'.repeat(100_000) }) });
    expect(huge.status).toBe(413);
    const get = await fetch(url, { headers: auth });
    expect(get.status).toBe(405);
    const unknownResource = await fetch(url.replace('/deployments/', '/replicationcontrollers/'), { method: 'POST', headers: auth });
    expect(unknownResource.status).toBe(404);
  });

  it('counts every refusal by reason', async () => {
    const text = await (await fetch(`${api.url}/metrics`)).text();
    expect(text).toMatch(/meshtap_tapapi_rejected_total\{reason="unauthorized"\} [1-9]/);
    expect(text).toMatch(/meshtap_tapapi_rejected_total\{reason="forbidden"\} [1-9]/);
    expect(text).toMatch(/meshtap_tapapi_rejected_total\{reason="body-too-large"\} [1-9]/);
    expect(text).toMatch(/meshtap_tapapi_sidecars 2/);
  });
});

describe('tap API allowed paths without a live sidecar', () => {
  it('an authorized tap whose sidecars cannot be reached: a notice while another part lives, then an error naming every pod and its sidecar', async () => {
    const notices: string[] = [];
    const s = openTapApiStream({
      url: api.url,
      token: TOKENS.viewer,
      namespace: 'shop',
      target: 'deploy/web',
      request: { matches: [], bodies: false },
      onNotice: (n) => notices.push(n.message),
    });
    const got: TapMessage[] = [];
    const err = await (async () => {
      for await (const m of s.messages) got.push(m);
    })().catch((e: unknown) => e);
    expect(got).toEqual([]);
    expect(err).toMatchObject({ code: 'MT_TAP_PODS_ENDED' });
    expect((err as Error).message).toMatch(/pod web-1 \(sidecar tap 127\.0\.0\.1:\d+\): UNAVAILABLE.*; pod web-2 \(sidecar tap 127\.0\.0\.1:\d+\): UNAVAILABLE/);
    expect(notices.length).toBeLessThanOrEqual(1);
    for (const n of notices) expect(n).toMatch(/^pod web-[12]: tap stream ended: UNAVAILABLE/);
  });

  it('ns/NAME taps every meshed pod of the namespace, authorized as namespaces/tap on that namespace', async () => {
    const s = openTapApiStream({ url: api.url, token: TOKENS.viewer, namespace: 'ignored', target: 'ns/shop', request: { matches: [], bodies: false } });
    const err = await (async () => {
      for await (const _m of s.messages) {
        // both parts end (their sidecars are unreachable)
      }
    })().catch((e: unknown) => e as Error);
    expect(err?.message).toMatch(/pod web-1 .*; pod web-2 /);
    const e = await tapError(TOKENS.nobody, 'ns/shop');
    expect(e.message).toContain('User "carol" cannot watch resource "namespaces/tap" in API group "tap.meshtap.dev" in the namespace "shop"');
  });

  it('lists sidecars for `stat` only with `list sidecars`', async () => {
    const items = await listSidecars({ url: api.url, token: TOKENS.viewer, namespace: 'shop' });
    expect(items).toEqual([
      { namespace: 'shop', pod: 'web-1', workload: 'deploy/web', adminAddress: '127.0.0.1:1' },
      { namespace: 'shop', pod: 'web-2', workload: 'deploy/web', adminAddress: '127.0.0.1:1' },
    ]);
    await expect(listSidecars({ url: api.url, token: TOKENS.nobody, namespace: 'shop' })).rejects.toMatchObject({
      code: 'MT_RBAC_DENIED',
      message: expect.stringContaining('User "carol" cannot list resource "sidecars" in API group "tap.meshtap.dev" in the namespace "shop"'),
    });
  });

  it('serves the public key as base64 raw 32 bytes', async () => {
    const body = (await (await fetch(`${api.url}/v1/public-key`)).json()) as { algorithm: string; publicKey: string };
    expect(body.algorithm).toBe('Ed25519');
    expect(Buffer.from(body.publicKey, 'base64')).toHaveLength(32);
  });
});

describe('tap API bounds and cancellation', () => {
  let bounded: TapApiServer;
  let blackHole: Server;
  const sockets = new Set<import('node:net').Socket>();

  beforeAll(async () => {
    // A peer that accepts TCP and never speaks: a sidecar that hangs. The tap stays open.
    blackHole = createServer((s) => {
      sockets.add(s);
      s.on('error', () => {});
      s.on('close', () => sockets.delete(s));
    });
    await new Promise<void>((r) => blackHole.listen(0, '127.0.0.1', r));
    const f = await writeTapApiFixtures();
    bounded = await startFixtureTapApi(f.rbacDir, { maxConcurrentTaps: 1 });
    await rm(f.dir, { recursive: true, force: true });
    const port = (blackHole.address() as { port: number }).port;
    expect(await registerSidecar(bounded.url, { workload: 'deploy/web', namespace: 'shop', pod: 'web-1', tapAddress: `127.0.0.1:${port}` })).toBe(200);
  });

  afterAll(async () => {
    await bounded?.close();
    for (const s of sockets) s.destroy();
    await new Promise<void>((r) => blackHole?.close(() => r()));
  });

  const gauge = async (): Promise<number> => Number(/meshtap_tapapi_active_taps (\d+)/.exec(await (await fetch(`${bounded.url}/metrics`)).text())?.[1]);

  it('refuses taps beyond --max-taps with 429, and frees the slot when the client goes away', async () => {
    const ac = new AbortController();
    const first = await fetch(`${bounded.url}/apis/tap.meshtap.dev/v1alpha1/watch/namespaces/shop/deployments/web/tap`, {
      method: 'POST',
      headers: { authorization: `Bearer ${TOKENS.viewer}` },
      body: '{}',
      signal: ac.signal,
    });
    expect(first.status).toBe(200);
    expect(await gauge()).toBe(1);
    const second = openTapApiStream({ url: bounded.url, token: TOKENS.viewer, namespace: 'shop', target: 'deploy/web', request: { matches: [], bodies: false } });
    await expect(second.messages[Symbol.asyncIterator]().next()).rejects.toMatchObject({ code: 'MT_TAP_API_BUSY', message: expect.stringContaining('too many concurrent taps (limit 1)') });
    ac.abort(); // the client goes away: the server cancels its sidecar streams and frees the slot
    await first.body?.cancel().catch(() => {});
    await until('the tap slot freed', async () => (await gauge()) === 0);
    expect(await (await fetch(`${bounded.url}/metrics`)).text()).toMatch(/meshtap_tapapi_rejected_total\{reason="too-many-taps"\} 1/);
  });
});
