/**
 * The native sidecar collects what a tap with bodies leaves behind (bin/young-generation.ts
 * collectAfterTappedBodies; docs/decisions.md, session 10, mem3): the tap hub says how much body
 * text it handed to each transport (`onBodiesSent`), and a collection runs after every so many
 * characters of it (spaced in time). It reduces its memory once started and once the last tap has
 * left (settleNativeMemory, session 11). Real hub, real subscribers; the collection itself is
 * counted (it is V8's and glibc's), and the real one is run once on a real hub's garbage.
 */
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { describe, expect, it } from 'vitest';
import { collectAfterTappedBodies, collectGarbage, settleNativeMemory } from '../bin/young-generation.js';
import { createTapHub, FLUSH_DELAY_MS } from '../proxy/tap-hub.js';
import { compileMatches, type TapEvent } from '../tap-protocol/index.js';
import { until } from './support/until.js';

const BODY_CHARS = 64 * 1024;

const event = (n: number, kind: TapEvent['kind'] = 'end'): TapEvent => ({
  kind,
  id: `1.${n}`,
  ts: new Date().toISOString(),
  proxy: 'in',
  src: '10.0.0.1:5000',
  dst: '10.0.0.2:8080',
  protocol: 'http/1.1',
  method: 'GET',
  scheme: 'http',
  authority: 'web',
  path: `/p/${n}`,
  status: 200,
  ...(kind === 'end' ? { responseBody: { size: BODY_CHARS, truncated: false, encoding: 'utf8', data: `${n}:`.padEnd(BODY_CHARS, 'x') } } : {}),
});

const turn = (ms = FLUSH_DELAY_MS * 2) => new Promise<void>((resolve) => setTimeout(resolve, ms));

function subscribe(hub: ReturnType<typeof createTapHub>, bodies: boolean) {
  const batches: string[] = [];
  const sub = hub.subscribe({ match: compileMatches([]), bodies, reveal: new Set(), writer: { write: (batch, sent) => (batches.push(batch), sent()) } });
  sub.live = true;
  return { sub, batches };
}

describe('the tap hub tells how much body text it handed to transports', () => {
  it('counts the body characters of every batch written to a subscriber with bodies, none for one without', async () => {
    const hub = createTapHub();
    const sent: number[] = [];
    hub.onBodiesSent((n) => sent.push(n));
    const withBodies = subscribe(hub, true);
    for (let n = 0; n < 5; n++) hub.publish('end', event(n));
    await turn();
    expect(withBodies.batches.length).toBeGreaterThan(0);
    expect(sent.reduce((a, b) => a + b, 0)).toBe(5 * BODY_CHARS);
    withBodies.sub.close();

    sent.length = 0;
    const without = subscribe(hub, false);
    for (let n = 5; n < 10; n++) hub.publish('end', event(n));
    await turn();
    expect(without.batches.join('')).toContain('/p/9');
    expect(sent).toEqual([]);
  });
});

describe('settleNativeMemory', () => {
  it('reduces once just after start, and once each time the last tap has been gone a while', async () => {
    const hub = createTapHub();
    let reductions = 0;
    settleNativeMemory(hub, () => reductions++, 100, 60_000); // the first tap's own reduction: below
    expect(reductions).toBe(0); // not inside the start-up path
    await until('reduced after start', () => reductions === 1);
    // A tap with bodies comes and goes: reduced once it has been gone for the delay.
    const first = subscribe(hub, true);
    for (let n = 0; n < 3; n++) hub.publish('end', event(n));
    await turn();
    expect(reductions).toBe(1);
    first.sub.close();
    await turn(20);
    expect(reductions).toBe(1);
    await until('reduced once the tap has been gone the delay', () => reductions === 2);
    // One leaves while another stays: nothing.
    const a = subscribe(hub, false);
    const b = subscribe(hub, false);
    a.sub.close();
    await turn(150);
    expect(reductions).toBe(2);
    // The last leaves and a tap comes back within the delay: nothing until that one leaves too.
    b.sub.close();
    await turn(20);
    const c = subscribe(hub, false);
    await turn(150);
    expect(reductions).toBe(2);
    c.sub.close();
    await until('reduced once the last tap has been gone the delay', () => reductions === 3);
  });
});

