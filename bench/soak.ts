#!/usr/bin/env node
/**
 * `node dist/bench/soak.js` — the soak: one sidecar under a steady mixed load (HTTP/1, h2c,
 * gRPC, opaque TCP; see soak-load.ts) for a long time, with a live tap (`meshtap tap --proxy … --bodies`)
 * attached for half of every tap cycle, sampling the sidecar's RSS and open fds (from /proc)
 * and a few of its own gauges at each interval. A leak shows as a series that keeps climbing
 * after warm-up; a bound that holds shows as a plateau. Writes a markdown report (the series as
 * a table plus a summary) and the raw samples as JSON.
 */
import { readdirSync, readFileSync, writeFileSync, mkdirSync } from 'node:fs';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { parseDurationMs, UsageError } from '../common/index.js';
import { startProcess, stopAll, waitForStderr, type BenchProcess } from './lib/procs.js';
import { startSoakLoad } from './soak-load.js';
import { renderSoakReport, type SoakSample } from './soak-report.js';

const HELP = `Usage: node dist/bench/soak.js [flags]

Runs one meshtap sidecar under a mixed HTTP/1 + h2c + gRPC + opaque TCP load, a live tap with
bodies attached half of the time, and reports its RSS and open fds over time.

Flags:
  --engine native|js|direct
                        the sidecar's engine (default native); direct runs the same load
                        straight at the backend, no sidecar and no tap (a baseline: which
                        failures the load and backend make on their own)
  --duration DURATION   how long (default 30m)
  --interval DURATION   sampling interval (default 60s)
  --rate N              requests per second, all kinds together (default 200)
  --tap-cycle DURATION  a tap is attached for the first half of every cycle (default 4m)
  --out FILE            markdown report (default bench/SOAK-REPORT.md); the JSON goes beside it
  -h, --help            this text
`;

const REPO = fileURLToPath(new URL('../../', import.meta.url));

function readRssBytes(pid: number): number {
  const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m ? Number(m[1]) * 1024 : 0;
}

function countFds(pid: number): number {
  return readdirSync(`/proc/${pid}/fd`).length;
}

/** Sums a metric from Prometheus text. */
function metric(text: string, name: string): number {
  let sum = 0;
  for (const line of text.split('\n')) {
    if (line.startsWith(name) && (line[name.length] === ' ' || line[name.length] === '{')) sum += Number(line.slice(line.lastIndexOf(' ') + 1));
  }
  return sum;
}

