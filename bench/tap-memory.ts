/**
 * What the tap's own path costs in memory: the sidecar's tap hub and tap port (proxy/tap-hub.ts,
 * proxy/tap-service.ts, proxy/tap-grpc-server.ts) in this process, fed events with bodies at a fixed
 * rate, read by a real `meshtap tap --proxy … --bodies -o json` in a child process (its output to
 * /dev/null, or read line by line and parsed as the bench's tap clients are: a slower reader).
 * No proxy and no load generator: the sidecar's figures under load mix in everything else, and on a
 * shared machine a load generator's rate swings more than the differences a change to the tap makes
 * (issue 14: RSS ≤ 60 MB with a live tap; session 10, mem3).
 *
 * Reports this process's VmRSS, RssAnon and RssFile from /proc/self/status (peak, mean over the
 * feed, and 1 s after it), V8's old space and external memory at their peaks, and the process's
 * CPU per delivered event. Run it several times, alternating what is compared, and read ratios.
 *
 *   node dist/bench/tap-memory.js [--body-kib 64] [--rate 100] [--secs 10] [--reader null|parse] [--max-rps N]
 */
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { getHeapSpaceStatistics } from 'node:v8';
import { capYoungGenerationWhileTapped } from '../bin/young-generation.js';
import { createFlightRecorder } from '../proxy/flight-recorder.js';
import { createProxyMetrics } from '../proxy/metrics.js';
import { createTapHub } from '../proxy/tap-hub.js';
import { startTapService } from '../proxy/tap-service.js';
import type { TapEvent } from '../tap-protocol/index.js';

const USAGE = 'usage: node dist/bench/tap-memory.js [--body-kib N] [--rate PER_S] [--secs S] [--reader null|parse] [--max-rps N]';

function flag(argv: string[], name: string, fallback: string): string {
  const i = argv.indexOf(name);
  if (i < 0) return fallback;
  const v = argv[i + 1];
  if (v === undefined) {
    process.stderr.write(`tap-memory: ${name} needs a value; ${USAGE}\n`);
    process.exit(2);
  }
  return v;
}

function positive(name: string, text: string): number {
  const n = Number(text);
  if (!Number.isFinite(n) || n <= 0) {
    process.stderr.write(`tap-memory: ${name} takes a positive number, not '${text}'; ${USAGE}\n`);
    process.exit(2);
  }
  return n;
}

/** kB fields of /proc/self/status. */
function status(): { rss: number; anon: number; file: number } {
  const t = readFileSync('/proc/self/status', 'utf8');
  const kb = (k: string): number => Number(new RegExp(`^${k}:\\s+(\\d+) kB`, 'm').exec(t)?.[1] ?? 0);
  return { rss: kb('VmRSS'), anon: kb('RssAnon'), file: kb('RssFile') };
}

function cpuUs(): number {
  const u = process.cpuUsage();
  return u.user + u.system;
}

