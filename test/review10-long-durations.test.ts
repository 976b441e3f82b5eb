/**
 * review10: durations past setTimeout's 2^31-1 ms (24.8 days) fired after 1 ms (node prints a
 * TimeoutOverflowWarning and sets the delay to 1). `meshtap tap --since 1m --until <next month>
 * -f` printed nothing and exited 0 (not even the history it was asked for), `meshtap record
 * --duration 700h` stopped at once ("stopped (duration)") and `meshtap top --duration 700h`
 * drew one empty table and exited. They now run until the time, Ctrl-C or another limit.
 */
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { spawnMeshtap, startSidecarProcess, type SidecarProcess } from './support/meshtap-process.js';

const DAY_MS = 86_400_000;
let origin: http.Server;
let sidecar: SidecarProcess;
let dir: string;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'mt-review10-long-'));
  origin = http.createServer((req, res) => res.end(`got ${req.url}`));
  await new Promise<void>((r) => origin.listen(0, '127.0.0.1', r));
  sidecar = await startSidecarProcess(['--engine', 'js', '--forward', `127.0.0.1:0=127.0.0.1:${(origin.address() as AddressInfo).port}`, '--admin', '127.0.0.1:0', '--tap', '127.0.0.1:0']);
  await (await fetch(`http://${sidecar.forwards[0]!.address}/before`)).text();
});

afterAll(async () => {
  await sidecar?.stop();
  await new Promise((r) => origin?.close(r));
  await rm(dir, { recursive: true, force: true });
});

const pause = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('review10: --until / --duration beyond 24.8 days', () => {
  it('tap --since 1m --until (40 days ahead) -f prints the history and keeps following', async () => {
    const until = new Date(Date.now() + 40 * DAY_MS).toISOString().replace(/\.\d+Z$/, 'Z');
    const tap = spawnMeshtap(['tap', '--proxy', sidecar.tap!, '--since', '1m', '--until', until, '-f', '-o', 'json']);
    try {
      // The flight recorder's history is `end` events.
      const lines = await tap.waitForLines(1);
      expect(JSON.parse(lines[0]!)).toMatchObject({ kind: 'end', path: '/before' });
      await pause(1500);
      await (await fetch(`http://${sidecar.forwards[0]!.address}/live`)).text();
      const more = await tap.waitForLines(4);
      expect(more.slice(1).map((l) => JSON.parse(l) as { kind: string; path: string }).map((e) => `${e.kind} ${e.path}`)).toEqual(['req /live', 'rsp /live', 'end /live']);
      expect(tap.stderr()).not.toMatch(/TimeoutOverflowWarning/);
    } finally {
      tap.kill('SIGINT');
    }
    expect((await tap.done).code).toBe(130); // Ctrl-C: interrupted (test/bound12-cli-interrupt.test.ts)
  }, 60_000);

  it('record --duration 700h keeps recording until Ctrl-C', async () => {
    const file = join(dir, 'long.jsonl');
    const rec = spawnMeshtap(['record', '--proxy', sidecar.tap!, '--duration', '700h', '-o', file]);
    await rec.waitForStderr(/recording to /);
    await pause(1500);
    await (await fetch(`http://${sidecar.forwards[0]!.address}/during`)).text();
    await pause(1500);
    rec.kill('SIGINT');
    const r = await rec.done;
    expect(r.code, r.stderr).toBe(130); // Ctrl-C: interrupted, the file finished (test/bound12-cli-interrupt.test.ts)
    expect(r.stderr).toMatch(/recorded 1 exchange, .*stopped at your request \(Ctrl-C\); wrote /);
    expect(r.stderr).not.toMatch(/TimeoutOverflowWarning/);
  }, 60_000);

  it('top --duration 700h is still running after 2 s', async () => {
    const top = spawnMeshtap(['top', '--proxy', sidecar.tap!, '--duration', '700h']);
    await pause(2000);
    const exited = await Promise.race([top.done.then(() => true), pause(10).then(() => false)]);
    top.kill('SIGINT');
    await top.done;
    expect(exited, top.stderr()).toBe(false);
  }, 60_000);
});
