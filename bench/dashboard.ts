#!/usr/bin/env node
/**
 * `node dist/bench/dashboard.js` — the dashboard page under load: by default (`--load-rps`) a tap
 * API (the demo's control plane, in this process), `meshtap proxy` sidecar processes in namespace
 * emojivoto in front of a small HTTP server process, h2load sending a fixed request rate through
 * them (3 tap events per exchange: about 1,000 events a second at 340 requests a second), and a
 * `meshtap dashboard` process acting as the demo admin; or (`--load-rps 0`) the demo mesh itself
 * (`meshtap demo`, everything in one process, which this machine cannot drive to 1,000 events a
 * second). Debian's Chromium shows the live table (max-rps 1000). While the page streams it
 * measures, in the page, the time between animation frames (what a user feels as jank) and
 * long tasks, and through the DevTools protocol the JS heap at the start and the end. Prints a
 * markdown summary and writes the numbers as JSON (bench/results/dashboard-*.json).
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { chromium } from 'playwright-core';
import { parseDurationMs } from '../common/index.js';
import { startDemoControlPlane } from '../demo/index.js';
import { startProcess, stopAll, waitForStderr } from './lib/procs.js';

const BIN = fileURLToPath(new URL('../bin/meshtap.js', import.meta.url));

const HELP = `Usage: node dist/bench/dashboard.js [flags]

Measures the dashboard's live table in Chromium under about 1,000 tap events per second.

Flags:
  --duration DURATION  measuring time after warm-up (default 20s)
  --warmup DURATION    (default 5s)
  --load-rps N         requests per second h2load sends through the load sidecars (default 340:
                       about 1,000 tap events a second); 0 = the demo mesh instead
  --sidecars N         load sidecar processes (default 2), the rate split across them
  --rps N              with --load-rps 0: requests per second the demo's generator sends to web
                       (default 80: about 4 exchanges and 12 tap events each)
  --chromium PATH      (default /usr/bin/chromium)
  -h, --help           this text
`;

interface PageSample {
  frames: number[];
  longTasks: number;
  longTaskMs: number;
  events: number;
}

function pct(sorted: number[], p: number): number {
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      duration: { type: 'string' },
      warmup: { type: 'string' },
      rps: { type: 'string' },
      'load-rps': { type: 'string' },
      sidecars: { type: 'string' },
      chromium: { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    },
  });
  if (values.help) return void process.stdout.write(HELP);
  const durationMs = parseDurationMs(values.duration ?? '20s', '--duration');
  const warmupMs = parseDurationMs(values.warmup ?? '5s', '--warmup');
  const rps = Number(values.rps ?? 80);
  const loadRps = Number(values['load-rps'] ?? 340);
  const sidecars = Number(values.sidecars ?? 2);
  const url = loadRps > 0 ? await startLoad(loadRps, sidecars, warmupMs + durationMs + 30_000) : await startDemo(rps);
  const driver = loadRps > 0 ? `h2load at ${loadRps} req/s through ${sidecars} sidecar processes` : `demo generator at ${rps} req/s`;
  const browser = await chromium.launch({ executablePath: values.chromium ?? '/usr/bin/chromium', args: ['--no-sandbox'] });
  try {
    const page = await browser.newPage({ viewport: { width: 1440, height: 900 } });
    const cdp = await page.context().newCDPSession(page);
    await cdp.send('Performance.enable');
    const heap = async (): Promise<number> => {
      await cdp.send('HeapProfiler.collectGarbage');
      const m = (await cdp.send('Performance.getMetrics')).metrics;
      return m.find((x) => x.name === 'JSHeapUsedSize')?.value ?? NaN;
    };
    await page.goto(`${url}&rps=1000`);
    await page.waitForSelector('.tr', { timeout: 30_000 });
    await new Promise((r) => setTimeout(r, warmupMs));
    const heapBefore = await heap();
    // In the page: every frame's distance to the previous one, long tasks, events received.
    await page.evaluate(() => {
      const g = globalThis as unknown as {
        benchSample: PageSample;
        meshtapDashboardStats: { events: number };
        requestAnimationFrame(cb: (t: number) => void): void;
        PerformanceObserver: new (cb: (list: { getEntries(): Array<{ duration: number }> }) => void) => { observe(o: object): void };
      };
      const s: PageSample = { frames: [], longTasks: 0, longTaskMs: 0, events: g.meshtapDashboardStats.events };
      g.benchSample = s;
      let last = 0;
      const tick = (t: number): void => {
        if (last) s.frames.push(t - last);
        last = t;
        g.requestAnimationFrame(tick);
      };
      g.requestAnimationFrame(tick);
      new g.PerformanceObserver((list) => {
        for (const e of list.getEntries()) {
          s.longTasks++;
          s.longTaskMs += e.duration;
        }
      }).observe({ entryTypes: ['longtask'] });
    });
    const t0 = Date.now();
    await new Promise((r) => setTimeout(r, durationMs));
    const sample = await page.evaluate(() => {
      const g = globalThis as unknown as { benchSample: PageSample; meshtapDashboardStats: { events: number } };
      return { ...g.benchSample, events: g.meshtapDashboardStats.events - g.benchSample.events };
    });
    const seconds = (Date.now() - t0) / 1000;
    const heapAfter = await heap();
    const rows = await page.locator('.feed-status').textContent();
    await page.screenshot({ path: join(resultsDir(), 'dashboard-bench.png') });
    const frames = sample.frames.slice().sort((a, b) => a - b);
    const result = {
      date: new Date().toISOString(),
      seconds,
      eventsPerSecond: sample.events / seconds,
      fps: sample.frames.length / seconds,
      frameMs: { p50: pct(frames, 50), p95: pct(frames, 95), p99: pct(frames, 99), max: frames[frames.length - 1] ?? NaN },
      framesOver50ms: frames.filter((f) => f > 50).length,
      longTasks: sample.longTasks,
      longTaskMsPerSecond: sample.longTaskMs / seconds,
      heapMiB: { before: heapBefore / 2 ** 20, after: heapAfter / 2 ** 20 },
      status: rows,
      driver,
      loadAverage: loadavg(),
    };
    const file = join(resultsDir(), `dashboard-${result.date.replace(/[:.]/g, '-')}.json`);
    writeFileSync(file, JSON.stringify(result, null, 2) + '\n');
    const f = (n: number, d = 1) => n.toFixed(d);
    process.stdout.write(
      [
        `## Dashboard under load (${f(seconds, 0)} s, Chromium ${browser.version()})`,
        '',
        '| measure | value |',
        '|---|---|',
        `| tap events received by the page | ${f(result.eventsPerSecond, 0)} /s (${driver}) |`,
        `| load average (1 min) at the end | ${loadavg()[0]!.toFixed(1)} on ${cpus().length} CPUs |`,
        `| frames | ${f(result.fps)} /s |`,
        `| frame interval p50 / p95 / p99 / max | ${f(result.frameMs.p50)} / ${f(result.frameMs.p95)} / ${f(result.frameMs.p99)} / ${f(result.frameMs.max)} ms |`,
        `| frames over 50 ms | ${result.framesOver50ms} |`,
        `| long tasks (> 50 ms) | ${result.longTasks} (${f(result.longTaskMsPerSecond)} ms/s) |`,
        `| JS heap after GC, start → end | ${f(result.heapMiB.before)} → ${f(result.heapMiB.after)} MiB |`,
        `| page status at the end | ${rows} |`,
        '',
        `raw: ${file}`,
        '',
      ].join('\n'),
    );
  } finally {
    await browser.close();
    await stopAll();
    await cleanup?.();
  }
}

let cleanup: (() => Promise<void>) | undefined;

/** The demo mesh, tap API and dashboard in one process of their own (`meshtap demo`); the dashboard's URL. */
async function startDemo(rps: number): Promise<string> {
  const demo = startProcess({ name: 'demo', command: process.execPath, args: [BIN, 'demo', '--rps', String(rps), '-o', 'json'] });
  return (await waitForStderr(demo, /dashboard (http:\/\/\S+)/, 60_000))[1]!;
}

