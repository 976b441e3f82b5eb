/**
 * Load generators and their output parsers. Each run is bounded in time (the generator's
 * own duration plus a kill timeout) and talks to loopback only. Parsers are pure functions
 * over the tools' text so a format change fails loudly with the tool's output in the error.
 */
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { MeshtapError } from '../common/index.js';
import { runToCompletion } from './lib/procs.js';
import type { LoadKind, Protocol } from './scenarios.js';

/** What one load run produced. `units` are requests, or MiB for a TCP stream. */
export interface LoadResult {
  tool: string;
  units: number;
  durationS: number;
  /** units per second (requests/s, or MiB/s for TCP). */
  perSecond: number;
  errors: number;
  /** Latency in ms from per-request logs (rate loads only). */
  latencyMs?: { p50: number; p99: number; p999: number; samples: number };
}

export interface LoadSpec {
  kind: LoadKind;
  protocol: Protocol;
  address: string;
  durationS: number;
  rateRps: number;
  cpus?: string;
  scratchDir: string;
}

const GRPC_PATH = '/bench.Bench/Unary';
const GRPC_HEADERS = ['-H', 'content-type: application/grpc', '-H', 'te: trailers'];
const GRPC_LOAD = fileURLToPath(new URL('./grpc-load.js', import.meta.url));

/** Parses wrk's summary: total requests, seconds, errors (non-2xx/3xx and socket errors). */
export function parseWrk(text: string): Omit<LoadResult, 'tool'> {
  const m = /(\d+) requests in ([\d.]+)(us|ms|s|m)/.exec(text);
  if (!m) throw new MeshtapError('MT_BENCH_PARSE', `bench: cannot read wrk output: ${text.trim().split('\n').slice(-3).join(' | ')}`);
  const scale = m[3] === 'us' ? 1e-6 : m[3] === 'ms' ? 1e-3 : m[3] === 'm' ? 60 : 1;
  const durationS = Number(m[2]) * scale;
  const units = Number(m[1]);
  let errors = 0;
  const non2xx = /Non-2xx or 3xx responses: (\d+)/.exec(text);
  if (non2xx) errors += Number(non2xx[1]);
  const sock = /Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)/.exec(text);
  if (sock) errors += Number(sock[1]) + Number(sock[2]) + Number(sock[3]) + Number(sock[4]);
  return { units, durationS, perSecond: units / durationS, errors };
}

/** Parses h2load's summary: succeeded requests, seconds, failed/errored/timeout + non-2xx. */
export function parseH2load(text: string): Omit<LoadResult, 'tool'> {
  const fin = /finished in ([\d.]+)(us|ms|s),/.exec(text);
  const req = /requests: (\d+) total, (\d+) started, (\d+) done, (\d+) succeeded, (\d+) failed, (\d+) errored, (\d+) timeout/.exec(text);
  if (!fin || !req) throw new MeshtapError('MT_BENCH_PARSE', `bench: cannot read h2load output: ${text.trim().split('\n').slice(-3).join(' | ')}`);
  const durationS = Number(fin[1]) * (fin[2] === 'us' ? 1e-6 : fin[2] === 'ms' ? 1e-3 : 1);
  const units = Number(req[4]);
  let errors = Number(req[5]) + Number(req[6]) + Number(req[7]);
  const codes = /status codes: (\d+) 2xx, (\d+) 3xx, (\d+) 4xx, (\d+) 5xx/.exec(text);
  if (codes) errors += Number(codes[3]) + Number(codes[4]);
  return { units, durationS, perSecond: units / durationS, errors };
}

/** Nearest-rank percentile of an ascending array. */
export function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return NaN;
  // the epsilon keeps 0.99 × 1000 = 990.0000000000001 from rounding up to rank 991
  const rank = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p * sorted.length) / 100 - 1e-9) - 1));
  return sorted[rank];
}

/** Latency percentiles (ms) from an h2load --log-file: `start_µs \t status \t elapsed_µs`. */
export function parseH2loadLog(text: string): NonNullable<LoadResult['latencyMs']> {
  const us: number[] = [];
  for (const line of text.split('\n')) {
    const f = line.split('\t');
    if (f.length >= 3 && /^\d+$/.test(f[2])) us.push(Number(f[2]));
  }
  us.sort((a, b) => a - b);
  return { p50: percentile(us, 50) / 1000, p99: percentile(us, 99) / 1000, p999: percentile(us, 99.9) / 1000, samples: us.length };
}

