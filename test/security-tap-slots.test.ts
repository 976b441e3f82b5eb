/**
 * Regression (tap slot exhaustion): `maxConcurrentTaps` (64) was the only bound, so one user
 * could hold every slot and lock everyone else out. Now each user has at most
 * `maxTapsPerUser` (default 8): the 9th concurrent tap of one user is a 429 naming the limit
 * (counted), while another user still gets in, and a slot comes back when a tap ends.
 *
 * Real tap API; the "sidecar" accepts TCP and never answers, so every tap stays open.
 */
import { rm } from 'node:fs/promises';
import { createServer, type Server, type Socket } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TAP_API_DEFAULTS, type TapApiServer } from '../tap-api/server/index.js';
import { registerSidecar, startFixtureTapApi, TOKENS, writeTapApiFixtures } from './tap-api-fixtures.js';
import { until } from './support/until.js';

const TAP = '/apis/tap.meshtap.dev/v1alpha1/watch/namespaces/shop/deployments/web/tap';

let api: TapApiServer;
let blackHole: Server;
const sockets = new Set<Socket>();
const open: AbortController[] = [];

beforeAll(async () => {
  blackHole = createServer((s) => {
    sockets.add(s);
    s.on('error', () => {});
    s.on('close', () => sockets.delete(s));
  });
  await new Promise<void>((r) => blackHole.listen(0, '127.0.0.1', r));
  const f = await writeTapApiFixtures();
  api = await startFixtureTapApi(f.rbacDir); // default bounds: 64 in all, 8 per user
  await rm(f.dir, { recursive: true, force: true });
  const port = (blackHole.address() as { port: number }).port;
  expect(await registerSidecar(api.url, { workload: 'deploy/web', namespace: 'shop', pod: 'web-1', tapAddress: `127.0.0.1:${port}` })).toBe(200);
});

afterAll(async () => {
  for (const ac of open) ac.abort();
  await api?.close();
  for (const s of sockets) s.destroy();
  await new Promise<void>((r) => blackHole?.close(() => r()));
});

/** Opens a tap that stays open; resolves with its status (and its body, when refused). */
async function openTap(token: string): Promise<{ status: number; message?: string; ac: AbortController }> {
  const ac = new AbortController();
  open.push(ac);
  const res = await fetch(`${api.url}${TAP}`, { method: 'POST', headers: { authorization: `Bearer ${token}` }, body: '{}', signal: ac.signal });
  if (res.status === 200) return { status: 200, ac };
  return { status: res.status, message: ((await res.json()) as { message: string }).message, ac };
}

const rejected = async (): Promise<number> =>
  Number(/meshtap_tapapi_rejected_total\{reason="too-many-taps-per-user"\} (\d+)/.exec(await (await fetch(`${api.url}/metrics`)).text())?.[1] ?? 0);
const active = async (): Promise<number> => Number(/meshtap_tapapi_active_taps (\d+)/.exec(await (await fetch(`${api.url}/metrics`)).text())?.[1]);

describe('per-user tap bound', () => {
  it('the 9th concurrent tap of one user is refused (429 naming the limit) while another user still gets in', async () => {
    expect(TAP_API_DEFAULTS.maxTapsPerUser).toBe(8);
    const alice: Array<{ status: number; ac: AbortController }> = [];
    for (let i = 0; i < 8; i++) alice.push(await openTap(TOKENS.viewer));
    expect(alice.map((t) => t.status)).toEqual(Array(8).fill(200));

    const ninth = await openTap(TOKENS.viewer);
    expect(ninth.status).toBe(429);
    expect(ninth.message).toBe('too many concurrent taps for user "alice" (limit 8 per user, --max-taps-per-user); end one of your taps or try again later');
    expect(await rejected()).toBe(1);

    const bob = await openTap(TOKENS.admin);
    expect(bob.status).toBe(200);
    expect(await active()).toBe(9);

    // One of alice's taps ends: she gets a slot back.
    alice[0]!.ac.abort();
    await until('the tap slot freed', async () => (await active()) === 8);
    expect((await openTap(TOKENS.viewer)).status).toBe(200);
    expect(await rejected()).toBe(1);
  }, 60_000);
});
