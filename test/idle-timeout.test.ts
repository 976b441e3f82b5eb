/**
 * Regression (issue 10 item 9): a backend that neither answers nor closes held both sockets
 * forever (200 abandoned clients still held 400 fds after 60 s). Through the real sidecar
 * process: `--idle-timeout` closes a connection with no bytes either way and counts it, a busy
 * long-lived connection is never cut, and TCP keepalive runs on both legs (seen with `ss`).
 */
import { execFileSync } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { scrape, sumMetric } from './support/metrics-scrape.js';
import { runMeshtap, startSidecarProcess, type SidecarProcess } from './support/meshtap-process.js';
import { connectRaw, startScriptedServer, type ScriptedServer } from './support/raw-socket.js';

import { ENGINES } from './support/engines.js';
const IDLE = 'meshtap_bound_hit_total';

describe.each(ENGINES)('regression: no idle bound held sockets forever (engine %s)', (engine) => {
  let server: ScriptedServer;
  let sidecar: SidecarProcess;

  beforeAll(async () => {
    server = await startScriptedServer();
    sidecar = await startSidecarProcess(['--engine', engine, '--idle-timeout', '1s', '--forward', `127.0.0.1:0=127.0.0.1:${server.port}`, '--admin', '127.0.0.1:0']);
  });

  afterAll(async () => {
    await sidecar?.stop();
    await server?.close();
  });

  const idleTimeouts = async (): Promise<number> => sumMetric(await scrape(sidecar.admin!), IDLE, { bound: 'idle-timeout' });
  const openConnections = async (): Promise<number> => sumMetric(await scrape(sidecar.admin!), 'tcp_open_connections');

  it('a backend that never answers: both sockets closed after the idle timeout, counted', async () => {
    const before = await idleTimeouts();
    const next = server.connections.length;
    const client = await connectRaw(sidecar.forwards[0].port);
    const upstream = await server.connection(next);
    await client.write('GET /hang HTTP/1.1\r\nHost: h\r\n\r\n');
    await upstream.waitForText('/hang');
    // The sidecar closes both legs gracefully: each peer sees a FIN, nobody a reset.
    await Promise.all([client.waitForEnd(10_000), upstream.waitForEnd(10_000)]);
    expect([client.errorCode, upstream.errorCode]).toEqual([undefined, undefined]);
    client.destroy();
    expect(await idleTimeouts()).toBe(before + 1);
    expect(await openConnections()).toBe(0);
  });

  it('a long-lived connection with bytes every 300 ms is never cut (3 s at a 1 s idle timeout)', async () => {
    const before = await idleTimeouts();
    const next = server.connections.length;
    const client = await connectRaw(sidecar.forwards[0].port);
    const upstream = await server.connection(next);
    let up = 0;
    let down = 0;
    for (let i = 0; i < 10; i++) {
      // Alternate directions: either way counts as activity.
      if (i % 2 === 0) {
        await client.write('x');
        await upstream.waitForBytes(++up);
      } else {
        await upstream.write('y');
        await client.waitForBytes(++down);
      }
      // The gap is the behaviour under test: activity every 300 ms keeps a 1 s idle timeout away.
      await new Promise((r) => setTimeout(r, 300));
    }
    expect(client.socket.destroyed).toBe(false);
    expect(upstream.socket.destroyed).toBe(false);
    expect(await idleTimeouts()).toBe(before);
    client.destroy();
    await upstream.waitForEnd();
    upstream.destroy();
  });

  it('TCP keepalive runs on both of the sidecar\'s sockets', async () => {
    const next = server.connections.length;
    const client = await connectRaw(sidecar.forwards[0].port);
    const upstream = await server.connection(next);
    await client.write('k');
    await upstream.waitForBytes(1);
    // `ss` columns: Recv-Q Send-Q Local Peer [timer:(…)].
    const sockets = execFileSync('ss', ['-tnoH', 'state', 'established'], { encoding: 'utf8' })
      .split('\n')
      .map((l) => l.trim().split(/\s+/))
      .map(([, , local, peer, ...rest]) => ({ local, peer, rest: rest.join(' ') }));
    const find = (local: number, peer: number) => sockets.find((x) => x.local === `127.0.0.1:${local}` && x.peer === `127.0.0.1:${peer}`)?.rest;
    // The sidecar's accepted socket (its listener ↔ our client) and its upstream socket (↔ the server).
    const accepted = find(sidecar.forwards[0].port, client.socket.localPort!);
    const outgoing = find(upstream.socket.remotePort!, server.port);
    expect(accepted).toMatch(/timer:\(keepalive,/);
    expect(outgoing).toMatch(/timer:\(keepalive,/);
    client.destroy();
    await upstream.waitForEnd();
    upstream.destroy();
  });

  it('refuses a malformed --idle-timeout with a one-line usage error (exit 2)', async () => {
    const r = await runMeshtap(['proxy', '--idle-timeout', 'forever', '--forward', `127.0.0.1:0=127.0.0.1:${server.port}`]);
    expect(r.code).toBe(2);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
    expect(r.stderr).toMatch(/--idle-timeout: 'forever' is not a duration/);
  });
});
