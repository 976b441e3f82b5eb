#!/usr/bin/env node
/**
 * `node dist/bench/idle-conns.js [--engine js|native …] [--idle N] [--slowloris N]` — memory held
 * by one sidecar per engine with many idle connections and slowloris clients (issue 13: "memory
 * stays bounded with 5,000 idle connections and 500 slowloris connections").
 *
 * Idle clients connect through the sidecar to a holding upstream and send nothing; slowloris
 * clients send an unfinished HTTP/1 head, one header byte every second. After everything is
 * open and has trickled for `--hold`, the sidecar's RSS (VmRSS, VmHWM from /proc) and its
 * `tcp_open_connections` are printed, beside the RSS of the same sidecar idle. Not a test: RSS
 * depends on the machine; the output says what it was here.
 */
import { createServer, connect, type Socket } from 'node:net';
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { fileURLToPath } from 'node:url';
import { startProcess, stopAll, waitForStderr } from './lib/procs.js';

const MESHTAP = fileURLToPath(new URL('../bin/meshtap.js', import.meta.url));

function rssOf(pid: number): { rssMb: number; hwmMb: number } {
  const s = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kb = (k: string) => Number(new RegExp(`${k}:\\s+(\\d+) kB`).exec(s)?.[1] ?? 0);
  return { rssMb: kb('VmRSS') / 1024, hwmMb: kb('VmHWM') / 1024 };
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function openMany(n: number, port: number, onOpen: (s: Socket) => void): Promise<Socket[]> {
  const out: Socket[] = [];
  for (let i = 0; i < n; i += 250) {
    const batch = Array.from({ length: Math.min(250, n - i) }, () =>
      new Promise<Socket>((resolve, reject) => {
        const s = connect(port, '127.0.0.1', () => resolve(s));
        s.on('error', reject);
      }),
    );
    for (const s of await Promise.all(batch)) {
      onOpen(s);
      out.push(s);
    }
  }
  return out;
}

async function measure(engine: string, idle: number, slow: number, holdMs: number): Promise<string> {
  const held: Socket[] = [];
  const upstream = createServer((s) => {
    held.push(s);
    s.on('error', () => undefined);
  });
  await new Promise<void>((r) => upstream.listen({ port: 0, host: '127.0.0.1', backlog: 4096 }, r));
  const up = (upstream.address() as { port: number }).port;
  const proc = startProcess({ name: `meshtap-${engine}`, command: process.execPath, args: [MESHTAP, 'proxy', '--engine', engine, '--forward', `127.0.0.1:0=127.0.0.1:${up}`, '--admin', '127.0.0.1:0'], env: { ...process.env, MESHTAP_LOG: 'error' } });
  try {
    await waitForStderr(proc, /^ready$/m);
    const tail = proc.stderrTail();
    const port = Number(/^listening forward 127\.0\.0\.1:(\d+)/m.exec(tail)![1]);
    const admin = /^listening admin (\S+)/m.exec(tail)![1];
    await sleep(1000);
    const base = rssOf(proc.pid);
    const clients = await openMany(idle, port, () => undefined);
    const slowClients = await openMany(slow, port, (s) => s.write('GET /slow HTTP/1.1\r\nHost: slow\r\n'));
    const trickle = setInterval(() => {
      for (const s of slowClients) s.write('X');
    }, 1000);
    await sleep(holdMs);
    clearInterval(trickle);
    const loaded = rssOf(proc.pid);
    const metrics = await (await fetch(`http://${admin}/metrics`)).text();
    const open = [...metrics.matchAll(/^tcp_open_connections\{[^}]*peer="src"[^}]*\} (\d+)/gm)].reduce((a, m) => a + Number(m[1]), 0);
    for (const s of [...clients, ...slowClients, ...held]) s.destroy();
    return `| ${engine} | ${idle} + ${slow} | ${open} | ${base.rssMb.toFixed(1)} | ${loaded.rssMb.toFixed(1)} | ${loaded.hwmMb.toFixed(1)} | ${(((loaded.rssMb - base.rssMb) * 1024) / (idle + slow)).toFixed(1)} |`;
  } finally {
    await proc.stop();
    upstream.close();
  }
}

async function main(): Promise<void> {
  const { values } = parseArgs({ options: { engine: { type: 'string', multiple: true }, idle: { type: 'string' }, slowloris: { type: 'string' }, hold: { type: 'string' } } });
  const engines = values.engine ?? ['js', 'native'];
  const idle = Number(values.idle ?? 5000);
  const slow = Number(values.slowloris ?? 500);
  const holdMs = Number(values.hold ?? 10) * 1000;
  const rows = ['| engine | idle + slowloris | open (src) | RSS idle MB | RSS loaded MB | peak MB | KiB per connection |', '|---|---|---|---|---|---|---|'];
  for (const e of engines) rows.push(await measure(e, idle, slow, holdMs));
  process.stdout.write(rows.join('\n') + '\n');
}

main()
  .catch((err) => {
    process.stderr.write(`idle-conns: ${err instanceof Error ? err.message : String(err)}\n`);
    process.exitCode = 1;
  })
  .finally(() => void stopAll());