describe('settleNativeMemory after the first tap (session 14: the tap port\'s modules leave garbage)', () => {
  it('reduces once the first tap has been attached a while, and not for later taps', async () => {
    const hub = createTapHub();
    let reductions = 0;
    settleNativeMemory(hub, () => reductions++, 60_000, 100);
    await until('reduced after start', () => reductions === 1);
    const first = subscribe(hub, false);
    await turn(20);
    expect(reductions).toBe(1);
    await until('reduced once the first tap has been attached the delay', () => reductions === 2);
    first.sub.close();
    const second = subscribe(hub, false);
    await turn(250);
    expect(reductions).toBe(2); // a later tap loads nothing new
    second.sub.close();
  });

  it('a first tap gone before the delay: nothing then (its leaving is settled as any)', async () => {
    const hub = createTapHub();
    let reductions = 0;
    settleNativeMemory(hub, () => reductions++, 60_000, 100);
    await until('reduced after start', () => reductions === 1);
    subscribe(hub, false).sub.close();
    await turn(250);
    expect(reductions).toBe(1);
  });
});

describe('collectAfterTappedBodies', () => {
  it('collects after every so many body characters sent, spaced in time', async () => {
    const hub = createTapHub();
    let collections = 0;
    collectAfterTappedBodies(hub, () => collections++, { afterChars: 4 * BODY_CHARS, minIntervalMs: 150 });
    const { sub } = subscribe(hub, true);
    for (let n = 0; n < 3; n++) hub.publish('end', event(n));
    await turn();
    expect(collections).toBe(0); // 3 bodies: under the threshold
    hub.publish('end', event(3));
    await until('collected once past the threshold', () => collections === 1);
    // Past the threshold again at once: waits for the interval.
    for (let n = 4; n < 8; n++) hub.publish('end', event(n));
    await turn(10);
    expect(collections).toBe(1);
    await until('collected again once the interval passed', () => collections === 2);
    // Events without bodies never add up to a collection.
    for (let n = 8; n < 100; n++) hub.publish('req', event(n, 'req'));
    await turn(200);
    expect(collections).toBe(2);
    // Under the threshold, the tap leaves: settleNativeMemory's business, not this one's.
    hub.publish('end', event(100));
    await turn();
    sub.close();
    await turn(200);
    expect(collections).toBe(2);
  });

  it('does nothing when a tap without bodies leaves', async () => {
    const hub = createTapHub();
    let collections = 0;
    collectAfterTappedBodies(hub, () => collections++, { afterChars: BODY_CHARS, minIntervalMs: 0 });
    const { sub } = subscribe(hub, false);
    for (let n = 0; n < 20; n++) hub.publish('end', event(n));
    await turn();
    sub.close();
    await turn();
    expect(collections).toBe(0);
  });

  it("the real collection frees a tap's sent bodies", async () => {
    setFlagsFromString('--expose-gc');
    const gc = runInNewContext('gc') as () => void;
    const hub = createTapHub();
    const { sub, batches } = subscribe(hub, true);
    gc();
    const before = process.memoryUsage().heapUsed;
    for (let n = 0; n < 200; n++) hub.publish('end', event(n));
    await turn();
    expect(batches.length).toBeGreaterThan(0);
    batches.length = 0; // the transport let go of them, as HTTP/2 does once sent
    sub.close();
    collectGarbage(); // 200 × 64 KiB bodies, their JSON and batches were sent: garbage

    expect(process.memoryUsage().heapUsed - before).toBeLessThan(2 * 1024 * 1024);
  });
});
