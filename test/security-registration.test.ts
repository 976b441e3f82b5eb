/**
 * Regression (registration hijack): `POST /v1/sidecars` and `DELETE /v1/sidecars/NS/POD` needed
 * no authentication, so anyone could re-register shop/web-1 at their own address, receive its
 * grants (an admin's, with bodies) and feed fake events to its tappers, or make it vanish.
 * Now both need the registration token. In process: a real tap API and a real sidecar that
 * registered itself; the hijack attempts fail and taps still reach the real sidecar. As
 * processes: `meshtap tap-api` creates the token file (0600) beside its key, a sidecar with the
 * wrong token warns once and keeps forwarding, one with the right token (by environment)
 * registers, and `--insecure-registration` is the explicit way to go without.
 */
import { createServer, type Server } from 'node:http';
import { mkdtemp, readFile, rm, stat } from 'node:fs/promises';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { generateGrantKeyPair } from '../tap-protocol/index.js';
import { type TapApiServer } from '../tap-api/server/index.js';
import { startSecurityRig, until, type SecurityRig } from './security-rig.js';
import { runMeshtap, spawnMeshtap, startSidecarProcess, type CliProcess, type SidecarProcess } from './support/meshtap-process.js';
import { REGISTRATION_TOKEN, registerSidecar, startFixtureTapApi, TOKENS, writeTapApiFixtures } from './tap-api-fixtures.js';
import { listSidecars } from '../tap-api/index.js';

const PREFIX = '/apis/tap.meshtap.dev/v1alpha1';

async function metric(url: string, reason: string): Promise<number> {
  const text = await (await fetch(`${url}/metrics`)).text();
  return Number(new RegExp(`meshtap_tapapi_rejected_total\\{reason="${reason}"\\} (\\d+)`).exec(text)?.[1] ?? 0);
}

