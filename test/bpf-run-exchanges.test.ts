/**
 * `meshtap run` useful alone (issue 11 item 6): `meshtap run -- curl http://127.0.0.1:…` showed
 * nothing — loopback destinations were silently not intercepted and the exchanges of CMD were
 * printed nowhere. Now it prints CMD's exchanges on stderr (-o json here), writes them with
 * --record, says what it does not intercept, and ends without a tap error. The real CLI, a real
 * curl, a real server on 127.0.0.1. Needs root, cgroup v2, the built addon and dist/.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { meshtapRunSkipReason, reportBpfSkip } from './bpf-skip.js';

const CLI = fileURLToPath(new URL('../dist/bin/meshtap.js', import.meta.url));
const skip = await meshtapRunSkipReason(CLI);
if (skip) reportBpfSkip('test/bpf-run-exchanges.test.ts', skip);

describe.skipIf(skip !== undefined)('meshtap run prints and records CMD exchanges', { timeout: 60_000 }, () => {
  let server: Server;
  let url = '';
  const dir = mkdtempSync(join(tmpdir(), 'mt-run-ex-'));
  beforeAll(async () => {
    server = createServer((req, res) => res.end(`hello ${req.url}`));
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterAll(() => {
    server?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('a loopback destination is intercepted; the exchange is printed and recorded; the tap ends quietly', async () => {
    const rec = join(dir, 'curl.jsonl');
    const child = spawn(process.execPath, [CLI, 'run', '-o', 'json', '--record', rec, '--', 'curl', '-sf', `${url}/loop?x=1`], { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, MESHTAP_TAP_API: '' } });
    let out = '';
    let err = '';
    child.stdout.on('data', (d) => (out += d));
    child.stderr.on('data', (d) => (err += d));
    const code = await new Promise<number | null>((r) => child.once('exit', r));
    expect(code).toBe(0);
    expect(out).toBe('hello /loop?x=1'); // CMD keeps stdout
    expect(err).toMatch(/meshtap run: intercepting CMD's outbound TCP connects, loopback included; not intercepted: UDP/);
    const ends = err.split('\n').filter((l) => l.startsWith('{')).map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(ends).toHaveLength(1);
    expect(ends[0]).toMatchObject({ kind: 'end', proxy: 'out', dst: url.slice(7), method: 'GET', path: '/loop?x=1', status: 200 });
    expect(err).not.toMatch(/RST_STREAM|Error:|tap stream/);
    const lines = readFileSync(rec, 'utf8').trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(lines[0]).toMatchObject({ format: 'meshtap-recording' });
    expect(lines.slice(1)).toHaveLength(1);
    expect(lines[1]).toMatchObject({ path: '/loop?x=1', status: 200, responseBody: { data: 'hello /loop?x=1' } });
  });
});
