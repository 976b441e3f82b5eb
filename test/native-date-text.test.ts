/**
 * Issue 14 (tapped RSS ≤ 60 MB): a tapped native sidecar never turns a Date into text through V8.
 * In Node 20's V8 every such conversion (toISOString and toUTCString included) first looks up the
 * local time zone's offset and display name, which loads ICU's time-zone data: ~1 MB of node's
 * executable resident in a process that never shows a local time. Event timestamps, the admin
 * server's and the tap port's Date headers and log lines are written by common/utc-time.ts instead.
 * The tap is rate-limited, as the tap API asks by default (its events are made in JS; a firehose's in C++).
 * The tap is rate-limited, as the tap API asks by default: its events are made in JS (a firehose's in C++).
 * The probe (support/date-text-probe.mjs) counts calls of Date's text methods in the real process;
 * what users see is unchanged (every event still has its ISO `ts`, responses their Date header).
 */
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { openCountingTap, sendBurst, type CountingTap } from './support/counting-tap.js';
import { startSidecarProcess, type SidecarProcess } from './support/meshtap-process.js';
import { httpGet } from './support/metrics-scrape.js';
import { until } from './support/until.js';

const ADDON = fileURLToPath(new URL('../native/build/Release/meshtap_native.node', import.meta.url));
const PROBE = fileURLToPath(new URL('./support/date-text-probe.mjs', import.meta.url));

let running: SidecarProcess | undefined;
let tap: CountingTap | undefined;
let backend: http.Server | undefined;
let dir: string | undefined;
afterEach(async () => {
  await tap?.close().catch(() => undefined);
  tap = undefined;
  await running?.stop();
  running = undefined;
  await new Promise((r) => (backend ? backend.close(r) : r(undefined)));
  backend = undefined;
  if (dir) rmSync(dir, { recursive: true, force: true });
  dir = undefined;
});

describe.skipIf(!existsSync(ADDON))('a tapped native sidecar writes times without Date text methods (issue 14, tapped RSS)', () => {
  it('scrapes, a tap with bodies and its events: no call; the events have ISO times, the responses a Date header', async () => {
    backend = http.createServer((req, res) => {
      req.resume();
      req.on('end', () => res.end('ok'));
    });
    await new Promise<void>((r) => backend!.listen(0, '127.0.0.1', r));
    const port = (backend.address() as AddressInfo).port;
    dir = mkdtempSync(join(tmpdir(), 'meshtap-date-text-'));
    const out = join(dir, 'counts');
    running = await startSidecarProcess(['--engine', 'native', '--forward', `127.0.0.1:0=127.0.0.1:${port}`, '--admin', '127.0.0.1:0', '--tap', '127.0.0.1:0'], {
      env: { MESHTAP_ENGINE: 'native', MESHTAP_DATE_PROBE: out, NODE_OPTIONS: `--import ${PROBE}` },
    });
    const scraped = await httpGet(running.admin!, '/metrics');
    expect(scraped.status).toBe(200);
    expect(scraped.headers.date).toMatch(/^(Sun|Mon|Tue|Wed|Thu|Fri|Sat), \d\d (Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec) \d{4} \d\d:\d\d:\d\d GMT$/);
    expect(Math.abs(Date.parse(scraped.headers.date!) - Date.now())).toBeLessThan(60_000);

    tap = openCountingTap(running.tap!, { matches: [], bodies: true, maxRps: 1000 }); // as users tap (rate-limited: events made in JS)
    await tap.flush();
    await sendBurst(running.forwards[0]!.address, 'http/1.1', Array.from({ length: 50 }, (_, i) => `/t/${i}`));
    await tap.flush();
    const events = [...tap.exchanges.values()].flat();
    expect(events.length).toBeGreaterThanOrEqual(50);
    for (const e of events) {
      expect(e.ts).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
      expect(new Date(e.ts).toISOString()).toBe(e.ts);
    }

    running.child.kill('SIGUSR2');
    await until('the probe answered SIGUSR2', () => existsSync(out) && readFileSync(out, 'utf8').endsWith('done\n'));
    expect(readFileSync(out, 'utf8')).toBe('done\n');
  }, 60_000);
});