/**
 * A tap API here, sidecar processes registered in emojivoto in front of an HTTP server process,
 * h2load at a fixed rate through them for `forMs`, and a dashboard process; the dashboard's URL.
 */
async function startLoad(totalRps: number, sidecars: number, forMs: number): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'meshtap-bench-dash-'));
  const cp = await startDemoControlPlane(dir);
  cleanup = async () => {
    await cp.tapApi.close();
    await rm(dir, { recursive: true, force: true });
  };
  const server = startProcess({
    name: 'backend',
    command: process.execPath,
    args: ['-e', "const s=require('http').createServer((q,r)=>r.end('ok'));s.listen(0,'127.0.0.1',()=>console.error('port '+s.address().port))"],
  });
  const port = (await waitForStderr(server, /port (\d+)/))[1]!;
  const addresses: string[] = [];
  for (let i = 0; i < sidecars; i++) {
    const p = startProcess({
      name: `sidecar-${i}`,
      command: process.execPath,
      args: [BIN, 'proxy', '--forward', `127.0.0.1:0=127.0.0.1:${port}`, '--admin', '127.0.0.1:0', '--tap', '127.0.0.1:0', '--workload', 'deploy/load', '--namespace', 'emojivoto', '--pod', `load-${i}`, '--tap-api', cp.tapApi.url],
      env: { ...process.env, MESHTAP_TAP_API_TOKEN: cp.registrationToken },
    });
    addresses.push((await waitForStderr(p, /listening \S+ (127\.0\.0\.1:\d+) ->/))[1]!);
  }
  for (let i = 0; i < 100 && cp.tapApi.registry.list('emojivoto').length < sidecars; i++) await new Promise((r) => setTimeout(r, 100));
  const dash = startProcess({ name: 'dashboard', command: process.execPath, args: [BIN, 'dashboard', '--tap-api', cp.tapApi.url, '--token', cp.adminToken, '-n', 'emojivoto', '--address', '127.0.0.1:0'] });
  const url = (await waitForStderr(dash, /open (http:\/\/\S+)/, 30_000))[1]!;
  // h2load: per sidecar 4 HTTP/1 clients, each at its share of the rate (--rps is per client).
  const perClient = Math.max(1, Math.round(totalRps / sidecars / 4));
  for (const [i, a] of addresses.entries()) {
    startProcess({ name: `h2load-${i}`, command: 'h2load', args: ['--h1', '-c', '4', '--rps', String(perClient), '-D', String(Math.ceil(forMs / 1000)), `http://${a}/load/${i}`] });
  }
  return url;
}

function resultsDir(): string {
  const d = fileURLToPath(new URL('../../bench/results/', import.meta.url));
  mkdirSync(d, { recursive: true });
  return d;
}

main().catch((err: unknown) => {
  process.stderr.write(`bench dashboard: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exitCode = 1;
});
