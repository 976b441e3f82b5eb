/**
 * `meshtap run` seen through the tap plane: an unchanged curl under `meshtap run` is
 * intercepted by BPF, and its exchange appears in a live tap stream of the run's sidecar
 * (`meshtap tap --proxy TAPADDR -o json --limit 1`, the real CLI over gRPC) with the
 * original destination the application dialled (`dst`), method, path and status — not
 * only in /metrics. Needs root, cgroup v2, the built addon, iproute2, curl and dist/.
 */
import { execFile, execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { existsSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createNetns, deleteNetns, runPrerequisiteProblem, type Netns } from '../bpf/index.js';
import { meshtapRunSkipReason, reportBpfSkip } from './bpf-skip.js';

const CLI = fileURLToPath(new URL('../dist/bin/meshtap.js', import.meta.url));

const skip = await meshtapRunSkipReason(CLI);
if (skip) reportBpfSkip('test/bpf-run-tap.test.ts', skip);

describe.skipIf(skip !== undefined)('meshtap run + tap', { timeout: 60_000 }, () => {
  let netns: Netns;
  let server: Server;
  let port = 0;
  let run: ChildProcess | undefined;
  const flag = join(tmpdir(), `mt-run-tap-${process.pid}-${Date.now()}`);

  beforeAll(async () => {
    netns = await createNetns();
    server = createServer((req, res) => {
      res.setHeader('x-served-by', 'tap-test');
      res.end(`hello ${req.url}`);
    });
    await new Promise<void>((r) => server.listen(0, netns.hostAddress, r));
    port = (server.address() as AddressInfo).port;
  });

  afterAll(async () => {
    writeFileSync(flag, '');
    if (run && run.exitCode === null) {
      run.kill('SIGTERM');
      await new Promise((r) => run!.once('exit', r));
    }
    rmSync(flag, { force: true });
    server?.close();
    if (netns) await deleteNetns(netns);
  });

  it('the exchange of a command under meshtap run appears in a live tap of its sidecar with the original destination', async () => {
    const url = `http://${netns.hostAddress}:${port}/tapped?q=1`;
    // keep making requests until the tap has one: no race with the tap subscribing
    const script = `while [ ! -e ${flag} ]; do curl -sf -H 'x-probe: tap' '${url}' >/dev/null; sleep 0.2; done`;
    run = spawn(process.execPath, [CLI, 'run', '--name', 'tapped', '--', 'sh', '-c', script], { stdio: ['ignore', 'ignore', 'pipe'] });
    const exit = new Promise<number | null>((r) => run!.once('exit', (c) => r(c)));
    const tapAddr = await new Promise<string>((resolve, reject) => {
      let buf = '';
      run!.stderr!.setEncoding('utf8');
      run!.stderr!.on('data', (d: string) => {
        buf += d;
        const m = /^meshtap run: tap (\S+)$/m.exec(buf);
        if (m) resolve(m[1]);
      });
      run!.once('exit', () => reject(new Error(`meshtap run exited early: ${buf}`)));
    });

    const { stdout } = await promisify(execFile)(process.execPath, [CLI, 'tap', '--proxy', tapAddr, '-o', 'json', '--limit', '1'], { timeout: 40_000 });
    writeFileSync(flag, '');
    const events = stdout.split('\n').filter(Boolean).map((l) => JSON.parse(l) as Record<string, unknown>);
    const req = events.find((e) => e.kind === 'req');
    const end = events.find((e) => e.kind === 'end');
    expect(req).toMatchObject({ proxy: 'out', dst: `${netns.hostAddress}:${port}`, method: 'GET', path: '/tapped?q=1', authority: `${netns.hostAddress}:${port}` });
    expect(end).toMatchObject({ id: req!.id, dst: `${netns.hostAddress}:${port}`, status: 200, path: '/tapped?q=1' });
    expect(end!.requestHeaders).toContainEqual(['x-probe', 'tap']);
    expect(await exit).toBe(0);
  });
});
