/**
 * `meshtap tap deploy/web --to deploy/emoji`: the tap API tells each registered sidecar which
 * workload sits behind the other sidecars' inbound addresses, so web's outbound events name
 * their destination workload and `--to` narrows to them (issue 4: "--to narrows").
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startDemoControlPlane, startDemoMesh, type DemoControlPlane, type DemoMesh } from '../demo/index.js';
import type { TapEvent, TapFilter } from '../tap-protocol/index.js';
import { openTapApiStream } from '../tap-api/index.js';
import { until } from './support/until.js';
import { PROJECT_ENGINE } from './support/engines.js';

let dir: string;
let cp: DemoControlPlane;
let mesh: DemoMesh;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'mt-tap-to-'));
  cp = await startDemoControlPlane(dir);
  mesh = await startDemoMesh({ rps: 25, tapApi: cp.tapApi.url, tapApiToken: cp.registrationToken, engine: PROJECT_ENGINE });
  // Every sidecar registered and had a heartbeat reply listing the others: web's outbound
  // exchanges (in its flight recorder) name both destination workloads.
  await until('web names its destinations', () => {
    const out = mesh.web.sidecar.recorder.query({ last: 200 }, (e) => e.proxy === 'out');
    return out.some((e) => e.dstWorkload === 'deploy/emoji') && out.some((e) => e.dstWorkload === 'deploy/voting');
  }, { timeoutMs: 25_000, intervalMs: 100 });
}, 30_000);

afterAll(async () => {
  await mesh?.close();
  await cp?.tapApi.close();
  await rm(dir, { recursive: true, force: true });
});

async function collect(target: string, filters: TapFilter[], ends: number): Promise<TapEvent[]> {
  const stream = openTapApiStream({ url: cp.tapApi.url, token: cp.adminToken, namespace: 'emojivoto', target, request: { matches: [filters], bodies: false, maxRps: 1000 } });
  const events: TapEvent[] = [];
  for await (const m of stream.messages) {
    if (m.type !== 'event') continue;
    events.push(m.event);
    if (events.filter((e) => e.kind === 'end').length >= ends) break;
  }
  stream.cancel();
  return events;
}

describe('tap --to', () => {
  it('narrows web\'s traffic to what goes to emoji, naming the destination workload', async () => {
    const events = await collect('deploy/web', [{ field: 'dstWorkload', value: 'deploy/emoji' }], 5);
    expect(events.length).toBeGreaterThan(0);
    for (const e of events) {
      expect(e).toMatchObject({ proxy: 'out', srcWorkload: 'deploy/web', dstWorkload: 'deploy/emoji', dstNamespace: 'emojivoto', protocol: 'grpc' });
      expect(e.path.startsWith('/emojivoto.v1.EmojiService/')).toBe(true);
    }
  });

  it('--not --to excludes it: web\'s outbound calls to voting remain, none to emoji', async () => {
    const events = await collect('deploy/web', [{ field: 'dstWorkload', value: 'deploy/emoji', negate: true }, { field: 'method', value: 'POST' }], 5);
    expect(events.length).toBeGreaterThan(0);
    expect(events.every((e) => e.dstWorkload === 'deploy/voting' && e.path.startsWith('/emojivoto.v1.VotingService/'))).toBe(true);
  });
});
