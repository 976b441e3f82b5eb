/**
 * Regression (session 8 walk-through): `meshtap record deploy/web -o - | jq` wrote a file named
 * `-` in the current directory and printed nothing. `-o -` now writes the recording to stdout
 * (header line, then exchange lines, as `tcpdump -w -`), and creates no file.
 */
import { execFile } from 'node:child_process';
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MESHTAP_BIN, startSidecarProcess, type SidecarProcess } from './support/meshtap-process.js';
import { until } from './support/until.js';

const run = promisify(execFile);
let origin: http.Server;
let sidecar: SidecarProcess;
let cwd: string;

beforeAll(async () => {
  cwd = await mkdtemp(join(tmpdir(), 'mt-record-stdout-'));
  origin = http.createServer((req, res) => res.end(`got ${req.url}`));
  await new Promise<void>((r) => origin.listen(0, '127.0.0.1', r));
  sidecar = await startSidecarProcess(['--forward', `127.0.0.1:0=127.0.0.1:${(origin.address() as AddressInfo).port}`, '--admin', '127.0.0.1:0', '--tap', '127.0.0.1:0', '--recorder-bodies']);
  for (const path of ['/one', '/two']) await (await fetch(`http://${sidecar.forwards[0]!.address}${path}`)).text();
});

afterAll(async () => {
  await sidecar?.stop();
  await new Promise((r) => origin?.close(r));
  await rm(cwd, { recursive: true, force: true });
});

describe('meshtap record -o -', () => {
  it('writes the recording to stdout and no file named -', async () => {
    let lines: Array<Record<string, unknown>> = [];
    let stderr = '';
    await until('both exchanges recorded', async () => {
      const r = await run(process.execPath, [MESHTAP_BIN, 'record', '--proxy', sidecar.tap!, '--last', '2', '-o', '-'], { cwd, timeout: 30_000 });
      lines = r.stdout.split('\n').filter(Boolean).map((l) => JSON.parse(l) as Record<string, unknown>);
      stderr = r.stderr;
      return lines.length === 3;
    });
    expect(lines[0]).toMatchObject({ format: 'meshtap-recording', version: 1 });
    expect(lines.slice(1).map((l) => [l.kind, l.path, (l.responseBody as { data: string }).data])).toEqual([['end', '/one', 'got /one'], ['end', '/two', 'got /two']]);
    expect(stderr).toMatch(/^meshtap: recording to stdout\nmeshtap: recorded 2 exchanges, .*; wrote stdout\n$/);
    expect(await readdir(cwd)).toEqual([]);
  }, 60_000);

  it('regression ("recorded 1 exchanges"): one exchange is said in the singular', async () => {
    const r = await run(process.execPath, [MESHTAP_BIN, 'record', '--proxy', sidecar.tap!, '--last', '1', '-o', '-'], { cwd, timeout: 30_000 });
    expect(r.stderr).toMatch(/^meshtap: recording to stdout\nmeshtap: recorded 1 exchange, .*; wrote stdout\n$/);
  }, 60_000);
});
