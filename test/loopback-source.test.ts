/**
 * Regression, issue 15 (loopback source address under native): local sidecars connect from their
 * own 127.x.y.z (proxy/peers.ts `loopbackSourceAddress`) so that the callee's inbound side can
 * name its caller. The js forwarder bound that address before connecting; the native engine
 * ignored `localAddress`, so under `--engine native` the app saw 127.0.0.1 and inbound events had
 * no srcWorkload. Runs on both engines: caller (out) -> callee (in) -> app, both sidecars
 * registered with a tap API, the callee tapped.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { rm } from 'node:fs/promises';
import { afterEach, describe, expect, it } from 'vitest';
import { startSidecar, type Sidecar } from '../proxy/index.js';
import { loopbackSourceAddress } from '../proxy/peers.js';
import { openTapStream, type TapEvent } from '../tap-protocol/index.js';
import type { TapApiServer } from '../tap-api/index.js';
import { REGISTRATION_TOKEN, startFixtureTapApi, writeTapApiFixtures } from './tap-api-fixtures.js';
import { ENGINES } from './support/engines.js';
import { until } from './support/until.js';

let cleanups: (() => Promise<unknown>)[] = [];
afterEach(async () => {
  for (const c of cleanups.reverse()) await c().catch(() => undefined);
  cleanups = [];
});

function portOf(address: string): number {
  return Number(address.slice(address.lastIndexOf(':') + 1));
}

describe.each(ENGINES)('loopback source address [%s]', (engine) => {
  it("the callee's inbound events name the local caller (srcWorkload), and the app sees the caller's own loopback address", async () => {
    const f = await writeTapApiFixtures();
    cleanups.push(() => rm(f.dir, { recursive: true, force: true }));
    const tapApi: TapApiServer = await startFixtureTapApi(f.rbacDir);
    cleanups.push(() => tapApi.close());
    const seenFrom: string[] = [];
    const app = http.createServer((req, res) => {
      seenFrom.push(req.socket.remoteAddress ?? '');
      res.end('ok');
    });
    await new Promise<void>((r) => app.listen(0, '127.0.0.1', r));
    cleanups.push(() => new Promise((r) => app.close(r)));
    const registered = { tapApi: tapApi.url, tapApiToken: REGISTRATION_TOKEN, tap: { host: '127.0.0.1', port: 0 }, engine } as const;
    const callee: Sidecar = await startSidecar({
      ...registered,
      forwards: [{ proxy: 'in', listen: { host: '127.0.0.1', port: 0 }, target: { host: '127.0.0.1', port: (app.address() as AddressInfo).port } }],
      identity: { workload: 'deploy/api', namespace: 'shop', pod: 'api-0' },
    });
    cleanups.push(() => callee.close());
    const caller: Sidecar = await startSidecar({
      ...registered,
      forwards: [{ proxy: 'out', listen: { host: '127.0.0.1', port: 0 }, target: { host: '127.0.0.1', port: portOf(callee.listeners[0]!.address) } }],
      identity: { workload: 'deploy/web', namespace: 'shop', pod: 'web-0' },
    });
    cleanups.push(() => caller.close());
    // Both registered; the callee hears of the caller (and its source address) on a heartbeat (every 2 s).
    await until('the callee heard of its caller on a heartbeat', () => callee.peers.lookup(loopbackSourceAddress('shop', 'web-0'))?.workload === 'deploy/web', 10_000);

    const stream = openTapStream(callee.tapAddress!, { matches: [], bodies: false });
    const ends: TapEvent[] = [];
    const collecting = (async () => {
      for await (const m of stream.messages) if (m.type === 'event' && m.event.kind === 'end') ends.push(m.event);
    })().catch(() => undefined);
    try {
      await until('the tap subscription is live', () => callee.hub.count > 0);
      const body = await new Promise<string>((resolve, reject) => {
        http
          .get(`http://${caller.listeners[0]!.address}/who`, (res) => {
            let text = '';
            res.on('data', (c: Buffer) => (text += c.toString()));
            res.on('end', () => resolve(text));
          })
          .on('error', reject);
      });
      expect(body).toBe('ok');
      await until('the end event', () => ends.length >= 1, 5_000);
    } finally {
      stream.cancel();
      await collecting;
    }
    const own = loopbackSourceAddress('shop', 'web-0');
    expect(own).not.toBe('127.0.0.1');
    expect(ends.map((e) => [e.proxy, e.path, e.src.slice(0, e.src.lastIndexOf(':')), e.srcWorkload, e.srcNamespace])).toEqual([['in', '/who', own, 'deploy/web', 'shop']]);
    // The callee's sidecar forwarded to the app from 127.0.0.1 (only the caller binds its own address).
    expect(seenFrom).toEqual(['127.0.0.1']);
  }, 30_000);
});