async function main(): Promise<void> {
  const argv = process.argv.slice(2);
  if (argv.includes('-h') || argv.includes('--help')) {
    process.stdout.write(`${USAGE}\n`);
    return;
  }
  const bodyBytes = Math.round(positive('--body-kib', flag(argv, '--body-kib', '64')) * 1024);
  const rate = positive('--rate', flag(argv, '--rate', '100'));
  const secs = positive('--secs', flag(argv, '--secs', '10'));
  const reader = flag(argv, '--reader', 'null');
  if (reader !== 'null' && reader !== 'parse') {
    process.stderr.write(`tap-memory: --reader is null or parse, not '${reader}'; ${USAGE}\n`);
    process.exit(2);
  }
  const maxRps = flag(argv, '--max-rps', String(rate));

  const metrics = createProxyMetrics({ namespace: 'bench', workloadKind: 'deployment', workloadName: 'bench', pod: 'bench-0' });
  const hub = createTapHub({ onDropped: (r, n) => metrics.tapDropped(r, n) });
  // As `meshtap proxy --engine native` does: V8's young generation capped while a tap is attached.
  capYoungGenerationWhileTapped(hub);
  const dropped = { n: 0 };
  const service = await startTapService(
    { host: '127.0.0.1', port: 0 },
    { hub, recorder: createFlightRecorder(1024 * 1024), metrics, pod: 'bench-0', namespace: 'bench', trustLoopback: true, publicKey: () => undefined },
  );
  const cli = fileURLToPath(new URL('../bin/meshtap.js', import.meta.url));
  const child = spawn(process.execPath, [cli, 'tap', '--proxy', service.address, '--bodies', '-o', 'json', '--max-rps', maxRps], { stdio: ['ignore', reader === 'null' ? 'ignore' : 'pipe', 'pipe'] });
  let lines = 0;
  let rest = '';
  child.stdout?.on('data', (d: Buffer) => {
    const parts = (rest + d.toString('utf8')).split('\n');
    rest = parts.pop() ?? '';
    for (const l of parts) {
      if (l.length === 0) continue;
      JSON.parse(l);
      lines++;
    }
  });
  child.stderr?.on('data', (d: Buffer) => {
    const m = /(\d+) (?:exchanges|events) dropped/.exec(d.toString('utf8'));
    if (m) dropped.n += Number(m[1]);
  });
  const deadline = Date.now() + 10_000;
  while (hub.count === 0) {
    if (Date.now() > deadline) throw new Error('tap-memory: the tap client did not attach within 10 s');
    await new Promise((r) => setTimeout(r, 20));
  }

  // One exchange per tick's share: req, rsp, end; the end carries a body made fresh, as the engines make it (bytes → text).
  const headers: [string, string][] = [['content-type', 'text/plain'], ['user-agent', 'bench']];
  const bodySource = Buffer.alloc(bodyBytes, 'x');
  let seq = 0;
  const publishOne = (): void => {
    const id = `1.${seq++}`;
    const base = { id, ts: new Date().toISOString(), proxy: 'in', src: '10.0.0.1:1234', dst: '10.0.0.2:80', protocol: 'http/1.1', method: 'GET', scheme: 'http', authority: 'bench', path: '/x' } as const;
    hub.publish('req', { ...base, kind: 'req', requestHeaders: headers } as TapEvent);
    hub.publish('rsp', { ...base, kind: 'rsp', requestHeaders: headers, status: 200, responseHeaders: headers } as TapEvent);
    const data = Buffer.from(bodySource).toString('utf8');
    hub.publish('end', { ...base, kind: 'end', requestHeaders: headers, status: 200, responseHeaders: headers, durationMs: 1, responseBytes: bodyBytes, responseBody: { size: bodyBytes, truncated: false, encoding: 'utf8', data } } as TapEvent);
  };

  const start = status();
  let peak = start;
  let anonPeak = 0;
  let sumAnon = 0;
  let samples = 0;
  let oldPeak = 0;
  let extPeak = 0;
  const sample = (): void => {
    const s = status();
    if (s.rss > peak.rss) peak = s;
    anonPeak = Math.max(anonPeak, s.anon);
    sumAnon += s.anon;
    samples++;
    for (const sp of getHeapSpaceStatistics()) if (sp.space_name === 'old_space') oldPeak = Math.max(oldPeak, sp.physical_space_size);
    extPeak = Math.max(extPeak, process.memoryUsage().external);
  };
  const sampler = setInterval(sample, 100);
  const cpu0 = cpuUs();
  const t0 = performance.now();
  const total = Math.round(rate * secs);
  // Ticks of 10 ms, each publishing what the rate owes by then (an engine's doorbell delivers in bursts like these).
  await new Promise<void>((resolve) => {
    const tick = setInterval(() => {
      const owed = Math.min(total, Math.floor(((performance.now() - t0) / 1000) * rate));
      while (seq < owed) publishOne();
      if (seq >= total) {
        clearInterval(tick);
        resolve();
      }
    }, 10);
  });
  const cpu1 = cpuUs();
  await new Promise((r) => setTimeout(r, 1000));
  clearInterval(sampler);
  const after = status();
  const delivered = lines;
  child.kill('SIGTERM');
  await service.close();
  const mb = (kb: number): string => (kb / 1024).toFixed(1);
  const load = readFileSync('/proc/loadavg', 'utf8').split(' ')[0];
  process.stdout.write(
    `load ${load} | ${total} exchanges, ${bodyBytes} B bodies at ${rate}/s, reader ${reader}${reader === 'parse' ? ` (${delivered} lines)` : ''}, tap dropped ${dropped.n}` +
      ` | CPU ${((cpu1 - cpu0) / total).toFixed(1)} us/exchange` +
      ` | start VmRSS ${mb(start.rss)} (anon ${mb(start.anon)}, file ${mb(start.file)})` +
      ` | peak VmRSS ${mb(peak.rss)} = anon ${mb(peak.anon)} + file ${mb(peak.file)}; anon peak ${mb(anonPeak)}, mean ${mb(sumAnon / Math.max(1, samples))}` +
      ` | 1 s after: anon ${mb(after.anon)}` +
      ` | old space peak ${(oldPeak / 1048576).toFixed(1)} MB, external peak ${(extPeak / 1048576).toFixed(1)} MB\n`,
  );
}

main().then(
  () => process.exit(0),
  (err: unknown) => {
    process.stderr.write(`tap-memory: ${(err as Error).message}\n`);
    process.exit(1);
  },
);
