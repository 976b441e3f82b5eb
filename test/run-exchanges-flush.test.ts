/**
 * `meshtap run` decides that CMD's exchanges are all shown by a flush handshake with its sidecar,
 * not by a pause. Bug: it waited 100 ms for the last events (81cf142), and test/bpf-run-exchanges
 * lost CMD's only exchange on a loaded CI machine, where the sidecar's events took longer. Here
 * the sidecar is late for sure: it is stopped (SIGSTOP) from the moment the client has its
 * response until well past that pause, so only a runner that waits for the sidecar's `flushed`
 * marker sees the exchange. A real `meshtap proxy` (each engine), a real node:http server and
 * client; the runner is bin/run-exchanges.ts as `meshtap run` uses it. Before the handshake the
 * js engine's case failed every time (its events wait for the hub's coalesced write when the
 * client already has the response); the native engine's only sometimes (its JS thread often
 * delivered them before the stop).
 */
import { once } from 'node:events';
import { createServer, request, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createRunExchanges } from '../bin/run-exchanges.js';
import { flushTap, openTapStream, type TapMessage } from '../tap-protocol/index.js';
import { ENGINES } from './support/engines.js';
import { startSidecarProcess, type SidecarProcess } from './support/meshtap-process.js';

/** Longer than the pause the runner used to make (SETTLE_MS, 100 ms), with room to spare. */
const STOPPED_MS = 500;

async function get(port: number, path: string): Promise<string> {
  const req = request({ host: '127.0.0.1', port, path, agent: false });
  req.end();
  const [res] = (await once(req, 'response')) as [import('node:http').IncomingMessage];
  let body = '';
  for await (const chunk of res) body += String(chunk);
  return body;
}

describe.each(ENGINES)('meshtap run: the flush handshake (%s engine)', (engine) => {
  let server: Server;
  let sidecar: SidecarProcess | undefined;
  beforeEach(async () => {
    server = createServer((req, res) => res.end(`hello ${req.url}`));
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const port = (server.address() as AddressInfo).port;
    sidecar = await startSidecarProcess(['--engine', engine, '--forward', `127.0.0.1:0=127.0.0.1:${port}`, '--tap', '127.0.0.1:0', '--admin', '127.0.0.1:0']);
  });
  afterEach(async () => {
    if (sidecar?.isRunning()) sidecar.child.kill('SIGCONT');
    await sidecar?.stop();
    server.closeAllConnections();
    await new Promise((r) => server.close(r));
  });

  it('an exchange whose events come late is still counted and shown (it was lost after a 100 ms pause)', async () => {
    const lines: string[] = [];
    const runner = createRunExchanges({ output: 'text', version: 'test', print: (l) => lines.push(l) });
    await runner.start(sidecar!.tap!);
    expect(await get(sidecar!.forwards[0]!.port, '/late')).toBe('hello /late');
    // CMD has its answer and exits; the sidecar has not delivered the events yet, and will not for a while.
    sidecar!.child.kill('SIGSTOP');
    const finished = runner.finish();
    await new Promise((r) => setTimeout(r, STOPPED_MS));
    sidecar!.child.kill('SIGCONT');
    const { exchanges } = await finished;
    expect(exchanges).toBe(1);
    expect(lines.filter((l) => l.includes('/late')), lines.join('\n')).toHaveLength(1);
    expect(lines.join('\n')).not.toContain('could not confirm');
  });

  it('the marker goes only to the tap that holds the token; an unknown token is not found', async () => {
    const tap = sidecar!.tap!;
    const token = 'a'.repeat(32);
    const own = openTapStream(tap, { matches: [], bodies: false, sinceMs: 1, follow: true, flushToken: token });
    const other = openTapStream(tap, { matches: [], bodies: false, sinceMs: 1, follow: true });
    const seen = { own: [] as TapMessage[], other: [] as TapMessage[] };
    const read = async (s: typeof own, into: TapMessage[]) => {
      try {
        for await (const m of s.messages) into.push(m);
      } catch {
        // cancelled below
      }
    };
    const reading = [read(own, seen.own), read(other, seen.other)];
    const isLive = (list: TapMessage[]) => list.some((m) => m.type === 'history-end');
    while (!isLive(seen.own) || !isLive(seen.other)) await new Promise((r) => setTimeout(r, 10));
    expect(await get(sidecar!.forwards[0]!.port, '/one')).toBe('hello /one');

    expect(await flushTap(tap, 'not-a-token')).toBe(false);
    expect(await flushTap(tap, token)).toBe(true);
    while (!seen.own.some((m) => m.type === 'flushed')) await new Promise((r) => setTimeout(r, 10));
    // Every event of the exchange came before the marker.
    const kinds = seen.own.map((m) => (m.type === 'event' ? `${m.event.kind} ${m.event.path}` : m.type));
    expect(kinds).toEqual(['history-end', 'req /one', 'rsp /one', 'end /one', 'flushed']);
    expect(seen.own.at(-1)).toEqual({ type: 'flushed', token });
    // The other tap had the same events written in the same turn as the marker: it has them all, and no marker.
    while (!seen.other.some((m) => m.type === 'event' && m.event.kind === 'end')) await new Promise((r) => setTimeout(r, 10));
    own.cancel();
    other.cancel();
    await Promise.all(reading);
    expect(seen.other.map((m) => m.type)).not.toContain('flushed');
  });
});
