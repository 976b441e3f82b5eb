/**
 * Ctrl-C on a streaming command (`tap`, `top`, `record`) exits 130 (128 + SIGINT), as kubectl and
 * linkerd do and as a shell reports its own interrupted job, once the command cleaned up as on any
 * other end: what it printed or wrote before is complete. It exited 0, so a script could not tell an
 * interrupted tap from one that ended by itself. SIGTERM and a reader that went away (`| head`,
 * test/cli-broken-pipe.test.ts) stay a quiet 0. Real processes: a sidecar, the CLI, SIGINT.
 */
import * as http from 'node:http';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readRecording } from '../record/index.js';
import { spawnMeshtap, startSidecarProcess, type CliProcess, type SidecarProcess } from './support/meshtap-process.js';
import { until } from './support/until.js';

let upstream: http.Server;
let sidecar: SidecarProcess;
let dir: string;

beforeAll(async () => {
  upstream = http.createServer((req, res) => {
    req.resume();
    req.on('end', () => res.end('hello'));
  });
  await new Promise<void>((resolve) => upstream.listen(0, '127.0.0.1', resolve));
  sidecar = await startSidecarProcess(['--forward', `127.0.0.1:0=127.0.0.1:${(upstream.address() as AddressInfo).port}`, '--admin', '127.0.0.1:0', '--tap', '127.0.0.1:0']);
  dir = mkdtempSync(join(tmpdir(), 'bound12-interrupt-'));
});

afterAll(async () => {
  await sidecar?.stop();
  upstream?.close();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

const send = (path: string): Promise<void> =>
  new Promise((resolve, reject) => {
    http.get(`http://${sidecar.forwards[0]!.address}${path}`, { agent: false }, (res) => res.resume().on('end', resolve)).on('error', reject);
  });

/** Sends requests until the command shows it saw one (`seen`), so the stream is live before the signal. */
async function trafficUntil(cli: CliProcess, seen: () => boolean | Promise<boolean>, path: string): Promise<void> {
  await until(`${path} seen by the command`, async () => {
    await send(path);
    await new Promise((resolve) => setTimeout(resolve, 100));
    return await seen();
  }, 20_000);
  expect(cli.child.exitCode).toBeNull();
}

describe('Ctrl-C ends a streaming command with exit status 130, its output complete', () => {
  it('tap -o json: SIGINT exits 130; every line printed before it is a whole event', async () => {
    const cli = spawnMeshtap(['tap', '--proxy', sidecar.tap!, '--path', '/tap-int', '-o', 'json']);
    await trafficUntil(cli, () => cli.stdout().includes('"kind":"end"'), '/tap-int');
    const before = cli.stdout();
    cli.kill('SIGINT');
    const r = await cli.done;
    expect(r.code, r.stderr).toBe(130);
    expect(r.signal).toBeNull();
    expect(r.stderr).toBe('');
    expect(r.stdout.startsWith(before)).toBe(true);
    expect(r.stdout.endsWith('\n')).toBe(true);
    const events = r.stdout.trimEnd().split('\n').map((l) => JSON.parse(l) as { kind: string; path: string });
    expect(events.some((e) => e.kind === 'end' && e.path === '/tap-int')).toBe(true);
  }, 40_000);

  it('tap: SIGTERM is still a quiet 0 (the user did not interrupt; a supervisor stopped it)', async () => {
    const cli = spawnMeshtap(['tap', '--proxy', sidecar.tap!, '--path', '/tap-term', '-o', 'json']);
    await trafficUntil(cli, () => cli.stdout().includes('"kind":"end"'), '/tap-term');
    cli.kill('SIGTERM');
    const r = await cli.done;
    expect(r.code, r.stderr).toBe(0);
  }, 40_000);

  it('top (not a terminal): SIGINT prints the final table, then exits 130', async () => {
    const cli = spawnMeshtap(['top', '--proxy', sidecar.tap!, '--path', '/top-int', '--refresh', '200ms']);
    await trafficUntil(cli, () => cli.stdout().includes('/top-int'), '/top-int');
    cli.kill('SIGINT');
    const r = await cli.done;
    expect(r.code, r.stderr).toBe(130);
    expect(r.stderr).toBe('');
    // The last table is whole: its header and the row.
    const last = r.stdout.slice(r.stdout.lastIndexOf(`top ${sidecar.tap!}`));
    expect(last).toMatch(/^top \S+ — \d+ exchanges?\n/);
    expect(last).toMatch(/\/top-int/);
    expect(last.endsWith('\n')).toBe(true);
  }, 40_000);

  it('record: SIGINT finishes the file (every exchange kept, no partial file left), then exits 130', async () => {
    const file = join(dir, 'int.jsonl');
    const cli = spawnMeshtap(['record', '--proxy', sidecar.tap!, '--path', '/rec-int', '-o', file]);
    await cli.waitForStderr(/recording to /);
    const partial = join(dir, `.int.jsonl.partial-${cli.child.pid}`);
    await trafficUntil(cli, () => readRecording(partial).then((rec) => rec.exchanges.length > 0, () => false), '/rec-int');
    cli.kill('SIGINT');
    const r = await cli.done;
    expect(r.code, r.stderr).toBe(130);
    expect(r.stderr).toMatch(/; stopped at your request \(Ctrl-C\); wrote .*int\.jsonl\n/);
    const rec = await readRecording(file);
    expect(rec.issues).toEqual([]);
    expect(rec.exchanges.length).toBeGreaterThanOrEqual(1);
    expect(existsSync(partial)).toBe(false);
  }, 40_000);

  it('record: SIGTERM finishes the file too, exits 0 and says a SIGTERM stopped it (not "aborted", session 13)', async () => {
    const file = join(dir, 'term.jsonl');
    const cli = spawnMeshtap(['record', '--proxy', sidecar.tap!, '--path', '/rec-term', '-o', file]);
    await cli.waitForStderr(/recording to /);
    const partial = join(dir, `.term.jsonl.partial-${cli.child.pid}`);
    await trafficUntil(cli, () => readRecording(partial).then((rec) => rec.exchanges.length > 0, () => false), '/rec-term');
    cli.kill('SIGTERM');
    const r = await cli.done;
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toMatch(/^meshtap: recorded \d+ exchanges?, .*; stopped by SIGTERM; wrote .*term\.jsonl\n/m);
    expect(r.stderr).not.toMatch(/aborted/);
    expect((await readRecording(file)).exchanges.length).toBeGreaterThanOrEqual(1);
  }, 40_000);
});
