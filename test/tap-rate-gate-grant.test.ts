/**
 * Issue 14's tap gate (core/tap-gate.h) through grants, as every tap through the tap API comes: the
 * sidecar ANDs a subscriber's filters with its grant's, and takes the smaller of the two rates.
 * A grant that filters makes the tap a filtered one even when its request asks for everything: it
 * is never gated (C++ cannot test the grant's filter), so every exchange the grant allows is
 * delivered within its rate. A grant that filters nothing, with its rate only, is gated, and its
 * counts stay exact (delivered + rate-limit drops = sent).
 *
 * Real sockets: the security rig's grant-requiring sidecar and HTTP/1 backend, grants signed with
 * the key it trusts, real gRPC tap streams and fetch.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { nativeDeliveries } from '../native/index.js';
import { startSecurityRig, type SecurityRig } from './security-rig.js';
import { PROJECT_ENGINE } from './support/engines.js';
import { openCountingTap, sendBurst } from './support/counting-tap.js';

let rig: SecurityRig;

beforeAll(async () => {
  rig = await startSecurityRig();
});

afterAll(async () => {
  await rig?.close();
});

describe(`a rate-limited tap under a grant (${PROJECT_ENGINE} engine)`, { timeout: 120_000 }, () => {
  it("a grant's filter keeps the tap ungated: every exchange it allows is delivered within its rate", async () => {
    const grant = rig.grant({ matches: [[{ field: 'pathPrefix', value: '/wanted/' }]], maxRps: 50 });
    const t = openCountingTap(rig.sidecar.tapAddress!, { grant, matches: [] });
    try {
      await t.flush();
      // What it may not see first: a gate at its rate would have spent its burst on them.
      await sendBurst(rig.forward, 'http/1.1', Array.from({ length: 300 }, (_, i) => `/other/${i}`));
      const wanted = Array.from({ length: 20 }, (_, i) => `/wanted/${i}`);
      await sendBurst(rig.forward, 'http/1.1', wanted);
      await t.flush();
      expect([...t.exchanges.values()].map((l) => l[0]!.path).sort()).toEqual([...wanted].sort());
      expect(t.state.rateLimited).toBe(0);
    } finally {
      await t.close();
    }
  });

  it('a grant that filters nothing, with a rate, is gated and exact', async () => {
    const N = 400;
    const t = openCountingTap(rig.sidecar.tapAddress!, { grant: rig.grant({ maxRps: 5 }), matches: [] });
    try {
      await t.flush();
      const records = nativeDeliveries().records;
      await sendBurst(rig.forward, 'http/1.1', Array.from({ length: N }, (_, i) => `/all/${i}`));
      await t.flush();
      expect(t.exchanges.size + t.state.rateLimited).toBe(N);
      expect(t.state.rateLimited).toBeGreaterThan(0);
      if (PROJECT_ENGINE === 'native') expect(nativeDeliveries().records - records).toBeLessThan(N);
    } finally {
      await t.close();
    }
  });
});
