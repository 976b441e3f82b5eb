/**
 * Regression (issue 11 item 2, "`meshtap tap … | head` crashes with a 20-line `write EPIPE`
 * stack trace and exits 1"): every command writing to stdout ends quietly with exit 0 when its
 * reader goes away, as `kubectl get … | head` does. The real CLI against a real sidecar; the
 * reader is a real pipe that we close after the first line, like `head -1`.
 */
import { spawn } from 'node:child_process';
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MESHTAP_BIN, startSidecarProcess, type SidecarProcess } from './support/meshtap-process.js';

let origin: http.Server;
let sidecar: SidecarProcess;
let traffic: NodeJS.Timeout | undefined;

beforeAll(async () => {
  origin = http.createServer((_req, res) => res.end('ok'));
  await new Promise<void>((r) => origin.listen(0, '127.0.0.1', r));
  sidecar = await startSidecarProcess(['--forward', `127.0.0.1:0=127.0.0.1:${(origin.address() as AddressInfo).port}`, '--admin', '127.0.0.1:0', '--tap', '127.0.0.1:0']);
  // Steady traffic, so a tap always has something more to write after its reader left.
  traffic = setInterval(() => {
    http.get({ host: '127.0.0.1', port: sidecar.forwards[0]!.port, path: '/tick', agent: false }, (res) => res.resume()).on('error', () => undefined);
  }, 20);
});

afterAll(async () => {
  clearInterval(traffic);
  await sidecar?.stop();
  await new Promise((r) => origin?.close(r));
});

/** Runs `meshtap ARGS`, closes its stdout pipe after the first line (like `| head -1`), and returns how it ended. */
function headOne(args: string[]): Promise<{ code: number | null; signal: NodeJS.Signals | null; stderr: string; first: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [MESHTAP_BIN, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    const kill = setTimeout(() => child.kill('SIGKILL'), 20_000);
    let out = '';
    let err = '';
    let first = '';
    child.stderr!.setEncoding('utf8').on('data', (t: string) => (err += t));
    child.stdout!.setEncoding('utf8').on('data', (t: string) => {
      out += t;
      const nl = out.indexOf('\n');
      if (nl !== -1 && !first) {
        first = out.slice(0, nl);
        child.stdout!.destroy(); // the reader goes away
      }
    });
    child.once('error', reject);
    child.once('close', (code, signal) => {
      clearTimeout(kill);
      resolve({ code, signal, stderr: err, first });
    });
  });
}

describe('a reader that goes away (| head)', { timeout: 60_000 }, () => {
  it('tap (text): exit 0, nothing on stderr', async () => {
    const r = await headOne(['tap', '--proxy', sidecar.tap!]);
    // Usually a `req`; the `rsp` or `end` of an exchange already in flight when the tap attached
    // (a loaded machine) is a first line as good.
    expect(r.first).toMatch(/ (req .*:path=\/tick|rsp id=\S+ .*:status=200|end .*:path=\/tick)/);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
  });

  it('tap -o json: exit 0, nothing on stderr', async () => {
    const r = await headOne(['tap', '--proxy', sidecar.tap!, '-o', 'json']);
    expect(JSON.parse(r.first)).toMatchObject({ path: '/tick' });
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
  });

  it('tap --last --follow (history, then live): exit 0, nothing on stderr', async () => {
    const r = await headOne(['tap', '--proxy', sidecar.tap!, '--last', '1', '-f']);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
  });

  it('top with no --limit or --duration (waited forever: a pipe got nothing until Ctrl-C): a table every --refresh, exit 0', async () => {
    const r = await headOne(['top', '--proxy', sidecar.tap!, '--refresh', '200ms']);
    expect(r.first).toMatch(/^top \S+ — \d+ exchanges/);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
  });

  it('record -o - (a recording on stdout): exit 0, nothing on stderr but the one note', async () => {
    const r = await headOne(['record', '--proxy', sidecar.tap!, '-o', '-']);
    expect(JSON.parse(r.first)).toMatchObject({ format: 'meshtap-recording' });
    expect(r.stderr).toMatch(/^(meshtap: recording to stdout\n)?$/);
    expect(r.code).toBe(0);
  });

  it('help text into a closed pipe: exit 0', async () => {
    const r = await headOne(['tap', '--help']);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
  });
});
