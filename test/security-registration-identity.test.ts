/**
 * Registration identity (issue 10 item 4, issue 11 item 3), with a real `meshtap tap-api`
 * process and real `meshtap proxy` sidecars:
 * - a holder of the registration token cannot take over (replace or remove) a live pod's
 *   registration from another instance: 409 naming the holder, taps still reach the real pod;
 * - a real restart still works: after a clean stop at once, after `kill -9` once the TTL ran out;
 * - two local replicas started without --pod get distinct pod names, and `meshtap tap deploy/web`
 *   shows both; two sidecars given the same --pod: the second is refused, loudly on both ends;
 * - when every pod's stream ends, the tap error names the sidecar that failed, not
 *   "the tap API went away" while the tap API is up.
 */
import { createServer, type Server } from 'node:http';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { listSidecars } from '../tap-api/index.js';
import { runMeshtap, spawnMeshtap, startSidecarProcess, type CliProcess, type SidecarProcess } from './support/meshtap-process.js';
import { REGISTRATION_TOKEN, TOKENS, writeTapApiFixtures } from './tap-api-fixtures.js';
import { scrape, sumMetric } from './support/metrics-scrape.js';
import { until as untilCondition } from './support/until.js';

let dir: string;
let tapApi: CliProcess;
let backend: Server;
let url: string;
let regToken: string;
const sidecars: SidecarProcess[] = [];

beforeAll(async () => {
  const f = await writeTapApiFixtures();
  dir = f.dir;
  backend = createServer((req, res) => res.end(`ok ${req.url}`));
  await new Promise<void>((r) => backend.listen(0, '127.0.0.1', r));
  tapApi = spawnMeshtap(['tap-api', '--listen', '127.0.0.1:0', '--tokens', f.tokensPath, '--rbac', f.rbacDir, '--key', f.keyPath, '--sidecar-ttl', '3s'], {
    timeoutMs: 300_000,
  });
  await tapApi.waitForStderr(/^ready$/m, 30_000);
  url = /listening (http:\/\/\S+)/.exec(tapApi.stderr())![1]!;
  regToken = (await readFile(join(dir, 'registration.token'), 'utf8')).trim();
}, 60_000);

afterEach(async () => {
  await Promise.all(sidecars.splice(0).map((s) => s.stop()));
});

afterAll(async () => {
  tapApi?.kill('SIGKILL');
  await tapApi?.done;
  await new Promise<void>((r) => backend?.close(() => r()));
  if (dir) await rm(dir, { recursive: true, force: true });
});

function startSidecar(more: string[] = []): Promise<SidecarProcess> {
  return startSidecarProcess(
    ['--forward', `127.0.0.1:0=127.0.0.1:${(backend.address() as AddressInfo).port}`, '--tap', '127.0.0.1:0', '--admin', '127.0.0.1:0', '--namespace', 'shop', '--workload', 'deploy/web', '--tap-api', url, ...more],
    { env: { MESHTAP_TAP_API_TOKEN: regToken, MESHTAP_POD_NAME: '' } },
  ).then((s) => {
    sidecars.push(s);
    return s;
  });
}

/** Which sidecar process holds shop/POD (by its admin address), if any. */
const holderOf = async (pod: string): Promise<string | undefined> => (await listSidecars({ url, token: TOKENS.viewer, namespace: 'shop' })).find((x) => x.pod === pod)?.adminAddress;

/** A counter on the tap API's own /metrics, summed over the series with `labels`. */
const tapApiCounter = async (name: string, labels: Record<string, string>): Promise<number> => sumMetric(await scrape(new URL(url).host), name, labels);

const pods = async (): Promise<string[]> => (await listSidecars({ url, token: TOKENS.viewer, namespace: 'shop' })).map((x) => x.pod);

/** Polls `cond`; on timeout the error carries the tap API's stderr. */
const until = (what: string, cond: () => Promise<boolean>, timeoutMs = 30_000): Promise<void> =>
  untilCondition(what, cond, { timeoutMs, intervalMs: 100, detail: () => `tap API stderr: ${tapApi.stderr().slice(-2000)}` });

