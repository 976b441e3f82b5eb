/**
 * A history read (`meshtap tap --since`) holds a few batches of its history in the sidecar, not
 * all of it (session 15, issue 14's "bounded everything"): read against a full flight recorder by
 * several real `meshtap tap` clients that pause (SIGSTOP), the sidecar's held tap messages
 * (`meshtap_tap_held_bytes`: queued, or written but not yet sent on) stay within each subscriber's
 * in-flight bound, and every history event still arrives exactly once, oldest first. Live events
 * that come during a paused history read follow it (history, history-end, live), under the queue's
 * bound (past it counted and told as lost); a read whose client goes away lets go of everything.
 * Both engines: the js recorder's ring and the native engine's C++ recorder merged with it.
 */
import * as http from 'node:http';
import { readdirSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { TapEvent } from '../tap-protocol/index.js';
import { ENGINES } from './support/engines.js';
import { scrape, sumMetric } from './support/metrics-scrape.js';
import { runMeshtap, spawnMeshtap, startSidecarProcess, type CliProcess, type SidecarProcess } from './support/meshtap-process.js';
import { until } from './support/until.js';

/** A subscriber's in-flight bound (tap-hub DEFAULT_MAX_IN_FLIGHT_BYTES) and the batch that may pass it (TAP_BATCH_MAX_BYTES). */
const PER_READ_BOUND = 256 * 1024 + 64 * 1024;
/** The recorder bounds: ~5,000-9,000 exchanges on either engine, megabytes of event JSON. */
const RECORDER_BYTES: Record<string, string> = { native: '512KiB', js: '1536KiB' };

let origin: http.Server;
let originPort: number;

beforeAll(async () => {
  origin = http.createServer((req, res) => {
    req.resume();
    req.on('end', () => res.writeHead(200, { 'content-type': 'text/plain' }).end('ok'));
  });
  await new Promise<void>((resolve) => origin.listen(0, '127.0.0.1', resolve));
  originPort = (origin.address() as AddressInfo).port;
});

afterAll(async () => {
  await new Promise((resolve) => origin?.close(resolve));
});

/** Sends `n` GETs one after another on one keep-alive connection, paths `${prefix}${from + i}`. */
async function sendMany(sidecar: SidecarProcess, prefix: string, from: number, n: number): Promise<void> {
  const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
  try {
    for (let i = 0; i < n; i++) {
      await new Promise<void>((resolve, reject) => {
        const req = http.get({ host: '127.0.0.1', port: sidecar.forwards[0]!.port, path: `${prefix}${from + i}`, agent }, (res) => {
          res.resume();
          res.on('end', () => (res.statusCode === 200 ? resolve() : reject(new Error(`status ${res.statusCode}`))));
        });
        req.on('error', reject);
      });
    }
  } finally {
    agent.destroy();
  }
}

/** Fills the sidecar's recorder until it evicts (full); returns how many exchanges were sent. */
async function fillRecorder(sidecar: SidecarProcess): Promise<number> {
  let sent = 0;
  for (;;) {
    await sendMany(sidecar, '/fill/', sent, 2000);
    sent += 2000;
    // Every exchange the recorder took is held or was evicted.
    await until('the recorder took every exchange', async () => {
      const m = await scrape(sidecar.admin!);
      return sumMetric(m, 'meshtap_recorder_events') + sumMetric(m, 'meshtap_recorder_evicted_total') >= sent;
    }, 20_000);
    if (sumMetric(await scrape(sidecar.admin!), 'meshtap_recorder_evicted_total') > 0) return sent;
    if (sent > 200_000) throw new Error('the recorder never filled');
  }
}

const held = async (sidecar: SidecarProcess): Promise<number> => sumMetric(await scrape(sidecar.admin!), 'meshtap_tap_held_bytes');
const subscribers = async (sidecar: SidecarProcess): Promise<number> => sumMetric(await scrape(sidecar.admin!), 'meshtap_tap_subscribers');
const openFds = (pid: number): number => readdirSync(`/proc/${pid}/fd`).length;

/** Starts `meshtap tap ARGS` against the sidecar and waits until the sidecar counts its subscription. */
async function startTap(sidecar: SidecarProcess, args: string[], before: number): Promise<CliProcess> {
  const tap = spawnMeshtap(['tap', '--proxy', sidecar.tap!, '-o', 'json', ...args], { timeoutMs: 90_000 });
  await until('the tap is subscribed', async () => (await subscribers(sidecar)) > before, 20_000);
  return tap;
}

const eventsOf = (stdout: string): TapEvent[] =>
  stdout
    .split('\n')
    .filter(Boolean)
    .map((l) => JSON.parse(l) as TapEvent);

describe.each(ENGINES)('a history read is bounded by memory (%s engine)', (engine) => {
  let sidecar: SidecarProcess;
  let filled = 0;
  let recorded = 0;

  beforeAll(async () => {
    sidecar = await startSidecarProcess([
      '--engine', engine,
      '--forward', `127.0.0.1:0=127.0.0.1:${originPort}`,
      '--admin', '127.0.0.1:0',
      '--tap', '127.0.0.1:0',
      '--recorder-bytes', RECORDER_BYTES[engine]!,
    ]);
    filled = await fillRecorder(sidecar);
    recorded = sumMetric(await scrape(sidecar.admin!), 'meshtap_recorder_events');
  }, 120_000);

  afterAll(async () => {
    await sidecar?.stop();
  });

  it('several paused --since readers of a full recorder: the sidecar holds each one\'s in-flight bound, and each gets every event once, oldest first', async () => {
    expect(recorded).toBeGreaterThan(3000);
    const readers = 4;
    const taps: CliProcess[] = [];
    for (let i = 0; i < readers; i++) {
      const tap = await startTap(sidecar, ['--since', '1h'], i);
      tap.kill('SIGSTOP');
      taps.push(tap);
    }
    // Paused: the sidecar holds what each transport has not sent on; before session 15 it was every
    // reader's whole history (megabytes each), queued at once.
    let most = 0;
    for (let i = 0; i < 10; i++) {
      most = Math.max(most, await held(sidecar));
      await new Promise((r) => setTimeout(r, 100));
    }
    expect(most).toBeGreaterThan(0); // the reads are under way and held back by their paused clients
    expect(most).toBeLessThanOrEqual(readers * PER_READ_BOUND);
    for (const tap of taps) tap.kill('SIGCONT');
    const results = await Promise.all(taps.map((t) => t.done));
    const expected = Array.from({ length: recorded }, (_, i) => `/fill/${filled - recorded + i}`);
    // The history's JSON is many times what the bound let the sidecar hold.
    expect(results[0]!.stdout.length).toBeGreaterThan(8 * PER_READ_BOUND);
    for (const r of results) {
      expect(r.code, r.stderr).toBe(0);
      const events = eventsOf(r.stdout);
      expect(events.every((e) => e.kind === 'end')).toBe(true);
      // One client, one connection, one request at a time: the recorder holds the newest, in order.
      expect(events.map((e) => e.path)).toEqual(expected);
    }
    await until('the readers are gone', async () => (await subscribers(sidecar)) === 0 && (await held(sidecar)) === 0, 20_000);
  }, 90_000);

  it('live events during a paused history read follow history-end, in order, under the queue bound (losses told)', async () => {
    const droppedBefore = sumMetric(await scrape(sidecar.admin!), 'meshtap_tap_dropped_events_total');
    const tap = await startTap(sidecar, ['--since', '1h', '--follow'], 0);
    tap.kill('SIGSTOP');
    // 20 live exchanges fit the queue (1,000 messages); 400 more (req, rsp, end each) overflow it.
    await sendMany(sidecar, '/live/', 0, 420);
    await until('the overflow is counted', async () => sumMetric(await scrape(sidecar.admin!), 'meshtap_tap_dropped_events_total') > droppedBefore, 20_000);
    expect(await held(sidecar)).toBeLessThanOrEqual(PER_READ_BOUND + 1001 * 2048);
    tap.kill('SIGCONT');
    await tap.waitForStderr(/events? dropped: the tap could not keep up/, 30_000);
    // Reading again: a live exchange now arrives after everything.
    await sendMany(sidecar, '/after/', 0, 1);
    await until('the last live exchange is printed', () => tap.stdout().includes('"/after/0"'), 30_000);
    tap.kill('SIGINT');
    await tap.done;
    const events = eventsOf(tap.stdout());
    const kinds = events.map((e) => (e.path.startsWith('/fill/') ? 'history' : e.path.startsWith('/live/') ? 'live' : 'after'));
    const firstLive = kinds.indexOf('live');
    // History first (every recorded exchange, in order), then live, then the exchange sent after.
    expect(firstLive).toBe(recorded);
    expect(events.slice(0, firstLive).map((e) => e.path)).toEqual(Array.from({ length: recorded }, (_, i) => `/fill/${filled - recorded + i}`));
    expect(kinds.slice(firstLive).every((k) => k !== 'history')).toBe(true);
    expect(kinds.at(-1)).toBe('after');
    // The first 20 live exchanges were queued whole, in order (before the queue was full).
    const liveEnds = events.filter((e) => e.path.startsWith('/live/') && e.kind === 'end').map((e) => Number(e.path.slice(6)));
    expect(liveEnds.slice(0, 20)).toEqual(Array.from({ length: 20 }, (_, i) => i));
    expect(liveEnds.length).toBeLessThan(420);
    await until('the reader is gone', async () => (await subscribers(sidecar)) === 0 && (await held(sidecar)) === 0, 20_000);
  }, 90_000);

  it('past 8 history reads at once the next is refused (one line, exit 1, bound counted); a live tap is not; once a read ends the next is served', async () => {
    await until('idle', async () => (await subscribers(sidecar)) === 0, 20_000);
    const paused: CliProcess[] = [];
    try {
      for (let i = 0; i < 8; i++) {
        const tap = await startTap(sidecar, ['--last', '100000'], i);
        tap.kill('SIGSTOP');
        paused.push(tap);
      }
      const r = await runMeshtap(['tap', '--proxy', sidecar.tap!, '-o', 'json', '--since', '1h']);
      expect(r.code).toBe(1);
      expect(r.stdout).toBe('');
      expect(r.stderr.trimEnd().split('\n')).toHaveLength(1);
      expect(r.stderr).toMatch(/MT_TAP_BUSY: this sidecar already serves 8 history reads/);
      expect(sumMetric(await scrape(sidecar.admin!), 'meshtap_bound_hit_total', { bound: 'tap-history-reads' })).toBe(1);
      const live = await startTap(sidecar, [], 8);
      live.kill('SIGINT');
      await live.done;
      paused[0]!.kill('SIGKILL');
      await paused[0]!.done;
      await until('one read ended', async () => (await subscribers(sidecar)) === 7, 20_000);
      const next = await runMeshtap(['tap', '--proxy', sidecar.tap!, '-o', 'json', '--last', '3']);
      expect(next.code, next.stderr).toBe(0);
      expect(eventsOf(next.stdout).map((e) => e.path)).toHaveLength(3);
    } finally {
      for (const t of paused) t.kill('SIGKILL');
    }
    await until('the readers are gone', async () => (await subscribers(sidecar)) === 0 && (await held(sidecar)) === 0, 20_000);
  }, 90_000);

  it('a history read whose client goes away lets go of it: subscribers, held bytes and descriptors back to idle', async () => {
    await until('idle', async () => (await subscribers(sidecar)) === 0, 20_000);
    const pid = sidecar.child.pid!;
    const idleFds = openFds(pid);
    const tap = await startTap(sidecar, ['--since', '1h'], 0);
    tap.kill('SIGSTOP');
    await until('the read is held back by its paused client', async () => (await held(sidecar)) > 0, 20_000);
    tap.kill('SIGKILL');
    await tap.done;
    await until('the read is let go', async () => (await subscribers(sidecar)) === 0 && (await held(sidecar)) === 0, 20_000);
    await until(`the sidecar's descriptors back to ${idleFds}`, () => openFds(pid) <= idleFds, 20_000);
  }, 60_000);
});