describe('registration hijack, in process', () => {
  let api: TapApiServer;
  let rig: SecurityRig;
  let dir: string;

  beforeAll(async () => {
    const f = await writeTapApiFixtures();
    dir = f.dir;
    const keys = generateGrantKeyPair();
    api = await startFixtureTapApi(f.rbacDir, {}, keys);
    // The real shop/web-1 registers itself with the token (and learns the key from the tap API).
    rig = await startSecurityRig({ tapApi: api.url, tapApiToken: REGISTRATION_TOKEN, tapPublicKey: undefined }, keys);
    await until('web-1 registered', () => api.registry.list('shop').length === 1);
    expect(await rig.call('/real-traffic')).toBe(200);
  }, 60_000);

  afterAll(async () => {
    await rig?.close();
    await api?.close();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  const real = () => api.registry.list('shop').map((r) => `${r.pod}@${r.tapAddress}`);

  it.each([
    ['no token', null],
    ['a wrong token', 'reg-token-guessed-0000000000'],
    ["a user's tap token (tokens are not interchangeable)", TOKENS.admin],
  ])('re-registering shop/web-1 at another address with %s is refused (401) and changes nothing', async (_what, token) => {
    const before = await metric(api.url, 'registration-unauthorized');
    const hijack = { workload: 'deploy/web', namespace: 'shop', pod: 'web-1', tapAddress: '127.0.0.1:9' };
    expect(await registerSidecar(api.url, hijack, token)).toBe(401);
    expect(real()).toEqual([`web-1@${rig.sidecar.tapAddress}`]);
    expect(await metric(api.url, 'registration-unauthorized')).toBe(before + 1);
  });

  it('says goodbye for shop/web-1 without the token: refused (401), web-1 stays', async () => {
    for (const headers of [{}, { authorization: 'Bearer reg-token-guessed-0000000000' }] as Array<Record<string, string>>) {
      const r = await fetch(`${api.url}/v1/sidecars/shop/web-1`, { method: 'DELETE', headers });
      expect(r.status).toBe(401);
      expect(((await r.json()) as { message: string }).message).toMatch(/registration token/);
    }
    expect(real()).toEqual([`web-1@${rig.sidecar.tapAddress}`]);
  });

  it('taps still reach the real sidecar (no fake events), and the token still registers new pods', async () => {
    const res = await fetch(`${api.url}${PREFIX}/watch/namespaces/shop/deployments/web/tap`, {
      method: 'POST',
      headers: { authorization: `Bearer ${TOKENS.viewer}`, 'content-type': 'application/json' },
      body: JSON.stringify({ last: 10 }),
      signal: AbortSignal.timeout(20_000),
    });
    expect(res.status).toBe(200);
    expect(await res.text()).toContain('/real-traffic');
    expect(await registerSidecar(api.url, { namespace: 'shop', pod: 'web-9', tapAddress: '127.0.0.1:9' })).toBe(200);
  });
});

describe('registration token, as processes', () => {
  let dir: string;
  let tapApi: CliProcess | undefined;
  let backend: Server;
  const sidecars: SidecarProcess[] = [];

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'meshtap-regtoken-'));
    const f = await writeTapApiFixtures();
    backend = createServer((_req, res) => res.end('ok'));
    await new Promise<void>((r) => backend.listen(0, '127.0.0.1', r));
    tapApi = spawnMeshtap(['tap-api', '--listen', '127.0.0.1:0', '--tokens', f.tokensPath, '--rbac', f.rbacDir, '--key', join(dir, 'keys', 'tap-api.key')], { timeoutMs: 300_000 });
    await tapApi.waitForStderr(/^ready$/m, 30_000);
  }, 60_000);

  afterAll(async () => {
    await Promise.all(sidecars.map((s) => s.stop()));
    tapApi?.kill('SIGKILL');
    await tapApi?.done;
    await new Promise<void>((r) => backend?.close(() => r()));
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  const url = (): string => /listening (http:\/\/\S+)/.exec(tapApi!.stderr())![1]!;
  const proxyArgs = (pod: string) => [
    '--forward', `127.0.0.1:0=127.0.0.1:${(backend.address() as AddressInfo).port}`,
    '--tap', '127.0.0.1:0', '--namespace', 'shop', '--workload', 'deploy/web', '--pod', pod, '--tap-api', url(),
  ];

  it('meshtap tap-api creates a 0600 token of 32 random bytes beside its key and says where', async () => {
    const path = join(dir, 'keys', 'registration.token');
    expect(tapApi!.stderr()).toContain(`registration token file ${path}`);
    expect((await stat(path)).mode & 0o777).toBe(0o600);
    expect(await readFile(path, 'utf8')).toMatch(/^[0-9a-f]{64}\n$/);
    expect(tapApi!.stderr()).not.toContain((await readFile(path, 'utf8')).trim());
  });

  it('a sidecar with the wrong token is refused, warns once (not per attempt), and keeps forwarding', async () => {
    const s = await startSidecarProcess([...proxyArgs('web-1'), '--tap-api-token', 'reg-token-wrong-000000000000'], { env: { MESHTAP_TAP_API_TOKEN: '' } });
    sidecars.push(s);
    const start = await metric(url(), 'registration-unauthorized');
    await until('a second refused attempt', async () => (await metric(url(), 'registration-unauthorized')) >= start + 2, { timeoutMs: 60_000, intervalMs: 100, detail: () => `sidecar stderr: ${s.stderr()}` });
    const warnings = s.stderr().split('\n').filter((l) => l.includes('registration starting -> refused'));
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toContain('MESHTAP_TAP_API_TOKEN');
    expect(s.stderr()).not.toContain('reg-token-wrong');
    const res = await fetch(`http://${s.forwards[0]!.address}/still-forwarding`);
    expect(res.status).toBe(200);
    expect(await res.text()).toBe('ok');
    expect(await listSidecars({ url: url(), token: TOKENS.viewer, namespace: 'shop' })).toEqual([]);
  }, 90_000);

  it('a sidecar with the right token (MESHTAP_TAP_API_TOKEN) registers', async () => {
    const token = (await readFile(join(dir, 'keys', 'registration.token'), 'utf8')).trim();
    const s = await startSidecarProcess(proxyArgs('web-2'), { env: { MESHTAP_TAP_API_TOKEN: token } });
    sidecars.push(s);
    await until('registered', async () => (await listSidecars({ url: url(), token: TOKENS.viewer, namespace: 'shop' })).length > 0, { timeoutMs: 30_000, intervalMs: 100, detail: () => `sidecar stderr: ${s.stderr()}` });
    expect((await listSidecars({ url: url(), token: TOKENS.viewer, namespace: 'shop' })).map((x) => x.pod)).toEqual(['web-2']);
  }, 60_000);

  it('--insecure-registration is the explicit way to accept registrations without a token', async () => {
    const f = await writeTapApiFixtures();
    const open = spawnMeshtap(['tap-api', '--listen', '127.0.0.1:0', '--tokens', f.tokensPath, '--rbac', f.rbacDir, '--key', f.keyPath, '--insecure-registration'], { timeoutMs: 120_000 });
    try {
      await open.waitForStderr(/^ready$/m, 30_000);
      expect(open.stderr()).toContain('registration INSECURE');
      const openUrl = /listening (http:\/\/\S+)/.exec(open.stderr())![1]!;
      expect(await registerSidecar(openUrl, { namespace: 'shop', pod: 'web-1', tapAddress: '127.0.0.1:9' }, null)).toBe(200);
    } finally {
      open.kill('SIGKILL');
      await open.done;
      await rm(f.dir, { recursive: true, force: true });
    }
  }, 60_000);

  it('refuses a token file that holds no usable secret, and conflicting flags, with one clear line', async () => {
    const f = await writeTapApiFixtures();
    try {
      const { writeFile } = await import('node:fs/promises');
      await writeFile(join(f.dir, 'short.token'), 'abc\n', { mode: 0o600 });
      const base = ['tap-api', '--listen', '127.0.0.1:0', '--tokens', f.tokensPath, '--rbac', f.rbacDir, '--key', f.keyPath];
      const short = await runMeshtap([...base, '--registration-token-file', join(f.dir, 'short.token')]);
      expect(short.code).toBe(1);
      expect(short.stderr).toMatch(/registration token in .*short\.token must be at least 16 characters/);
      const both = await runMeshtap([...base, '--registration-token-file', join(f.dir, 'short.token'), '--insecure-registration']);
      expect(both.code).toBe(2);
      expect(both.stderr).toContain('exclude each other');
    } finally {
      await rm(f.dir, { recursive: true, force: true });
    }
  }, 60_000);
});
