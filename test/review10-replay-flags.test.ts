/**
 * review10 (walk-through): `meshtap replay FILE --target URL --report DIR/r.xml` with a directory
 * that does not exist sent the whole recording to the target, printed the results, and then
 * failed with "unexpected error: Error: ENOENT" and a stack trace (no report, exit 1). And
 * `--timeout 5`, `--concurrency x`, `--set-header x` were checked only after the recording was read
 * and the target contacted. Now each is one line and exit 2, before the target sees a connection.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runMeshtap } from './support/meshtap-process.js';

const dir = mkdtempSync(join(tmpdir(), 'mt-review10-replay-'));
const file = join(dir, 'one.jsonl');
writeFileSync(
  file,
  [
    { format: 'meshtap-recording', version: 1, created: '2026-12-07T05:00:00.000Z', source: { kind: 'other', description: 'review10' }, meshtap: '0.1.0' },
    { kind: 'end', id: '1.1', ts: '2026-12-07T05:00:00.100Z', proxy: 'in', src: '127.0.0.1:5000', dst: '127.0.0.1:8080', protocol: 'http/1.1', method: 'GET', scheme: 'http', authority: 'web', path: '/ok', requestHeaders: [['Host', 'web']], status: 200, responseHeaders: [], durationMs: 1, responseBody: { size: 2, truncated: false, encoding: 'utf8', data: 'ok' } },
  ].map((l) => JSON.stringify(l)).join('\n') + '\n',
);

let target: Server;
let connections = 0;
beforeAll(async () => {
  target = createServer((_req, res) => res.end('ok'));
  target.on('connection', () => connections++);
  await new Promise<void>((r) => target.listen(0, '127.0.0.1', r));
});
afterAll(async () => {
  target.closeAllConnections();
  await new Promise((r) => target.close(r));
  rmSync(dir, { recursive: true, force: true });
});
const url = () => `http://127.0.0.1:${(target.address() as AddressInfo).port}`;

describe('review10: replay flag mistakes are refused before the target is contacted', () => {
  it.each([
    [['--report', join(dir, 'missing', 'r.xml')], /^meshtap: --report: cannot write .*missing\/r\.xml: directory .*missing does not exist$/],
    [['--report', dir], /^meshtap: --report: cannot write .*: .* is a directory$/],
    [['--timeout', '5'], /^meshtap: --timeout: '5' has no unit/],
    [['--concurrency', 'x'], /^meshtap: --concurrency: 'x' is not a positive whole number$/],
    [['--set-header', 'novalue'], /^meshtap: --set-header: 'novalue' is not NAME=VALUE$/],
  ])('%j', async (flags, says) => {
    connections = 0;
    const r = await runMeshtap(['replay', file, '--target', url(), ...flags]);
    expect(r.code, r.stderr).toBe(2);
    expect(r.stderr.trim().split('\n'), r.stderr).toHaveLength(1);
    expect(r.stderr.trim()).toMatch(says);
    expect(r.stdout).toBe('');
    expect(connections, 'the target was contacted').toBe(0);
  }, 30_000);

  it('a writable --report is written (and an existing one replaced, as test runners do)', async () => {
    const report = join(dir, 'r.xml');
    writeFileSync(report, 'old');
    const r = await runMeshtap(['replay', file, '--target', url(), '--report', report]);
    expect(r.code, r.stderr).toBe(0);
    const { readFileSync } = await import('node:fs');
    expect(readFileSync(report, 'utf8')).toMatch(/^<\?xml .*<testsuite name="meshtap replay" tests="1" failures="0"/s);
  }, 30_000);

  it('one exchange is said in the singular (replay summary, mock banner)', async () => {
    const r = await runMeshtap(['replay', file, '--target', url()]);
    expect(r.stdout).toMatch(/^1 exchange: 1 matched, 0 mismatched, 0 failed/m);
    const { spawnMeshtap } = await import('./support/meshtap-process.js');
    const mock = spawnMeshtap(['mock', file, '--listen', '127.0.0.1:0']);
    try {
      expect(await mock.waitForStderr(/listening /)).toMatch(/^meshtap: serving 1 recorded exchange\n/);
    } finally {
      mock.kill('SIGTERM');
      await mock.done;
    }
  }, 30_000);
});
