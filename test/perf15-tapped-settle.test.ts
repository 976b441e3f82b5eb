/**
 * Issue 14 (tapped RSS ≤ 60 MB): while rate-limited taps are attached, the native sidecar settles its
 * memory again each time its V8 old space grew by a MiB past what the last settling left
 * (bin/young-generation.ts settleWhileTapped; docs/decisions.md, session 15, perf15). Before, a 100/s
 * tap's promoted garbage stayed until V8's own limit: the old space went from 6 to 12 MB in 50 s.
 *
 * Observed on the real process: node's own `--trace-gc` prints each collection on stdout, and a
 * settling's are the only ones V8 words "low memory notification". A probe
 * (support/perf15-old-garbage-probe.mjs) makes the promoted garbage a tap's path makes, without
 * depending on this machine's load to make it at a given rate.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { settleNativeMemory } from '../bin/young-generation.js';
import { openCountingTap, type CountingTap } from './support/counting-tap.js';
import { MESHTAP_BIN } from './support/meshtap-process.js';
import { scrape, sumMetric } from './support/metrics-scrape.js';
import { stopChild } from './support/stop-child.js';
import { until } from './support/until.js';

const ADDON = fileURLToPath(new URL('../native/build/Release/meshtap_native.node', import.meta.url));
const PROBE = fileURLToPath(new URL('./support/perf15-old-garbage-probe.mjs', import.meta.url));
const SETTLING = /low memory notification/g;
const GARBAGE_MS = 6000;

let sidecar: { child: ChildProcess; exit: Promise<unknown> } | undefined;
let taps: CountingTap[] = [];
afterEach(async () => {
  await Promise.all(taps.map((t) => t.close().catch(() => undefined)));
  taps = [];
  if (sidecar) await stopChild(sidecar.child, sidecar.exit);
  sidecar = undefined;
});

/** `node --trace-gc meshtap proxy --engine native` with the garbage probe, once ready. */
async function startTraced(): Promise<{ child: ChildProcess; admin: string; tap: string; settlings: () => number }> {
  const child = spawn(process.execPath, ['--trace-gc', MESHTAP_BIN, 'proxy', '--engine', 'native', '--forward', '127.0.0.1:0=127.0.0.1:9', '--admin', '127.0.0.1:0', '--tap', '127.0.0.1:0'], {
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, MESHTAP_ENGINE: 'native', MESHTAP_OLD_GARBAGE_MS: String(GARBAGE_MS), NODE_OPTIONS: `--import ${PROBE}` },
  });
  sidecar = { child, exit: new Promise((r) => child.once('exit', r)) };
  let out = '';
  let err = '';
  child.stdout!.setEncoding('utf8').on('data', (t: string) => (out += t));
  child.stderr!.setEncoding('utf8').on('data', (t: string) => (err += t));
  await until('meshtap proxy --engine native is ready', () => /^ready$/m.test(err), 20_000);
  const field = (re: RegExp) => re.exec(err)![1]!;
  return { child, admin: field(/^listening admin (\S+)/m), tap: field(/^listening tap (\S+)/m), settlings: () => out.match(SETTLING)?.length ?? 0 };
}

const subscribers = async (admin: string): Promise<number> => sumMetric(await scrape(admin), 'meshtap_tap_subscribers', {});
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** The settlings' count once it stopped changing for a second (one settling prints several collections). */
async function settled(s: Awaited<ReturnType<typeof startTraced>>): Promise<number> {
  let seen = s.settlings();
  for (;;) {
    await sleep(1000);
    if (s.settlings() === seen) return seen;
    seen = s.settlings();
  }
}

/** Attaches a tap (rate-limited or not) and waits until the first tap's own settling (1 s after it came) is over. */
async function attachAndSettle(s: Awaited<ReturnType<typeof startTraced>>, maxRps: number | undefined): Promise<number> {
  await until('the start-up settling ran', () => s.settlings() > 0);
  const atStart = await settled(s);
  const tap = openCountingTap(s.tap, { matches: [], ...(maxRps !== undefined ? { maxRps } : {}) });
  taps.push(tap);
  await until('the tap is attached', async () => (await subscribers(s.admin)) === 1);
  await until("the first tap's settling ran", () => s.settlings() > atStart, 10_000);
  return settled(s);
}

describe.skipIf(!existsSync(ADDON))('the native sidecar settles while rate-limited taps make old-space garbage (issue 14, tapped RSS)', () => {
  it('a rate-limited tap (the tap gate on): the promoted garbage is collected while it stays attached', async () => {
    const s = await startTraced();
    const before = await attachAndSettle(s, 100);
    s.child.kill('SIGUSR2'); // garbage, as a tap's path makes it
    await until('a settling while tapped', () => s.settlings() > before, GARBAGE_MS + 4000);
  }, 60_000);

  it('a tap without a limit (JS sees every exchange): left to V8, no settling while it is attached', async () => {
    const s = await startTraced();
    const before = await attachAndSettle(s, undefined);
    s.child.kill('SIGUSR2');
    await sleep(GARBAGE_MS);
    expect(s.settlings()).toBe(before);
  }, 60_000);
});

describe('settleNativeMemory while tapped: when it settles (a hub and an old space of our own)', () => {
  afterEach(() => void vi.useRealTimers());
  it('once the old space grew by the bound past the last settling, at most once per interval, only while the gate is on', () => {
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'setInterval', 'clearInterval', 'performance'] });
    const listeners: Array<() => void> = [];
    const hub = { count: 0, gated: true, onCountChange: (l: () => void) => void listeners.push(l) };
    const setCount = (n: number) => {
      hub.count = n;
      for (const l of listeners) l();
    };
    let used = 10_000_000;
    let settlings = 0;
    settleNativeMemory(hub, () => {
      settlings++;
      used -= 3_000_000; // what the settling collected
    }, 60_000, 60_000, { growthBytes: 1_000_000, checkMs: 10, minIntervalMs: 300, oldSpaceUsed: () => used });
    vi.advanceTimersByTime(50);
    expect(settlings).toBe(1); // the start-up settling
    used += 2_000_000; // untapped: none
    vi.advanceTimersByTime(100);
    expect(settlings).toBe(1);
    setCount(1); // the baseline is taken now
    used += 900_000;
    vi.advanceTimersByTime(100);
    expect(settlings).toBe(1);
    used += 200_000;
    vi.advanceTimersByTime(10);
    expect(settlings).toBe(2);
    used += 5_000_000; // within the interval: waits for it
    vi.advanceTimersByTime(280);
    expect(settlings).toBe(2);
    vi.advanceTimersByTime(30);
    expect(settlings).toBe(3);
    hub.gated = false; // a firehose joined: left to V8
    used += 5_000_000;
    vi.advanceTimersByTime(1000);
    expect(settlings).toBe(3);
    hub.gated = true;
    vi.advanceTimersByTime(10);
    expect(settlings).toBe(4);
    used -= 4_000_000; // V8 collected by itself: the baseline follows it down
    vi.advanceTimersByTime(1000);
    used += 900_000;
    vi.advanceTimersByTime(1000);
    expect(settlings).toBe(4);
    setCount(0); // the last tap left: no more checks
    used += 5_000_000;
    vi.advanceTimersByTime(1000);
    expect(settlings).toBe(4);
  });
});