async function main(argv: string[]): Promise<number> {
  let v;
  try {
    v = parseArgs({
      args: argv,
      options: {
        duration: { type: 'string' },
        engine: { type: 'string' },
        interval: { type: 'string' },
        rate: { type: 'string' },
        'tap-cycle': { type: 'string' },
        out: { type: 'string' },
        help: { type: 'boolean', short: 'h' },
      },
    }).values;
  } catch (err) {
    throw new UsageError(`soak: ${(err as Error).message.split('\n')[0]} (see --help)`);
  }
  if (v.help) {
    process.stdout.write(HELP);
    return 0;
  }
  const durationMs = parseDurationMs(v.duration ?? '30m', '--duration');
  const intervalMs = parseDurationMs(v.interval ?? '60s', '--interval');
  const tapCycleMs = parseDurationMs(v['tap-cycle'] ?? '4m', '--tap-cycle');
  const rate = Number(v.rate ?? 200);
  if (!Number.isFinite(rate) || rate <= 0) throw new UsageError(`soak: --rate takes a positive number, not '${v.rate}'`);
  if (intervalMs <= 0 || durationMs < intervalMs) throw new UsageError('soak: --duration must be at least one --interval');
  const out = v.out ?? join(REPO, 'bench/SOAK-REPORT.md');
  const engine = v.engine ?? 'native';
  if (engine !== 'native' && engine !== 'js' && engine !== 'direct') throw new UsageError(`soak: --engine takes native, js or direct, not '${engine}'`);
  const isDirect = engine === 'direct';

  const node = process.execPath;
  const backend = startProcess({ name: 'backend', command: node, args: [join(REPO, 'dist/bench/backend.js'), '--size', '1024'] });
  await waitForStderr(backend, /^ready$/m);
  const h1Target = /listening h1 (\S+)/.exec(backend.stderrTail())![1]!;
  const h2Target = /listening h2 (\S+)/.exec(backend.stderrTail())![1]!;
  const tcpTarget = /listening tcp (\S+)/.exec(backend.stderrTail())![1]!;
  let h1 = h1Target;
  let h2 = h2Target;
  let tcp = tcpTarget;
  let admin: string | undefined;
  let tapAddr: string | undefined;
  // Direct: the samples are the backend's (its RSS and fds), so a report says what the load alone does.
  let measured: BenchProcess = backend;
  if (!isDirect) {
    const sidecar = startProcess({
      name: 'meshtap',
      command: node,
      args: [
        join(REPO, 'dist/bin/meshtap.js'), 'proxy', '--engine', engine,
        '--forward', `127.0.0.1:0=${h1Target}`, '--forward', `127.0.0.1:0=${h2Target}`, '--forward', `127.0.0.1:0=${tcpTarget}`,
        '--admin', '127.0.0.1:0', '--tap', '127.0.0.1:0',
      ],
    });
    await waitForStderr(sidecar, /^ready$/m);
    const err = sidecar.stderrTail();
    const forwards = [...err.matchAll(/listening forward (\S+) -> (\S+)/g)];
    h1 = forwards.find((m) => m[2] === h1Target)![1]!;
    h2 = forwards.find((m) => m[2] === h2Target)![1]!;
    tcp = forwards.find((m) => m[2] === tcpTarget)![1]!;
    admin = /listening admin (\S+)/.exec(err)![1]!;
    tapAddr = /listening tap (\S+)/.exec(err)![1]!;
    process.stderr.write(`soak: sidecar pid ${sidecar.pid} (engine ${engine}), h1 ${h1}, h2 ${h2}, tcp ${tcp}, admin ${admin}, tap ${tapAddr}; ${durationMs / 60_000} min at ${rate} req/s\n`);
    const engineShown = /^meshtap_engine\{(?:[^}]*,)?engine="(\w+)"[^}]*\} 1/m.exec(await (await fetch(`http://${admin}/metrics`)).text())?.[1] ?? 'unknown';
    if (engineShown !== engine) throw new Error(`soak: asked for --engine ${engine} but the sidecar's meshtap_engine metric says '${engineShown}'`);
    measured = sidecar;
  } else {
    process.stderr.write(`soak: direct (no sidecar), backend pid ${backend.pid}, h1 ${h1}, h2 ${h2}, tcp ${tcp}; ${durationMs / 60_000} min at ${rate} req/s\n`);
  }

  const load = startSoakLoad(h1, h2, tcp, rate);
  let tap: BenchProcess | undefined;
  let tapLines = 0;
  let tapBodyLines = 0;
  const setTap = async (isOn: boolean) => {
    if (isOn && tap === undefined && tapAddr !== undefined) {
      tap = startProcess({ name: 'tap', command: node, args: [join(REPO, 'dist/bin/meshtap.js'), 'tap', '--proxy', tapAddr, '--bodies', '-o', 'json', '--max-rps', '1000'], stdout: 'pipe' });
      // Whole lines only (a chunk may end mid-line), so lines carrying a body are counted exactly:
      // proof that the tap asked for bodies and got them.
      let carry = '';
      tap.child.stdout!.setEncoding('utf8');
      tap.child.stdout!.on('data', (text: string) => {
        const lines = (carry + text).split('\n');
        carry = lines.pop()!;
        for (const line of lines) {
          tapLines++;
          if (line.includes('"requestBody"') || line.includes('"responseBody"')) tapBodyLines++;
        }
      });
    } else if (!isOn && tap !== undefined) {
      const t = tap;
      tap = undefined;
      await t.stop();
    }
  };

  const samples: SoakSample[] = [];
  const startedAt = Date.now();
  let last = { ok: 0, errors: 0, at: startedAt };
  const sample = async () => {
    const now = Date.now();
    let text = '';
    try {
      if (admin !== undefined) text = await (await fetch(`http://${admin}/metrics`)).text();
    } catch {
      // the sample shows zeros for the sidecar's gauges
    }
    const c = load.counts;
    samples.push({
      elapsedS: Math.round((now - startedAt) / 1000),
      isTapOn: tap !== undefined,
      rssBytes: readRssBytes(measured.pid),
      fds: countFds(measured.pid),
      openConnections: metric(text, 'tcp_open_connections'),
      recorderBytes: metric(text, 'meshtap_recorder_bytes'),
      requestsPerS: now > last.at ? (c.ok + c.errors - last.ok - last.errors) / ((now - last.at) / 1000) : 0,
      errors: c.errors - last.errors,
      skipped: c.skipped,
      tapLines,
      tapBodyLines,
      observerErrors: metric(text, 'meshtap_observer_errors_total'),
      tapDropped: metric(text, 'meshtap_tap_dropped_events_total'),
    });
    last = { ok: c.ok, errors: c.errors, at: now };
    const s = samples[samples.length - 1]!;
    process.stderr.write(`soak: t=${s.elapsedS}s tap=${s.isTapOn ? 'on' : 'off'} (${s.tapLines} lines, ${s.tapBodyLines} with bodies) rss=${(s.rssBytes / 2 ** 20).toFixed(1)}MiB fds=${s.fds} rps=${s.requestsPerS.toFixed(0)} errors=${s.errors}${s.errors > 0 ? ` ${JSON.stringify(c.failures)}` : ''}\n`);
  };

  await sample();
  while (Date.now() - startedAt < durationMs) {
    const elapsed = Date.now() - startedAt;
    await setTap(elapsed % tapCycleMs < tapCycleMs / 2);
    const nextSample = startedAt + samples.length * intervalMs;
    const nextTapChange = startedAt + (Math.floor(elapsed / (tapCycleMs / 2)) + 1) * (tapCycleMs / 2);
    await new Promise((r) => setTimeout(r, Math.max(0, Math.min(nextSample, nextTapChange) - Date.now())));
    if (Date.now() >= nextSample) await sample();
  }
  await setTap(false);
  await load.stop();
  const c = load.counts;
  const command = `node dist/bench/soak.js ${argv.join(' ')}`.trim();
  const md = renderSoakReport({ engine, startedAt: new Date(startedAt).toISOString(), durationS: durationMs / 1000, ratePerS: rate, tapCycleS: tapCycleMs / 1000, samples, totals: c, command });
  mkdirSync(dirname(out), { recursive: true });
  writeFileSync(out, md);
  writeFileSync(out.replace(/\.md$/, '') + '.json', JSON.stringify({ engine, startedAt: new Date(startedAt).toISOString(), rate, samples, totals: c }, null, 2) + '\n');
  process.stdout.write(md);
  return 0;
}

main(process.argv.slice(2)).then(
  async (code) => {
    await stopAll();
    process.exit(code);
  },
  async (err: unknown) => {
    process.stderr.write(`${err instanceof Error ? err.message.split('\n')[0] : String(err)}\n`);
    await stopAll();
    process.exit(err instanceof UsageError ? 2 : 1);
  },
);
