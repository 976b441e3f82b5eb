/**
 * `meshtap edges` and `meshtap routes` on the demo mesh (issue 15): web calls emoji and voting
 * over gRPC, and an unmeshed client (this test) calls web. Traffic is sent by the test, so the
 * edges and their counts are known exactly.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { request } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startDemoControlPlane, startDemoMesh, type DemoControlPlane, type DemoMesh } from '../demo/index.js';
import type { EdgeList, RouteList } from '../tap-api/index.js';
import { runMeshtap } from './support/meshtap-process.js';
import { until } from './support/until.js';
import { PROJECT_ENGINE } from './support/engines.js';

let dir: string;
let cp: DemoControlPlane;
let mesh: DemoMesh;
const SENT = { list: 5, leaderboard: 3, voteTaco: 4, voteDoughnut: 2 };

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'mt-edges-demo-'));
  cp = await startDemoControlPlane(dir);
  mesh = await startDemoMesh({ rps: 0, tapApi: cp.tapApi.url, tapApiToken: cp.registrationToken, engine: PROJECT_ENGINE });
  await until('the demo\'s three sidecars registered', () => cp.tapApi.registry.list('emojivoto').length >= 3, 10_000);
  const get = async (path: string) => (await request(`http://${mesh.web.inbound}${path}`)).body.dump();
  for (let i = 0; i < SENT.list; i++) await get('/api/list');
  for (let i = 0; i < SENT.leaderboard; i++) await get('/api/leaderboard');
  for (let i = 0; i < SENT.voteTaco; i++) await get('/api/vote?choice=%3Ataco%3A');
  for (let i = 0; i < SENT.voteDoughnut; i++) await get('/api/vote?choice=%3Adoughnut%3A');
}, 30_000);

afterAll(async () => {
  await mesh?.close();
  await cp?.tapApi.close();
  if (dir) await rm(dir, { recursive: true, force: true });
});

/** A window longer than the test, so everything sent in beforeAll stays inside it. */
const cli = (args: string[], token = cp.viewerToken) => runMeshtap([...args, '-t', '30m', '--tap-api', cp.tapApi.url, '--token', token]);

describe('meshtap edges on the demo mesh', () => {
  it('shows exactly the true edges, each request counted once', async () => {
    const r = await cli(['edges', 'deploy', '-n', 'emojivoto', '-o', 'json']);
    expect(r.code, r.stderr).toBe(0);
    const list = JSON.parse(r.stdout) as EdgeList;
    const total = SENT.list + SENT.leaderboard + SENT.voteTaco + SENT.voteDoughnut;
    const summary = list.items.map((e) => ({ src: e.src.workload ?? e.src.address, dst: e.dst.workload ?? e.dst.address, requests: e.requests, protocols: e.protocols, observedBy: e.observedBy }));
    expect(summary).toEqual([
      // /api/list → ListAll; /api/vote → FindByShortcode (then Vote)
      { src: 'deploy/web', dst: 'deploy/emoji', requests: SENT.list + SENT.voteTaco + SENT.voteDoughnut, protocols: ['grpc'], observedBy: 'outbound' },
      // /api/leaderboard → Results; /api/vote → Vote
      { src: 'deploy/web', dst: 'deploy/voting', requests: SENT.leaderboard + SENT.voteTaco + SENT.voteDoughnut, protocols: ['grpc'], observedBy: 'outbound' },
      { src: 'unmeshed', dst: 'deploy/web', requests: total, protocols: ['http/1.1'], observedBy: 'inbound' },
    ]);
    const web = list.items.find((e) => e.dst.workload === 'deploy/web')!;
    // the doughnut votes fail (voting answers UNKNOWN, web a 500); other votes may fail at random
    expect(web.successRate).toBeLessThanOrEqual((total - SENT.voteDoughnut) / total);
    expect(list.items[0]!.successRate).toBe(1); // emoji never fails these
    expect(list.items[0]!.tcpOpen).toBe(1); // one gRPC channel
    expect(list.items[0]!.bytes!.sent).toBeGreaterThan(0);
    expect(list.items.every((e) => e.dst.labels?.app === e.dst.workload?.slice('deploy/'.length) || !e.dst.meshed)).toBe(true);
  }, 60_000);

  it('prints the Linkerd-shaped table', async () => {
    const r = await cli(['edges', 'deploy', '-n', 'emojivoto']);
    expect(r.code, r.stderr).toBe(0);
    const lines = r.stdout.trim().split('\n');
    expect(lines[0]).toMatch(/^SRC\s+DST\s+SRC_NS\s+DST_NS\s+PROTO\s+SUCCESS\s+RPS\s+P50\s+P99\s+TCP$/);
    expect(lines.slice(1).map((l) => l.split(/\s+/).slice(0, 5).join(' '))).toEqual([
      'deploy/web deploy/emoji emojivoto emojivoto grpc',
      'deploy/web deploy/voting emojivoto emojivoto grpc',
      'unmeshed deploy/web - emojivoto http/1.1',
    ]);
  }, 60_000);

  it('routes: what web served and what it called on voting', async () => {
    const served = JSON.parse((await cli(['routes', 'deploy/web', '-n', 'emojivoto', '-o', 'json'])).stdout) as RouteList;
    expect(served.items.map((r) => [r.method, r.route, r.requests])).toEqual([
      ['GET', '/api/vote', SENT.voteTaco + SENT.voteDoughnut],
      ['GET', '/api/list', SENT.list],
      ['GET', '/api/leaderboard', SENT.leaderboard],
    ]);
    const called = JSON.parse((await cli(['routes', 'deploy/web', '-n', 'emojivoto', '--to', 'deploy/voting', '-o', 'json'])).stdout) as RouteList;
    expect(called).toMatchObject({ direction: 'outbound', to: { workload: 'deploy/voting' } });
    const vote = called.items.find((r) => r.route === '/emojivoto.v1.VotingService/Vote')!;
    expect(vote.requests).toBe(SENT.voteTaco + SENT.voteDoughnut);
    expect(vote.successRate).toBeLessThanOrEqual(SENT.voteTaco / (SENT.voteTaco + SENT.voteDoughnut));
    expect(called.items.find((r) => r.route === '/emojivoto.v1.VotingService/Results')!.requests).toBe(SENT.leaderboard);
  }, 60_000);
});
