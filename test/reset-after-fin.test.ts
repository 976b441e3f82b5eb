/**
 * Session 14 (flake14): a side that sends its FIN and then fails, both seen in one turn of the
 * event loop, must still end the connection. The js engine mirrored the FIN (`end()` on the other
 * socket, its shutdown done on a later turn) and then the failure as an RST on that same socket:
 * libuv refuses an RST while a shutdown is pending (EINVAL) and Node then never closes the socket,
 * so the connection stayed counted open for the sidecar's life, its fd held, its observation never
 * ended (found as test/bad-input-h2's "tee: 8/8 connections, not all closed": its tee relay has the
 * same two steps). Through the real sidecar process on both engines; the sidecar is stopped
 * (SIGSTOP) while the backend's FIN and RST and the client's next bytes arrive, so that it sees
 * them in one turn, in that order, as a busy sidecar would.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ENGINES } from './support/engines.js';
import { scrape, sumMetric, waitForMetric } from './support/metrics-scrape.js';
import { startSidecarProcess, type SidecarProcess } from './support/meshtap-process.js';
import { connectRaw, startScriptedServer, type ScriptedServer } from './support/raw-socket.js';

/** Stops `pid` and resolves once every thread of it is stopped (a signal is delivered asynchronously). */
async function stopProcess(pid: number): Promise<void> {
  process.kill(pid, 'SIGSTOP');
  const stopped = () => readdirSync(`/proc/${pid}/task`).every((t) => /^\d+ \(.*\) T /.test(readFileSync(`/proc/${pid}/task/${t}/stat`, 'utf8')));
  for (const until = Date.now() + 5_000; !stopped(); ) {
    if (Date.now() > until) throw new Error(`process ${pid} not stopped after 5 s`);
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

describe.each(ENGINES)('a backend FIN then a failure in one turn (engine %s)', (engine) => {
  let server: ScriptedServer;
  let sidecar: SidecarProcess;

  beforeAll(async () => {
    server = await startScriptedServer();
    sidecar = await startSidecarProcess(['--engine', engine, '--forward', `127.0.0.1:0=127.0.0.1:${server.port}`, '--admin', '127.0.0.1:0']);
  });

  afterAll(async () => {
    if (sidecar?.isRunning()) sidecar.child.kill('SIGCONT');
    await sidecar?.stop();
    await server?.close();
  });

  const open = async (peer: 'src' | 'dst'): Promise<number> => sumMetric(await scrape(sidecar.admin!), 'tcp_open_connections', { peer });

  it('the client connection still closes: not counted open, no socket held', async () => {
    const next = server.connections.length;
    const client = await connectRaw(sidecar.forwards[0].port);
    const upstream = await server.connection(next);
    await client.write('hello');
    await upstream.waitForBytes(5);
    expect(await open('src')).toBe(1);

    await stopProcess(sidecar.child.pid!);
    try {
      // The backend ends its side, then closes with an RST: the sidecar's next write to it fails.
      upstream.socket.end();
      await new Promise<void>((resolve) => upstream.socket.once('finish', () => resolve()));
      upstream.socket.resetAndDestroy();
      await upstream.closed;
      await new Promise((resolve) => setTimeout(resolve, 50));
      // Then the client sends more: it reaches the sidecar after the backend's FIN and RST.
      await client.write('more');
      await new Promise((resolve) => setTimeout(resolve, 50));
    } finally {
      sidecar.child.kill('SIGCONT');
    }

    // The client hears the end (a FIN or an RST: what matters is that it comes), and the sidecar
    // lets the connection go on both legs.
    await client.waitForEnd(10_000);
    client.end();
    await client.waitForClose(10_000);
    await waitForMetric(sidecar.admin!, 'tcp_open_connections', { peer: 'src' }, (v) => v === 0, 5_000);
    expect([await open('src'), await open('dst')]).toEqual([0, 0]);
  });
});
