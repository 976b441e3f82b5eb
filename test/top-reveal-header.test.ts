/**
 * Regression (session 7 walk-through): `meshtap top --help` says a `--header` filter on a redacted
 * header needs `--reveal-header NAME` too, but top had no `--reveal-header`, so `top --header
 * authorization=…` could never run. Through the real demo tap API and sidecars: with it, the user
 * holding the body permission gets the rows of exactly that header value; without it, a one-line
 * usage error before anything is contacted (review10 #9: it was the tap API's refusal, exit 1; the
 * tap API's own check is test/security-tap-api); a user without the body permission, the
 * permission it lacks.
 */
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { request } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startDemoControlPlane, startDemoMesh, type DemoControlPlane, type DemoMesh } from '../demo/index.js';
import { PROJECT_ENGINE } from './support/engines.js';
import { runMeshtap, spawnMeshtap } from './support/meshtap-process.js';
import { until } from './support/until.js';

let dir: string;
let cp: DemoControlPlane;
let mesh: DemoMesh;
const secret = `Bearer s7-${randomBytes(12).toString('hex')}`;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'meshtap-top-reveal-'));
  cp = await startDemoControlPlane(dir);
  mesh = await startDemoMesh({ rps: 0, tapApi: cp.tapApi.url, tapApiToken: cp.registrationToken, engine: PROJECT_ENGINE });
  await until("the demo's sidecars registered", () => cp.tapApi.registry.list('emojivoto').length >= 3, 5_000);
}, 60_000);

afterAll(async () => {
  await mesh?.close();
  await cp?.tapApi.close();
  if (dir) await rm(dir, { recursive: true, force: true });
});

const env = (token: string): NodeJS.ProcessEnv => ({ MESHTAP_TAP_API: cp.tapApi.url, MESHTAP_TOKEN: token, MESHTAP_CONFIG: undefined });

async function send(path: string, authorization: string): Promise<void> {
  const r = await request(`http://${mesh.web.inbound}${path}`, { headers: { authorization } });
  await r.body.dump();
}

describe('top --reveal-header', () => {
  it('lets --header filter on a sensitive header, for a user with the body permission', async () => {
    const top = spawnMeshtap(['top', 'deploy/web', '-n', 'emojivoto', '--header', `authorization=${secret}`, '--reveal-header', 'authorization', '--limit', '2', '-o', 'json'], {
      env: env(cp.adminToken),
    });
    // Requests with another credential first and between: only the matching ones may be counted.
    let finished = false;
    void top.done.then(() => (finished = true));
    while (!finished) {
      await send('/other', 'Bearer someone-else');
      await send('/mine', secret);
    }
    const r = await top.done;
    expect({ code: r.code, stderr: r.stderr }).toEqual({ code: 0, stderr: '' });
    const rows = JSON.parse(r.stdout) as Array<{ path: string; count: number }>;
    expect(rows.map((x) => x.path)).toEqual(['/mine']);
    expect(rows[0]!.count).toBe(2);
  }, 60_000);

  it('without it the CLI refuses the filter (exit 2); without the permission, it says which is missing', async () => {
    const bare = await runMeshtap(['top', 'deploy/web', '-n', 'emojivoto', '--header', `authorization=${secret}`, '--limit', '1'], { env: env(cp.adminToken) });
    expect({ code: bare.code, stdout: bare.stdout }).toEqual({ code: 2, stdout: '' });
    expect(bare.stderr).toMatch(/^meshtap: top: --header authorization=… filters on a header the tap shows redacted; add --reveal-header authorization \(needs the tap-bodies permission\)\n$/);
    const viewer = await runMeshtap(['top', 'deploy/web', '-n', 'emojivoto', '--header', `authorization=${secret}`, '--reveal-header', 'authorization', '--limit', '1'], {
      env: env(cp.viewerToken),
    });
    expect({ code: viewer.code, stdout: viewer.stdout }).toEqual({ code: 1, stdout: '' });
    expect(viewer.stderr).toMatch(/^meshtap: .*"demo-viewer" cannot watch resource "deployments\/tap-bodies"/);
  }, 60_000);
});
