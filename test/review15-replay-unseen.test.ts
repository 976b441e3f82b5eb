/**
 * review15: `meshtap replay` compares what was seen of an answer meshtap stopped following
 * (`observer-gave-up` before the response came whole), not the part as if it were the whole. A
 * recorded head with the first bytes of its body, or no head at all, read as 'changed' against
 * the target's whole answer (status undefined vs 200, a cut body vs the body): a false mismatch
 * from our own give-up. A status that was seen and differs is still a mismatch. The real CLI
 * against a real HTTP server; the recording is a file as `record` writes it.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { runMeshtap } from './support/meshtap-process.js';

const dir = mkdtempSync(join(tmpdir(), 'mt-review15-replay-'));
const T0 = Date.parse('2026-12-07T21:00:00.000Z');

function exchange(n: number, path: string, over: object): object {
  return {
    kind: 'end', id: `1.${n}`, ts: new Date(T0 + n).toISOString(), proxy: 'in', src: '127.0.0.1:51234', dst: '127.0.0.1:8080', protocol: 'http/1.1',
    method: 'GET', scheme: 'http', authority: 'svc', path, requestHeaders: [['Host', 'svc']], trailers: [], durationMs: 1, requestBytes: 0, ...over,
  };
}
const body = (data: string) => ({ size: data.length, truncated: false, encoding: 'utf8', data });
const RECORDING = [
  exchange(1, '/whole', { status: 200, responseHeaders: [['Content-Type', 'text/plain']], responseBody: body('answer to /whole'), responseBytes: 16 }),
  // Head and the first bytes of the body seen, then the observer gave up on the connection.
  exchange(2, '/head-seen', { status: 200, responseHeaders: [['Content-Type', 'text/plain']], responseBody: body('answer'), responseBytes: 6, error: 'observer-gave-up' }),
  // Nothing of the answer seen.
  exchange(3, '/nothing-seen', { error: 'observer-gave-up' }),
  // A head that was seen and differs from the target's: a real difference.
  exchange(4, '/other-status', { status: 404, responseHeaders: [['Content-Type', 'text/plain']], error: 'observer-gave-up' }),
];

describe('review15: replay compares what was seen of an answer whose end went unseen', () => {
  let server: Server;
  afterAll(async () => {
    server?.closeAllConnections();
    await new Promise((r) => server?.close(r));
    rmSync(dir, { recursive: true, force: true });
  });

  it('a head and a body prefix seen, or nothing seen, match the whole answer; a seen status that differs does not', async () => {
    server = createServer((req, res) => {
      res.setHeader('content-type', 'text/plain');
      res.end(`answer to ${req.url}`);
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const file = join(dir, 'r.jsonl');
    const header = { format: 'meshtap-recording', version: 1, created: new Date(T0).toISOString(), source: { kind: 'proxy', target: '127.0.0.1:4190' }, meshtap: '0.1.0' };
    writeFileSync(file, [header, ...RECORDING].map((l) => JSON.stringify(l)).join('\n') + '\n');
    const r = await runMeshtap(['replay', file, '--target', `http://127.0.0.1:${(server.address() as AddressInfo).port}`, '--speed', 'max', '-o', 'json'], { timeoutMs: 60_000 });
    expect(r.code).toBe(1); // /other-status
    const { results } = JSON.parse(r.stdout) as { results: Array<{ path: string; outcome: string; differences: Array<{ field: string }> }> };
    const byPath = Object.fromEntries(results.map((x) => [x.path, [x.outcome, x.differences.map((d) => d.field)]]));
    expect(byPath).toEqual({
      '/whole': ['match', []],
      '/head-seen': ['match', []],
      '/nothing-seen': ['match', []],
      '/other-status': ['mismatch', ['status']],
    });
  }, 90_000);
});
