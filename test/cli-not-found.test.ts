/**
 * Regressions (session 9 walk-through): `meshtap routes deploy/nope` printed "no requests served"
 * and exited 0, as if the workload existed and were idle (kubectl fails on a missing object);
 * `edges deploy/nope` did the same; and `stat deploy/wbe` / `routes deploy/wbe` gave no "did you
 * mean", which `tap deploy/wbe` gives; `tap pod/web` (a workload's name given as a pod's) gave
 * none either. On the demo mesh through a real local tap API: a workload
 * with no meshed pods is one line on stderr, exit 1, naming the nearest workload of its kind when
 * one is near; an existing but idle workload still exits 0.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startDemoControlPlane, startDemoMesh, type DemoControlPlane, type DemoMesh } from '../demo/index.js';
import { runMeshtap } from './support/meshtap-process.js';
import { until } from './support/until.js';
import { PROJECT_ENGINE } from './support/engines.js';

let dir: string;
let cp: DemoControlPlane;
let mesh: DemoMesh;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'mt-not-found-'));
  cp = await startDemoControlPlane(dir);
  // No traffic: every workload exists and is idle.
  mesh = await startDemoMesh({ rps: 0, tapApi: cp.tapApi.url, tapApiToken: cp.registrationToken, engine: PROJECT_ENGINE });
  await until("the demo's three sidecars registered", () => cp.tapApi.registry.list('emojivoto').length >= 3, 20_000);
}, 60_000);

afterAll(async () => {
  await mesh?.close();
  await cp?.tapApi.close();
  if (dir) await rm(dir, { recursive: true, force: true });
});

const cli = (args: string[]) => runMeshtap([...args, '-n', 'emojivoto', '--tap-api', cp.tapApi.url, '--token', cp.viewerToken]);
const oneLine = (text: RegExp) => new RegExp(`^meshtap: ${text.source}\\n$`);

describe('a workload that does not exist', () => {
  it.each([
    [['routes', 'deploy/wbe'], /no meshed pods found for deploy\/wbe in namespace "emojivoto"; did you mean deploy\/web\?/],
    [['routes', 'deploy/web', '--to', 'deploy/votign'], /no meshed pods found for deploy\/votign in namespace "emojivoto"; did you mean deploy\/voting\?/],
    [['routes', 'deploy/zzzzzzzz'], /no meshed pods found for deploy\/zzzzzzzz in namespace "emojivoto"/],
    [['edges', 'deploy/wbe'], /no meshed pods found for deploy\/wbe in namespace "emojivoto"; did you mean deploy\/web\?/],
    [['tap', 'pod/web'], /no meshed pods found for pod\/web in namespace "emojivoto": .*; did you mean deploy\/web\?/],
    [['stat', 'deploy/wbe', '-t', '1m'], /no meshed pods found for deploy\/wbe in namespace "emojivoto"; did you mean deploy\/web\?/],
    [['stat', 'deploy/web', 'deploy/emjoi', '-t', '1m'], /no meshed pods found for deploy\/emjoi in namespace "emojivoto"; did you mean deploy\/emoji\?/],
  ])('meshtap %j fails in one line, exit 1', async (args, message) => {
    const r = await cli(args);
    expect({ code: r.code, stderr: r.stderr, stdout: r.stdout }).toEqual({ code: 1, stderr: expect.stringMatching(oneLine(message)), stdout: '' });
  }, 30_000);

  it('an existing workload with no requests is not an error', async () => {
    const routes = await cli(['routes', 'deploy/emoji', '-t', '10s']);
    expect([routes.code, routes.stderr]).toEqual([0, expect.stringMatching(/^meshtap: no requests served by deploy\/emoji/)]);
    const edges = await cli(['edges', 'deploy/emoji', '-t', '10s']);
    expect(edges.code).toBe(0);
  }, 30_000);
});

describe('a kind with no meshed workload in the namespace (kubectl: "No resources found in default namespace.")', () => {
  // Regression (sec10): `stat deploy` without -n waited its whole window, then said only that
  // nothing was found in "default", not that the demo's deployments are in emojivoto.
  it('stat deploy without -n says so before its window, and where they are', async () => {
    const r = await runMeshtap(['stat', 'deploy', '-t', '1m', '--tap-api', cp.tapApi.url, '--token', cp.viewerToken]);
    expect({ code: r.code, stderr: r.stderr, stdout: r.stdout }).toEqual({
      code: 1,
      stderr: 'meshtap: No resources found in default namespace. Meshed deployments are in namespace emojivoto: add -n emojivoto (or -A for every namespace).\n',
      stdout: '',
    });
  }, 30_000);
});