function post(body: Record<string, unknown>): Promise<{ status: number; message: string }> {
  return fetch(`${url}/v1/sidecars`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${regToken}` },
    body: JSON.stringify(body),
  }).then(async (r) => ({ status: r.status, message: ((await r.json()) as { message?: string }).message ?? '' }));
}

describe('registration identity (real tap API and sidecar processes)', { timeout: 120_000 }, () => {
  it('regression (registration takeover): the token holder cannot replace or remove a live registration from another instance', async () => {
    const real = await startSidecar(['--pod', 'web-1']);
    await until('web-1 registered', async () => (await pods()).includes('web-1'));
    expect(REGISTRATION_TOKEN).not.toBe(regToken); // the process made its own token
    const hijack = await post({ workload: 'deploy/web', namespace: 'shop', pod: 'web-1', tapAddress: '127.0.0.1:9', instanceKey: 'an-impostor-instance-key-000001' });
    expect(hijack.status).toBe(409);
    expect(hijack.message).toContain(`pod shop/web-1 is already registered by another live sidecar (tap address ${real.tap}`);
    expect((await post({ workload: 'deploy/web', namespace: 'shop', pod: 'web-1', tapAddress: '127.0.0.1:9' })).status).toBe(400);
    const bye = await fetch(`${url}/v1/sidecars/shop/web-1`, { method: 'DELETE', headers: { authorization: `Bearer ${regToken}`, 'x-meshtap-instance-key': 'an-impostor-instance-key-000001' } });
    expect(bye.status).toBe(409);
    expect(await pods()).toEqual(['web-1']);
    expect(tapApi.stderr()).toContain('refused to register pod shop/web-1');
    // Taps still reach the real sidecar.
    await fetch(`http://${real.forwards[0]!.address}/real`).then((r) => r.text());
    const tap = await runMeshtap(['tap', 'deploy/web', '-n', 'shop', '--tap-api', url, '--token', TOKENS.viewer, '--last', '5', '-o', 'json']);
    expect([tap.code, tap.stderr]).toEqual([0, '']);
    expect(tap.stdout).toContain('"path":"/real"');
  });

  it('a real restart still works: at once after a clean stop, within the TTL after kill -9', async () => {
    const first = await startSidecar(['--pod', 'web-1']);
    await until('web-1 registered', async () => (await pods()).includes('web-1'));
    await first.stop(); // SIGTERM: says goodbye
    sidecars.splice(sidecars.indexOf(first), 1);
    const second = await startSidecar(['--pod', 'web-1']);
    await until('the restarted web-1 registered', async () => (await holderOf('web-1')) === second.admin, 10_000);
    expect(second.stderr()).not.toContain('-> conflict');
    second.child.kill('SIGKILL'); // no goodbye: the registration lives until its TTL (3s) runs out
    await new Promise((r) => second.child.once('exit', r));
    sidecars.splice(sidecars.indexOf(second), 1);
    const third = await startSidecar(['--pod', 'web-1']);
    // Refused while the killed one's registration lives (it says so), then registered once that expired.
    await until('the third sidecar registered after the TTL', async () => (await holderOf('web-1')) === third.admin, 20_000);
    expect(await pods()).toEqual(['web-1']);
  });

  it('regression (two local replicas register as one pod): without --pod each sidecar gets its own name and tap deploy/web shows both', async () => {
    const a = await startSidecar();
    const b = await startSidecar();
    await until('both registered', async () => (await pods()).length === 2);
    const names = await pods();
    expect(names[0]).not.toBe(names[1]);
    for (const n of names) expect(n).toMatch(/-\d+$/);
    await fetch(`http://${a.forwards[0]!.address}/from-a`).then((r) => r.text());
    await fetch(`http://${b.forwards[0]!.address}/from-b`).then((r) => r.text());
    const tap = await runMeshtap(['tap', 'deploy/web', '-n', 'shop', '--tap-api', url, '--token', TOKENS.viewer, '--last', '5', '-o', 'json']);
    expect([tap.code, tap.stderr]).toEqual([0, '']);
    const seen = tap.stdout.trim().split('\n').map((l) => JSON.parse(l) as { pod: string; path: string });
    expect(seen.map((e) => `${e.pod} ${e.path}`).sort()).toEqual([`${names.find((n) => n.endsWith(`-${a.child.pid}`))} /from-a`, `${names.find((n) => n.endsWith(`-${b.child.pid}`))} /from-b`].sort());
  });

  it('regression (same pod name from two sidecars): the second is refused (409) and says so loudly; the first keeps its registration', async () => {
    const a = await startSidecar(['--pod', 'web-1']);
    await until('web-1 registered', async () => (await pods()).includes('web-1'));
    const b = await startSidecar(['--pod', 'web-1']);
    await until('the second sidecar reports the conflict', async () => b.stderr().includes('-> conflict'));
    const line = b.stderr().split('\n').find((l) => l.includes('-> conflict'))!;
    expect(line).toContain('"level":"error"');
    expect(line).toContain(`pod shop/web-1 is already registered by another live sidecar (tap address ${a.tap}`);
    expect(line).toContain('--pod or MESHTAP_POD_NAME');
    // No flip-flop: the first sidecar's heartbeats go on (it beats every TTL/3 = 1 s) and the
    // second's retries (every 2 s) keep being refused, counted on the tap API's /metrics.
    const beats = await tapApiCounter('meshtap_tapapi_registrations_total', { kind: 'heartbeat' });
    const refused = await tapApiCounter('meshtap_tapapi_rejected_total', { reason: 'registration-conflict' });
    await until('two more heartbeats of web-1 and one more refused retry of the second sidecar', async () =>
      (await tapApiCounter('meshtap_tapapi_registrations_total', { kind: 'heartbeat' })) >= beats + 2 &&
      (await tapApiCounter('meshtap_tapapi_rejected_total', { reason: 'registration-conflict' })) >= refused + 1);
    const list = await listSidecars({ url, token: TOKENS.viewer, namespace: 'shop' });
    expect(list.map((x) => x.pod)).toEqual(['web-1']);
    expect(await holderOf('web-1')).toBe(a.admin);
    await fetch(`http://${a.forwards[0]!.address}/only-a`).then((r) => r.text());
    const tap = await runMeshtap(['tap', 'pod/web-1', '-n', 'shop', '--tap-api', url, '--token', TOKENS.viewer, '--last', '1', '-o', 'json']);
    expect(tap.stdout).toContain('"path":"/only-a"');
  });

  it('regression (tap error blames the tap API): when every pod stream fails, the error names the pod and its sidecar', async () => {
    const s = await startSidecar(['--pod', 'web-1', '--tap-require-grant', '--tap-public-key', Buffer.alloc(32, 7).toString('base64')]);
    await until('web-1 registered', async () => (await pods()).includes('web-1'));
    const tap = await runMeshtap(['tap', 'deploy/web', '-n', 'shop', '--tap-api', url, '--token', TOKENS.viewer]);
    expect(tap.code).toBe(1);
    expect(tap.stderr).not.toContain('went away');
    expect(tap.stderr).toContain(`pod web-1 (sidecar tap ${s.tap})`);
    expect(tap.stderr).toMatch(/PERMISSION_DENIED: MT_GRANT_/);
  });
});
