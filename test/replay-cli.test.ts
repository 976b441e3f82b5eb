/**
 * `meshtap replay` through the real CLI against real HTTP servers. Regressions (issue 11 item 8):
 * replaying a workload's recording against that workload also sent its outbound calls there
 * (122 of 138 "mismatched" on the demo); a dead --target ran the whole recording and printed a
 * latency summary of nothing; Ctrl-C killed the replay without the summary of what ran.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { runMeshtap, spawnMeshtap } from './support/meshtap-process.js';

const dir = mkdtempSync(join(tmpdir(), 'mt-replay-cli-'));
const servers: Server[] = [];
afterEach(async () => {
  for (const s of servers.splice(0)) {
    s.closeAllConnections();
    await new Promise((r) => s.close(r));
  }
});
process.on('exit', () => rmSync(dir, { recursive: true, force: true }));

const T0 = Date.parse('2025-03-01T10:00:00.000Z');
function exchange(id: string, proxy: 'in' | 'out', path: string, atMs: number, dstWorkload: string) {
  return {
    kind: 'end', id, ts: new Date(T0 + atMs).toISOString(), proxy, src: '127.0.0.1:51234', dst: '127.0.0.1:8080', dstWorkload, dstNamespace: 'shop',
    protocol: 'http/1.1', method: 'GET', scheme: 'http', authority: 'svc', path, requestHeaders: [['Host', 'svc']],
    status: 200, responseHeaders: [['Content-Type', 'text/plain']], trailers: [], durationMs: 1, requestBytes: 0, responseBytes: path.length,
    responseBody: { size: path.length, truncated: false, encoding: 'utf8', data: path },
  };
}
function writeRecording(name: string, exchanges: object[]): string {
  const file = join(dir, name);
  const header = { format: 'meshtap-recording', version: 1, created: new Date(T0).toISOString(), source: { kind: 'workload', target: 'deploy/web', namespace: 'shop' }, meshtap: '0.1.0' };
  writeFileSync(file, [header, ...exchanges].map((l) => JSON.stringify(l)).join('\n') + '\n');
  return file;
}
/** A server answering every path with the path itself (what the recordings above expect). */
async function echoServer(onRequest: (path: string) => void = () => undefined): Promise<{ url: string; paths: string[]; server: Server }> {
  const paths: string[] = [];
  const server = createServer((req, res) => {
    paths.push(req.url!);
    onRequest(req.url!);
    res.setHeader('content-type', 'text/plain');
    res.end(req.url);
  });
  servers.push(server);
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, paths, server };
}

describe('meshtap replay', () => {
  const workload = writeRecording('web.jsonl', [
    exchange('1.1', 'in', '/api/list', 0, 'deploy/web'),
    exchange('2.1', 'out', '/emoji/1', 5, 'deploy/emoji'),
    exchange('2.2', 'out', '/emoji/2', 6, 'deploy/emoji'),
    exchange('3.1', 'out', '/votes', 7, 'deploy/voting'),
    exchange('1.2', 'in', '/api/vote', 10, 'deploy/web'),
  ]);

  it('sends what the workload served, counts the outbound calls it left out per destination, and --direction out selects them', async () => {
    const web = await echoServer();
    const r = await runMeshtap(['replay', workload, '--target', web.url, '--speed', 'max']);
    expect(r.code).toBe(0);
    expect(web.paths.sort()).toEqual(['/api/list', '/api/vote']);
    expect(r.stdout).toMatch(/^2 exchanges: 2 matched, 0 mismatched, 0 failed/m);
    expect(r.stderr).toMatch(/left out its 3 outbound calls \(2 to deploy\/emoji, 1 to deploy\/voting\).*--direction out --to deploy\/NAME/);

    const emoji = await echoServer();
    const calls = await runMeshtap(['replay', workload, '--target', emoji.url, '--speed', 'max', '--direction', 'out', '--to', 'deploy/emoji']);
    expect(calls.code).toBe(0);
    expect(emoji.paths.sort()).toEqual(['/emoji/1', '/emoji/2']);
    const bad = await runMeshtap(['replay', workload, '--target', emoji.url, '--direction', 'sideways']);
    expect(bad.code).toBe(2);
  });

  it('a recording of calls only (no inbound exchange) is replayed whole', async () => {
    const client = writeRecording('client.jsonl', [exchange('1.1', 'out', '/a', 0, 'deploy/api'), exchange('1.2', 'out', '/b', 1, 'deploy/api')]);
    const api = await echoServer();
    const r = await runMeshtap(['replay', client, '--target', api.url, '--speed', 'max']);
    expect(r.code).toBe(0);
    expect(api.paths).toEqual(['/a', '/b']);
  });

  it('a dead --target stops at once with "cannot connect to …" (exit 1), not a report of nothing', async () => {
    const gone = await echoServer();
    const url = gone.url;
    await new Promise((r) => gone.server.close(r));
    servers.splice(servers.indexOf(gone.server), 1);
    const r = await runMeshtap(['replay', workload, '--target', url]);
    expect(r.code).toBe(1);
    expect(r.stdout).toBe('');
    expect(r.stderr).toMatch(new RegExp(`cannot connect to ${url.replace(/\./g, '\\.')}: connection refused`));
    expect(r.stderr).not.toMatch(/latency/);
  });

  it('a target that goes away during the replay stops it early with "cannot connect to …" and the report of what ran', async () => {
    const many = writeRecording('many.jsonl', Array.from({ length: 40 }, (_, i) => exchange(`${i + 1}.1`, 'in', `/n/${i}`, i * 10, 'deploy/web')));
    const web = await echoServer((path) => {
      if (path === '/n/2') setImmediate(() => {
        web.server.close();
        web.server.closeAllConnections();
      });
    });
    const r = await runMeshtap(['replay', many, '--target', web.url, '--rate', '20/s', '--concurrency', '1']);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/replay stopped: cannot connect to http:\/\/127\.0\.0\.1:\d+ .* any more; \d+ of 40 exchanges ran/);
    const ran = Number(/(\d+) of 40 exchanges ran/.exec(r.stderr)![1]);
    expect(ran).toBeLessThan(15);
    expect(r.stdout).toMatch(new RegExp(`^${ran} exchanges: 3 matched`, 'm'));
  });

  it('Ctrl-C prints the report of what ran and exits 1', async () => {
    const slow = writeRecording('slow.jsonl', Array.from({ length: 20 }, (_, i) => exchange(`${i + 1}.1`, 'in', `/s/${i}`, i * 500, 'deploy/web')));
    let seen = 0;
    let twoSeen!: () => void;
    const two = new Promise<void>((r) => (twoSeen = r));
    const web = await echoServer(() => {
      if (++seen === 2) twoSeen();
    });
    const p = spawnMeshtap(['replay', slow, '--target', web.url]);
    await two;
    await new Promise((r) => setTimeout(r, 100));
    p.kill('SIGINT');
    const r = await p.done;
    expect(r.code).toBe(1);
    expect(r.stdout).toMatch(/^[23] exchanges: [23] matched, 0 mismatched, 0 failed/m);
    expect(r.stderr).toMatch(/replay stopped: interrupted; [23] of 20 exchanges ran/);
  });
});
