/**
 * Adversarial tests of one sidecar's tap service, called with grants straight over gRPC (what a
 * holder of a leaked grant, or a buggy tap API, could send): the grant bounds what is shown and
 * how much, whatever the request adds; credentials never leave unredacted without a grant.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openTapStream, type TapEvent, type TapMessage } from '../tap-protocol/index.js';
import { connectRaw } from './support/raw-socket.js';
import { collectHistory, startSecurityRig, until, type SecurityRig } from './security-rig.js';

let rig: SecurityRig;

beforeAll(async () => {
  rig = await startSecurityRig();
  expect(await rig.call('/secret-auth', { headers: { authorization: 'Basic YWRtaW46aHVudGVyMg==' } })).toBe(200);
});

afterAll(async () => {
  await rig?.close();
});

const tap = (): string => rig.sidecar.tapAddress!;

describe('sidecar: filters cannot probe redacted headers', () => {
  it('positive control: a filter on a non-sensitive header works with a plain grant', async () => {
    const r = await collectHistory(tap(), { grant: rig.grant(), last: 50, matches: [[{ field: 'pathPrefix', value: '/secret-auth' }]] });
    expect(r.error).toBeUndefined();
    expect(r.events.map((e) => e.path)).toEqual(['/secret-auth']);
    expect(r.events[0]!.requestHeaders!.find(([n]) => n === 'authorization')?.[1]).toBe('[redacted]');
  });

  it('regression (header-filter oracle): a request filter on a redacted header is refused', async () => {
    const r = await collectHistory(tap(), {
      grant: rig.grant(),
      last: 50,
      matches: [[{ field: 'header', name: 'Authorization', value: 'Basic YWRtaW46aHVudGVyMg==' }]],
    });
    expect(r.events).toEqual([]);
    expect(r.error).toMatch(/MT_GRANT_NO_HEADERS: filtering on header 'authorization'/);
  });

  it('regression (header-filter oracle): a negated filter on a redacted header is refused too', async () => {
    const r = await collectHistory(tap(), { grant: rig.grant(), last: 50, matches: [[{ field: 'header', name: 'cookie', value: 'x', negate: true }]] });
    expect(r.error).toMatch(/MT_GRANT_NO_HEADERS/);
  });

  it('a grant that reveals the header allows filtering on it', async () => {
    const r = await collectHistory(tap(), {
      grant: rig.grant({ revealHeaders: ['authorization'] }),
      revealHeaders: ['authorization'],
      last: 50,
      matches: [[{ field: 'header', name: 'authorization', value: 'Basic YWRtaW46aHVudGVyMg==' }]],
    });
    expect(r.error).toBeUndefined();
    expect(r.events.map((e) => e.path)).toEqual(['/secret-auth']);
  });
});

describe('sidecar: the grant bounds the rate', () => {
  it.each([0, -5, 'lots'])('regression (maxRps widening): a request maxRps of %j is refused, not read as "no limit"', async (maxRps) => {
    const r = await collectHistory(tap(), { grant: rig.grant({ maxRps: 1 }), last: 1, maxRps: maxRps as number });
    expect(r.error).toMatch(/maxRps/);
    expect(r.events).toEqual([]);
  });

  it('a subscriber over its grant rate is told how many exchanges it lost (reason rate-limit)', async () => {
    const messages: TapMessage[] = [];
    const stream = openTapStream(tap(), { matches: [[{ field: 'pathPrefix', value: '/burst/' }]], bodies: false, maxRps: 1000, grant: rig.grant({ maxRps: 1 }) });
    let failed: unknown;
    void (async () => {
      try {
        for await (const m of stream.messages) messages.push(m);
      } catch (err) {
        failed = err;
      }
    })();
    try {
      await until('subscribed', () => rig.sidecar.hub.count === 1);
      const N = 20;
      await Promise.all(Array.from({ length: N }, (_, i) => rig.call(`/burst/${i}`)));
      const ends = (): TapEvent[] => messages.flatMap((m) => (m.type === 'event' && m.event.kind === 'end' ? [m.event] : []));
      const lost = (): number => messages.reduce((n, m) => n + (m.type === 'dropped' && m.reason === 'rate-limit' ? m.count : 0), 0);
      await until(`every exchange delivered or reported lost (failed: ${String(failed)})`, () => ends().length + lost() === N);
      expect(lost()).toBeGreaterThan(0);
      expect(ends().length).toBeLessThan(N);
    } finally {
      stream.cancel();
    }
  });
});

describe('sidecar: credentials in the request target', () => {
  it('regression (userinfo in an absolute-form target): user:password@ never leaves in path, and path filters cannot probe it', async () => {
    const port = Number(rig.forward.slice(rig.forward.lastIndexOf(':') + 1));
    const c = await connectRaw(port);
    await c.write(`GET http://deploy:pa55w0rd@127.0.0.1:${port}/userinfo?x=1 HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\nConnection: close\r\n\r\n`);
    await c.waitFor((b) => b.includes('ok '), 'the response');
    c.socket.destroy();
    await until('the exchange is in the flight recorder', () => rig.sidecar.recorder.query({}, (e) => e.path.includes('/userinfo')).length === 1);
    const match = [[{ field: 'pathRegex' as const, value: 'userinfo' }]];
    const plain = await collectHistory(tap(), { grant: rig.grant(), last: 50, matches: match });
    expect(plain.error).toBeUndefined();
    expect(plain.events).toHaveLength(1);
    expect(plain.events[0]!.path).toBe(`http://[redacted]@127.0.0.1:${port}/userinfo?x=1`);
    expect(JSON.stringify(plain.events)).not.toContain('pa55w0rd');
    // A path filter is an oracle too (prefix by prefix): it sees only the redacted target.
    const probe = await collectHistory(tap(), { grant: rig.grant(), last: 50, matches: [[{ field: 'pathRegex', value: 'deploy:pa' }]] });
    expect(probe.error).toBeUndefined();
    expect(probe.events).toEqual([]);
  });

  it('regression (userinfo in Host): user:password@ in the authority is redacted in events and in /metrics labels', async () => {
    const port = Number(rig.forward.slice(rig.forward.lastIndexOf(':') + 1));
    const c = await connectRaw(port);
    await c.write(`GET /host-userinfo HTTP/1.1\r\nHost: ops:s3cr3tpw@127.0.0.1:${port}\r\nConnection: close\r\n\r\n`);
    await c.waitFor((b) => b.includes('ok '), 'the response');
    c.socket.destroy();
    await until('the exchange is in the flight recorder', () => rig.sidecar.recorder.query({}, (e) => e.path === '/host-userinfo').length === 1);
    const r = await collectHistory(tap(), { grant: rig.grant(), last: 50, matches: [[{ field: 'pathPrefix', value: '/host-userinfo' }]] });
    expect(r.events).toHaveLength(1);
    expect(r.events[0]!.authority).toBe(`[redacted]@127.0.0.1:${port}`);
    const metrics = await rig.sidecar.metrics.registry.metrics();
    expect(metrics).toContain(`authority="[redacted]@127.0.0.1:${port}"`);
    expect(metrics).not.toContain('s3cr3tpw');
  });
});
