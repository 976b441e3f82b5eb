import { describe, expect, it } from 'vitest';
import type { TapEvent } from '../../tap-protocol/index.js';
import type { TapPod } from '../server/access.js';
import { createPeerNames, PEER_NAMES_MAX_AGE_MS, PEER_NAMES_MISS_REFRESH_MS } from './peer-names.js';

const pod = (namespace: string, name: string, ip: string, workload = name.split('-')[0]!): TapPod => ({ namespace, pod: name, workload: { resource: 'deployments', name: workload }, tapAddress: `${ip}:4190` });
const inbound = (src: string, extra: Partial<TapEvent> = {}): TapEvent => ({ kind: 'end', id: '1.1', ts: '', proxy: 'in', src, dst: '10.0.0.1:8080', protocol: 'http/1.1', method: 'GET', scheme: 'http', authority: 'web', path: '/', ...extra }) as TapEvent;

function rig(pods: TapPod[]) {
  let t = 0;
  const state = { pods, reads: 0 };
  const names = createPeerNames({ list: async () => (state.reads++, state.pods), byPodIp: true, now: () => t });
  return { names, state, advance: (ms: number) => (t += ms), settle: () => new Promise((r) => setImmediate(r)) };
}

describe('peer names from pod IPs', () => {
  it('names an inbound caller by its IP (port ignored), an outbound pod-IP destination, and keeps names a sidecar set', async () => {
    const r = rig([pod('other', 'client-1', '10.0.0.9'), pod('shop', 'api-1', '10.0.0.7')]);
    await r.names.ready();
    const e = inbound('10.0.0.9:41234');
    r.names.name(e);
    expect([e.srcWorkload, e.srcNamespace]).toEqual(['deploy/client', 'other']);
    const out = inbound('', { proxy: 'out', src: '10.0.0.1:5000', dst: '10.0.0.7:8080' });
    r.names.name(out);
    expect([out.dstWorkload, out.dstNamespace]).toEqual(['deploy/api', 'shop']);
    const kept = inbound('10.0.0.9:1', { srcWorkload: 'deploy/said', srcNamespace: 'x' });
    r.names.name(kept);
    expect([kept.srcWorkload, kept.srcNamespace]).toEqual(['deploy/said', 'x']);
  });

  it('an IP two workloads claim names neither', async () => {
    const r = rig([pod('a', 'one-1', '10.0.0.5'), pod('b', 'two-1', '10.0.0.5')]);
    await r.names.ready();
    const e = inbound('10.0.0.5:1');
    r.names.name(e);
    expect(e.srcWorkload).toBeUndefined();
  });

  it('an unknown address reads the list again once (a pod that just started), not on every event (an unmeshed caller)', async () => {
    const r = rig([]);
    await r.names.ready();
    expect(r.state.reads).toBe(1);
    r.state.pods = [pod('other', 'client-1', '10.0.0.9')];
    r.advance(PEER_NAMES_MISS_REFRESH_MS + 1);
    const first = inbound('10.0.0.9:1');
    r.names.name(first); // a miss: named from the old list, a read starts
    expect(first.srcWorkload).toBeUndefined();
    await r.settle();
    expect(r.state.reads).toBe(2);
    const next = inbound('10.0.0.9:2');
    r.names.name(next);
    expect(next.srcWorkload).toBe('deploy/client');
    for (let i = 0; i < 5; i++) {
      r.advance(PEER_NAMES_MISS_REFRESH_MS + 1);
      r.names.name(inbound('192.168.1.1:1'));
      await r.settle();
    }
    // The unmeshed address: one read after its first miss, then none until the list is stale.
    expect(r.state.reads).toBe(3);
    r.advance(PEER_NAMES_MAX_AGE_MS);
    r.names.name(inbound('192.168.1.1:1'));
    await r.settle();
    expect(r.state.reads).toBe(4);
  });

  it('a pod watch event makes the next naming read the list again', async () => {
    const r = rig([pod('other', 'client-1', '10.0.0.9')]);
    await r.names.ready();
    r.state.pods = [pod('other', 'batch-1', '10.0.0.9')];
    r.names.invalidate();
    r.names.name(inbound('10.0.0.9:1'));
    await r.settle();
    const e = inbound('10.0.0.9:1');
    r.names.name(e);
    expect(e.srcWorkload).toBe('deploy/batch');
  });
});