/** Parses `iperf3 -J`: MiB received and seconds. */
export function parseIperf3(text: string): Omit<LoadResult, 'tool'> {
  let j: { end?: { sum_received?: { bytes: number; seconds: number } }; error?: string };
  try {
    j = JSON.parse(text);
  } catch (cause) {
    throw new MeshtapError('MT_BENCH_PARSE', `bench: cannot read iperf3 JSON: ${text.slice(0, 200)}`, { cause });
  }
  if (j.error || !j.end?.sum_received) throw new MeshtapError('MT_BENCH_PARSE', `bench: iperf3 failed: ${j.error ?? 'no summary'}`);
  const units = j.end.sum_received.bytes / (1024 * 1024);
  return { units, durationS: j.end.sum_received.seconds, perSecond: units / j.end.sum_received.seconds, errors: 0 };
}

function grpcRequestFile(dir: string): string {
  const file = `${dir}/grpc-request.bin`;
  const msg = Buffer.from('hello');
  const frame = Buffer.alloc(5 + msg.length);
  frame.writeUInt32BE(msg.length, 1);
  msg.copy(frame, 5);
  writeFileSync(file, frame);
  return file;
}

async function run(spec: LoadSpec, tool: string, command: string, args: string[]): Promise<string> {
  const timeoutMs = (spec.durationS + 20) * 1000;
  const r = await runToCompletion({ name: tool, command, args, cpus: spec.cpus, timeoutMs });
  if (r.code !== 0) {
    const why = (r.stderr + r.stdout).trim().split('\n').slice(-3).join(' | ');
    throw new MeshtapError('MT_BENCH_LOAD', `bench: ${tool} exited with code ${r.code}: ${why}`);
  }
  return r.stdout;
}

/** Runs one load against `spec.address` and returns what it measured. */
export async function runLoad(spec: LoadSpec): Promise<LoadResult> {
  const url = `http://${spec.address}${spec.protocol === 'grpc' ? GRPC_PATH : '/'}`;
  const grpcArgs = spec.protocol === 'grpc' ? ['-d', grpcRequestFile(spec.scratchDir), ...GRPC_HEADERS] : [];
  const d = String(Math.max(1, Math.round(spec.durationS)));
  switch (spec.kind) {
    case 'max':
      if (spec.protocol === 'h1') {
        const out = await run(spec, 'wrk', 'wrk', ['-t1', '-c32', `-d${d}s`, '--timeout', '5s', url]);
        return { tool: 'wrk -t1 -c32', ...parseWrk(out) };
      } else {
        const out = await run(spec, 'h2load', 'h2load', ['-t1', '-c4', '-m32', '-D', d, ...grpcArgs, url]);
        return { tool: 'h2load -t1 -c4 -m32', ...parseH2load(out) };
      }
    case 'rate': {
      const clients = spec.protocol === 'h1' ? 8 : 4;
      const log = `${spec.scratchDir}/h2load-${process.pid}-${Date.now()}.log`;
      const h1 = spec.protocol === 'h1' ? ['--h1'] : [];
      const perClient = String(Math.max(1, Math.round(spec.rateRps / clients)));
      const out = await run(spec, 'h2load', 'h2load', [...h1, '-t1', `-c${clients}`, '-m8', '--rps', perClient, '-D', d, `--log-file=${log}`, ...grpcArgs, url]);
      const latencyMs = parseH2loadLog(readFileSync(log, 'utf8'));
      rmSync(log, { force: true });
      return { tool: `h2load${h1.length ? ' --h1' : ''} -c${clients} --rps ${perClient}/client`, ...parseH2load(out), latencyMs };
    }
    case 'grpc-js': {
      const out = await run(spec, 'grpc-load', process.execPath, [GRPC_LOAD, '--target', spec.address, '--duration', d, '--concurrency', '64']);
      const j = JSON.parse(out.trim().split('\n').pop() ?? '{}') as { requests: number; errors: number; durationS: number };
      return { tool: 'grpc-js loop, 64 in flight', units: j.requests, durationS: j.durationS, perSecond: j.requests / j.durationS, errors: j.errors };
    }
    case 'stream': {
      const [host, port] = spec.address.split(':');
      const out = await run(spec, 'iperf3', 'iperf3', ['-c', host, '-p', port, '-t', d, '-J']);
      return { tool: 'iperf3 -c (1 stream)', ...parseIperf3(out) };
    }
  }
}
