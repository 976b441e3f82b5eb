/**
 * Regression (issue 11 item 4, "a running `tap deploy/web` never sees pods that start after it"):
 * a live tap follows its target's membership, as during a rollout. Local mode end to end: a
 * `meshtap tap-api` process, `meshtap proxy` sidecars registering with it, and the real CLI;
 * a pod that starts after the tap is tapped (and announced on stderr), a pod that stops is
 * reported ("pod web-1 went away; still tapping 1 pod") and the tap goes on.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { TapEvent } from '../tap-protocol/index.js';
import { spawnMeshtap, startSidecarProcess, type CliProcess, type SidecarProcess } from './support/meshtap-process.js';
import { TOKENS, writeTapApiFixtures } from './tap-api-fixtures.js';
import { actUntil } from './support/until.js';

let fixtures: Awaited<ReturnType<typeof writeTapApiFixtures>>;
let tapApi: CliProcess;
let tapApiUrl = '';
let backend: Server;
let registrationToken = '';
const sidecars: SidecarProcess[] = [];

function sidecar(pod: string): Promise<SidecarProcess> {
  return startSidecarProcess(
    ['--forward', `127.0.0.1:0=127.0.0.1:${(backend.address() as AddressInfo).port}`, '--tap', '127.0.0.1:0', '--admin', '127.0.0.1:0',
      '--workload', 'deploy/web', '--namespace', 'shop', '--pod', pod, '--tap-api', tapApiUrl, '--tap-require-grant'],
    { env: { MESHTAP_TAP_API_TOKEN: registrationToken } },
  ).then((s) => (sidecars.push(s), s));
}

async function call(s: SidecarProcess, path: string): Promise<void> {
  const res = await fetch(`http://${s.forwards[0]!.address}${path}`);
  await res.text();
}

beforeAll(async () => {
  fixtures = await writeTapApiFixtures();
  backend = createServer((_req, res) => res.end('ok'));
  await new Promise<void>((r) => backend.listen(0, '127.0.0.1', r));
  tapApi = spawnMeshtap(['tap-api', '--listen', '127.0.0.1:0', '--tokens', fixtures.tokensPath, '--rbac', fixtures.rbacDir, '--key', fixtures.keyPath], { timeoutMs: 300_000 });
  await tapApi.waitForStderr(/ready/);
  tapApiUrl = /listening (http:\/\/\S+)/.exec(tapApi.stderr())![1]!;
  registrationToken = (await readFile(join(fixtures.dir, 'registration.token'), 'utf8')).trim();
}, 60_000);

afterAll(async () => {
  await Promise.all(sidecars.map((s) => s.stop()));
  tapApi?.kill('SIGKILL');
  await tapApi?.done;
  await new Promise((r) => backend?.close(r));
  if (fixtures) await rm(fixtures.dir, { recursive: true, force: true });
});

describe('a live tap follows its target (local registrations)', { timeout: 90_000 }, () => {
  it('pods that start after it are tapped; pods that leave are reported on stderr', async () => {
    const web1 = await sidecar('web-1');
    // Wait until web-1 is registered: the tap must start with it alone.
    const cli = spawnMeshtap(['tap', 'deploy/web', '-n', 'shop', '-o', 'json', '--tap-api', tapApiUrl, '--token', TOKENS.viewer], { timeoutMs: 80_000 });
    const ends = (): TapEvent[] => cli.stdout().split('\n').filter(Boolean).map((l) => JSON.parse(l) as TapEvent).filter((e) => e.kind === 'end');
    /** Sends through a sidecar until the tap printed what `check` looks for. */
    const sendUntil = (what: string, check: () => boolean, send: () => Promise<void>) =>
      actUntil(what, check, send, { timeoutMs: 30_000, intervalMs: 100, detail: () => `stderr: ${cli.stderr()}` });
    await sendUntil('web-1 traffic', () => ends().some((e) => e.pod === 'web-1'), () => call(web1, '/one'));
    expect(cli.stderr()).toBe('');

    const web2 = await sidecar('web-2');
    await cli.waitForStderr(/^meshtap: pod web-2 joined; tapping 2 pods$/m, 20_000);
    await sendUntil('web-2 traffic', () => ends().some((e) => e.pod === 'web-2' && e.path === '/two'), () => call(web2, '/two'));

    await web1.stop();
    await cli.waitForStderr(/^meshtap: pod web-1 went away; still tapping 1 pod$/m, 20_000);
    const before = ends().length;
    await sendUntil('traffic after web-1 left', () => ends().length > before, () => call(web2, '/still'));
    expect(cli.stderr().match(/web-1 went away/g)).toHaveLength(1);
    cli.kill('SIGTERM');
    const r = await cli.done;
    // SIGTERM is the user's doing: a quiet exit, no "the tap API went away".
    expect(r.code).toBe(0);
    expect(r.stderr).not.toMatch(/went away \(|tap API/);
  });
});
