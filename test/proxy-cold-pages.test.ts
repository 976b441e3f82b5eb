/**
 * Issue 14's RSS (≤ 60 MB under load, every scenario): the native sidecar gives back the pages of the
 * node executable that its start-up touched once (bin/cold-pages.ts, native/src/memory-trim.cc).
 * Untapped under load it was 54–59 MB, of which ~43 MB were /usr/bin/node's read-only pages: most
 * mapped while node started and compiled our modules, then never used, yet resident for the
 * process's life. Read from /proc/PID/smaps of the real sidecar and of a bare node process beside
 * it (the reference: what node keeps resident by itself); the sidecar must go on forwarding and
 * tapping with its pages given back.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { openTapStream, type TapStream } from '../tap-protocol/index.js';
import { scrape, sumMetric } from './support/metrics-scrape.js';
import { startSidecarProcess, type SidecarProcess } from './support/meshtap-process.js';
import { until } from './support/until.js';

const ADDON = fileURLToPath(new URL('../native/build/Release/meshtap_native.node', import.meta.url));

let running: SidecarProcess | undefined;
let bare: ChildProcess | undefined;
let backend: Server | undefined;
let tap: TapStream | undefined;
afterEach(async () => {
  tap?.cancel();
  tap = undefined;
  await running?.stop();
  running = undefined;
  bare?.kill();
  bare = undefined;
  await new Promise<void>((resolve) => (backend ? backend.close(() => resolve()) : resolve()));
  backend = undefined;
});

/** kB of the node executable's read-only mappings with no written (anonymous) page, resident in `pid`. */
function residentCleanExecutableKb(pid: number): number {
  const exe = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0')[0]!;
  let kb = 0;
  let counted = false;
  let rss = 0;
  let anon = 0;
  const close = (): void => {
    if (counted && anon === 0) kb += rss;
  };
  for (const line of readFileSync(`/proc/${pid}/smaps`, 'utf8').split('\n')) {
    const head = /^[0-9a-f]+-[0-9a-f]+ (\S+) \S+ \S+ \S+\s*(.*)$/.exec(line);
    if (head) {
      close();
      counted = (head[1] === 'r-xp' || head[1] === 'r--p') && head[2] === exe;
      rss = 0;
      anon = 0;
    } else if (line.startsWith('Rss:')) rss = Number(/\d+/.exec(line)![0]);
    else if (line.startsWith('Anonymous:')) anon = Number(/\d+/.exec(line)![0]);
  }
  close();
  return kb;
}

/** What a bare node process keeps resident of the same executable once it has started (the reference). */
async function bareNodeKb(): Promise<number> {
  bare = spawn(process.execPath, ['-e', "process.stdout.write('up\\n'); setInterval(() => {}, 1000)"], { stdio: ['ignore', 'pipe', 'ignore'] });
  const child = bare;
  await new Promise<void>((resolve) => child.stdout!.once('data', () => resolve()));
  return residentCleanExecutableKb(child.pid!);
}

/** Fewer than this share of what bare node keeps: without the drop, the sidecar kept more than bare node (~39 MB vs ~30). */
const SHARE = 0.6;

async function startBackend(): Promise<number> {
  backend = createServer((req, res) => res.end('hello'));
  await new Promise<void>((resolve) => backend!.listen(0, '127.0.0.1', resolve));
  return (backend.address() as AddressInfo).port;
}

async function requests(address: string, n: number): Promise<string[]> {
  const out: string[] = [];
  for (let i = 0; i < n; i++) out.push(await (await fetch(`http://${address}/r${i}`)).text());
  return out;
}

describe.skipIf(!existsSync(ADDON) || process.platform !== 'linux')('the native sidecar gives back the start-up pages of node (issue 14, RSS)', () => {
  it('regression (~43 MB of the untapped sidecar were node pages touched once at start, resident for good): after ready it keeps well under what a bare node keeps, forwards, taps, and gives them back again after the tap', async () => {
    const reference = await bareNodeKb();
    expect(reference).toBeGreaterThan(8 * 1024); // node itself keeps tens of MB of its executable resident
    const port = await startBackend();
    running = await startSidecarProcess(['--engine', 'native', '--forward', `127.0.0.1:0=127.0.0.1:${port}`, '--admin', '127.0.0.1:0', '--tap', '127.0.0.1:0'], {
      env: { MESHTAP_ENGINE: 'native' },
    });
    const sidecar = running;
    const pid = sidecar.child.pid!;
    const forward = sidecar.forwards[0]!.address;
    expect(residentCleanExecutableKb(pid)).toBeLessThan(reference * SHARE);
    // Forwarding maps back what it runs, and works.
    expect(await requests(forward, 20)).toEqual(Array(20).fill('hello'));
    // A tap loads and runs more of node (node:http2, the hub); its events arrive.
    tap = openTapStream(sidecar.tap!, { matches: [], bodies: true });
    const seen: string[] = [];
    void (async () => {
      for await (const m of tap!.messages) if (m.type === 'event' && m.event.kind === 'end') seen.push(m.event.path ?? '');
    })().catch(() => {});
    await until('the tap is attached', async () => sumMetric(await scrape(sidecar.admin!), 'meshtap_tap_subscribers', {}) === 1);
    await until('the tap sees the exchanges', async () => (await requests(forward, 5), seen.length >= 5));
    // Shortly after the tap attached, what it touched once is given back too.
    await until('the pages are given back after the tap attached', () => residentCleanExecutableKb(pid) < reference * SHARE);
    expect(await requests(forward, 5)).toEqual(Array(5).fill('hello'));
  });
});
