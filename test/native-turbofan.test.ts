/**
 * Issue 14 (tapped RSS ≤ 60 MB): the native sidecar runs without V8's optimizing compiler (TurboFan)
 * while its JS thread does not see the traffic — start-up, scrapes, a rate-limited tap — and with it
 * while a tap makes JS see every exchange (bin/optimizing-compiler.ts). The first TurboFan job makes
 * ~3.3 MB of node's executable resident; before this, the ES module loader's path functions got hot
 * enough for one while the sidecar started. The js engine, which forwards in JS, keeps TurboFan.
 *
 * Observed on the real process: node's own `--trace-opt` (a tracing flag, not a choice of compiler,
 * so the sidecar's policy applies) prints each TurboFan compilation on stdout.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { openCountingTap, type CountingTap } from './support/counting-tap.js';
import { MESHTAP_BIN } from './support/meshtap-process.js';
import { scrape, sumMetric } from './support/metrics-scrape.js';
import { stopChild } from './support/stop-child.js';
import { until } from './support/until.js';

const ADDON = fileURLToPath(new URL('../native/build/Release/meshtap_native.node', import.meta.url));
const TURBOFAN = /\(target TURBOFAN\)/;

interface Traced {
  child: ChildProcess;
  forward: string;
  admin: string;
  tap: string;
  /** What --trace-opt printed so far. */
  trace(): string;
}

let backend: http.Server | undefined;
let sidecar: { child: ChildProcess; exit: Promise<unknown> } | undefined;
let taps: CountingTap[] = [];
afterEach(async () => {
  await Promise.all(taps.map((t) => t.close().catch(() => undefined)));
  taps = [];
  if (sidecar) await stopChild(sidecar.child, sidecar.exit);
  sidecar = undefined;
  await new Promise((r) => (backend ? backend.close(r) : r(undefined)));
  backend = undefined;
});

async function startBackend(): Promise<number> {
  backend = http.createServer((req, res) => {
    req.resume();
    req.on('end', () => res.end('ok'));
  });
  await new Promise<void>((r) => backend!.listen(0, '127.0.0.1', r));
  return (backend.address() as AddressInfo).port;
}

/** `node --trace-opt meshtap proxy --engine ENGINE` forwarding to a local backend, once ready. */
async function startTraced(engine: 'js' | 'native'): Promise<Traced> {
  const port = await startBackend();
  const child = spawn(process.execPath, ['--trace-opt', MESHTAP_BIN, 'proxy', '--engine', engine, '--forward', `127.0.0.1:0=127.0.0.1:${port}`, '--admin', '127.0.0.1:0', '--tap', '127.0.0.1:0'], {
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, MESHTAP_ENGINE: engine },
  });
  sidecar = { child, exit: new Promise((r) => child.once('exit', r)) };
  let out = '';
  let err = '';
  child.stdout!.setEncoding('utf8').on('data', (t: string) => (out += t));
  child.stderr!.setEncoding('utf8').on('data', (t: string) => (err += t));
  await until(`meshtap proxy --engine ${engine} is ready`, () => /^ready$/m.test(err), 20_000);
  const field = (re: RegExp) => re.exec(err)![1]!;
  return { child, forward: field(/^listening forward (\S+) ->/m), admin: field(/^listening admin (\S+)/m), tap: field(/^listening tap (\S+)/m), trace: () => out };
}

const agent = new http.Agent({ keepAlive: true, maxSockets: 8 });
function get(address: string, path: string): Promise<void> {
  const [host, port] = [address.slice(0, address.lastIndexOf(':')), Number(address.slice(address.lastIndexOf(':') + 1))];
  return new Promise((resolve, reject) => {
    http.get({ host, port, path, agent }, (res) => {
      res.resume();
      res.on('end', resolve);
    }).on('error', reject);
  });
}
async function send(address: string, n: number): Promise<void> {
  for (let i = 0; i < n; i += 8) await Promise.all(Array.from({ length: Math.min(8, n - i) }, (_, k) => get(address, `/r/${i + k}`)));
}

const subscribers = async (admin: string): Promise<number> => sumMetric(await scrape(admin), 'meshtap_tap_subscribers', {});

describe.skipIf(!existsSync(ADDON))('the native sidecar compiles with TurboFan only while JS sees every exchange (issue 14, tapped RSS)', () => {
  it('start-up, 60 scrapes and a rate-limited tap under traffic: no TurboFan; a tap without a limit: TurboFan', async () => {
    const s = await startTraced('native');
    for (let i = 0; i < 60; i++) await scrape(s.admin);
    const limited = openCountingTap(s.tap, { matches: [], maxRps: 100 });
    taps.push(limited);
    await until('the rate-limited tap is attached', async () => (await subscribers(s.admin)) === 1);
    await send(s.forward, 2000);
    await limited.flush();
    expect(limited.exchanges.size).toBeGreaterThan(0); // it was delivered some: the tap worked
    expect(s.trace().split('\n').filter((l) => TURBOFAN.test(l))).toEqual([]);

    // Every exchange through JS: the firehose gets optimized code back.
    const firehose = openCountingTap(s.tap, { matches: [] });
    taps.push(firehose);
    await until('the firehose is attached', async () => (await subscribers(s.admin)) === 2);
    for (let round = 0; round < 40 && !TURBOFAN.test(s.trace()); round++) await send(s.forward, 500);
    expect(s.trace()).toMatch(TURBOFAN);
  }, 90_000);

  it('js (the control): the engine that forwards in JS compiles with TurboFan', async () => {
    const s = await startTraced('js');
    for (let round = 0; round < 40 && !TURBOFAN.test(s.trace()); round++) await send(s.forward, 500);
    expect(s.trace()).toMatch(TURBOFAN);
  }, 90_000);
});
