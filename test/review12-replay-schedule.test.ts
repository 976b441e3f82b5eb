/**
 * review12: `meshtap replay` at the recorded pace (the default) or a --rate set one timer and one
 * abort listener per exchange at its start, so every replay of more than ten exchanges printed
 * Node's "MaxListenersExceededWarning: Possible EventTarget memory leak detected" to the user, and
 * the timers, listeners and waiting promises grew with the recording (and again with each --loop).
 * Through the real CLI against a real HTTP server: the replay runs, in order, at its pace, and
 * prints no warning.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runMeshtap } from './support/meshtap-process.js';

const dir = mkdtempSync(join(tmpdir(), 'mt-review12-replay-'));
const T0 = Date.parse('2026-12-01T10:00:00.000Z');
const N = 40;

function exchange(i: number) {
  const path = `/item/${i}`;
  return {
    // One recorded connection: its exchanges are replayed one after the other, in order.
    kind: 'end', id: `1.${i + 1}`, ts: new Date(T0 + i * 5).toISOString(), proxy: 'in', src: '127.0.0.1:51234', dst: '127.0.0.1:8080', dstWorkload: 'deploy/web', dstNamespace: 'shop',
    protocol: 'http/1.1', method: 'GET', scheme: 'http', authority: 'svc', path, requestHeaders: [['Host', 'svc']],
    status: 200, responseHeaders: [['Content-Type', 'text/plain']], durationMs: 1, requestBytes: 0, responseBytes: path.length,
    responseBody: { size: path.length, truncated: false, encoding: 'utf8', data: path },
  };
}

describe('meshtap replay: one timer at a time', () => {
  let server: Server;
  let url: string;
  const paths: string[] = [];
  const file = join(dir, 'items.jsonl');
  beforeAll(async () => {
    const header = { format: 'meshtap-recording', version: 1, created: new Date(T0).toISOString(), source: { kind: 'workload', target: 'deploy/web', namespace: 'shop' }, meshtap: '0.1.0' };
    writeFileSync(file, [header, ...Array.from({ length: N }, (_, i) => exchange(i))].map((l) => JSON.stringify(l)).join('\n') + '\n');
    server = createServer((req, res) => {
      paths.push(req.url!);
      res.setHeader('content-type', 'text/plain');
      res.end(req.url);
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterAll(async () => {
    server?.closeAllConnections();
    await new Promise((r) => server?.close(r));
    rmSync(dir, { recursive: true, force: true });
  });

  it.each([
    ['the recorded pace', [] as string[]],
    ['a --rate, twice over', ['--rate', '400/s', '--loop', '2']],
  ])('at %s: every exchange, in order, and no warning', async (_name, flags) => {
    paths.length = 0;
    const r = await runMeshtap(['replay', file, '--target', url, ...flags]);
    expect(r.stderr).not.toMatch(/MaxListeners|memory leak|Warning/);
    expect(r.code).toBe(0);
    const once = Array.from({ length: N }, (_, i) => `/item/${i}`);
    expect(paths).toEqual(flags.includes('--loop') ? [...once, ...once] : once);
  }, 30_000);
});
