/**
 * `meshtap stat --admin ADDR` names the address it could not scrape and why (refused, reset, no
 * answer, not HTTP), exit 1, before waiting out the window. It said "no meshed pods found for …",
 * as if the sidecar were there and idle. Real sockets, a real sidecar, the real CLI.
 */
import * as http from 'node:http';
import { createServer, type AddressInfo, type Server, type Socket } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MeshtapError } from '../common/index.js';
import { collectStats } from '../tap-api/index.js';
import { runMeshtap, startSidecarProcess, type SidecarProcess } from './support/meshtap-process.js';
import { freePort } from './support/ports.js';

let upstream: http.Server;
let sidecar: SidecarProcess;
const servers: Server[] = [];
const held: Socket[] = [];

async function listen(onConnection: (s: Socket) => void): Promise<string> {
  const server = createServer((s) => {
    s.on('error', () => {});
    onConnection(s);
  });
  servers.push(server);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return `127.0.0.1:${(server.address() as AddressInfo).port}`;
}

beforeAll(async () => {
  upstream = http.createServer((_req, res) => res.end('ok'));
  await new Promise<void>((resolve) => upstream.listen(0, '127.0.0.1', resolve));
  sidecar = await startSidecarProcess(['--forward', `127.0.0.1:0=127.0.0.1:${(upstream.address() as AddressInfo).port}`, '--admin', '127.0.0.1:0', '--workload', 'deploy/web', '--namespace', 'default', '--pod', 'web-1']);
});

afterAll(async () => {
  await sidecar?.stop();
  upstream?.close();
  for (const s of held) s.destroy();
  for (const s of servers) s.close();
});

describe('stat --admin: an address that cannot be scraped is named, with why', () => {
  it('regression (read "no meshed pods found"): nothing listening: "connection refused", exit 1, at once', async () => {
    const address = `127.0.0.1:${await freePort()}`;
    const t0 = Date.now();
    const r = await runMeshtap(['stat', 'deploy', '--admin', address, '-t', '10s']);
    expect(r.code).toBe(1);
    expect(r.stdout).toBe('');
    expect(r.stderr).toBe(`meshtap: cannot scrape the sidecar admin address ${address} (connection refused): is 'meshtap proxy --admin ADDR' running there?\n`);
    expect(Date.now() - t0).toBeLessThan(8_000); // not after the 10 s window
  });

  it('a peer that resets the connection: "connection reset"; one that closes it: "closed before an answer"; one that answers something not HTTP: "not an HTTP/1 answer"', async () => {
    const reset = await listen((s) => s.resetAndDestroy());
    const r = await runMeshtap(['stat', 'deploy', '--admin', reset, '-t', '1s']);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(new RegExp(`^meshtap: cannot scrape the sidecar admin address ${reset} \\(connection reset\\)`));
    const closing = await listen((s) => s.end());
    const c = await runMeshtap(['stat', 'deploy', '--admin', closing, '-t', '1s']);
    expect(c.code).toBe(1);
    expect(c.stderr).toMatch(new RegExp(`^meshtap: cannot scrape the sidecar admin address ${closing} \\(connection closed before an answer\\)`));
    const garbage = await listen((s) => s.end('SSH-2.0-OpenSSH_9.6\r\n\r\n'));
    const g = await runMeshtap(['stat', 'deploy', '--admin', garbage, '-t', '1s']);
    expect(g.code).toBe(1);
    expect(g.stderr).toMatch(new RegExp(`^meshtap: cannot scrape the sidecar admin address ${garbage} \\(not an HTTP/1 answer\\)`));
  });

  it('a sidecar that answers and one that does not: only the one that does not is named; the answering one alone is served', async () => {
    const gone = `127.0.0.1:${await freePort()}`;
    const r = await runMeshtap(['stat', 'deploy', '--admin', sidecar.admin!, '--admin', gone, '-t', '1s']);
    expect(r.code).toBe(1);
    expect(r.stderr).toBe(`meshtap: cannot scrape the sidecar admin address ${gone} (connection refused): is 'meshtap proxy --admin ADDR' running there?\n`);
    const ok = await runMeshtap(['stat', 'deploy', '--admin', sidecar.admin!, '-t', '1s']);
    expect(ok.code, ok.stderr).toBe(0);
    expect(ok.stdout).toMatch(/^NAMESPACE\s+NAME\s.*\ndefault\s+deploy\/web\s+1\/1\s/);
  });

  it('an address that accepts and never answers: "no answer within N ms" (collectStats, a short scrape timeout)', async () => {
    const silent = await listen((s) => void held.push(s));
    const err = await collectStats({ targets: ['deploy'], windowMs: 100, admin: [silent], scrapeTimeoutMs: 300 }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(MeshtapError);
    expect((err as MeshtapError).code).toBe('MT_ADMIN_UNREACHABLE');
    expect((err as Error).message).toBe(`cannot scrape the sidecar admin address ${silent} (no answer within 300 ms): is 'meshtap proxy --admin ADDR' running there?`);
  });
});
