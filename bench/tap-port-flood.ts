#!/usr/bin/env node
/**
 * `node dist/bench/tap-port-flood.js [--engine native|js …] [--conns 256] [--streams 256] [--hold 8]
 * [--after 8] [--no-read] [--meshtap PATH]` — the memory a peer without a grant can make a sidecar hold through its tap
 * port: `--conns` connections, each opening `--streams` gRPC calls of HEADERS only (never a request
 * byte, never a half-close), written at once whatever the server's SETTINGS say, as any peer in the
 * cluster can (review R1b of session 12: 256 x 256 took a native sidecar's RssAnon from 9 to 450 MB).
 * With `--no-read` the client never reads what the server answers (its refusals pile up behind a full
 * socket); by default it reads and discards it, and acknowledges the server's SETTINGS as a client does.
 *
 * Printed per engine: RssAnon (/proc/PID/status) before, at its peak during `--hold` seconds of flood,
 * and `--after` seconds after the flood's connections closed; the tap port's bound counters
 * (`meshtap_bound_hit_total`). `--meshtap` runs another build's dist/bin/meshtap.js (before/after pairs). Not a test: RSS depends on the machine; the output says what it was here.
 */
import { connect, createServer, type Socket } from 'node:net';
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { fileURLToPath } from 'node:url';
import { startProcess, stopAll, waitForStderr } from './lib/procs.js';

const MESHTAP = fileURLToPath(new URL('../bin/meshtap.js', import.meta.url));
const PREFACE = Buffer.from('PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n', 'latin1');
const OBSERVE_PATH = '/meshtap.tap.v2.Tap/Observe';

function rssAnonMb(pid: number): number {
  const s = readFileSync(`/proc/${pid}/status`, 'utf8');
  return Number(/RssAnon:\s+(\d+) kB/.exec(s)?.[1] ?? 0) / 1024;
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

function frame(type: number, flags: number, stream: number, payload: Buffer = Buffer.alloc(0)): Buffer {
  const h = Buffer.alloc(9);
  h.writeUIntBE(payload.length, 0, 3);
  h[3] = type;
  h[4] = flags;
  h.writeUInt32BE(stream, 5);
  return Buffer.concat([h, payload]);
}

/** HPACK string literal, no Huffman (lengths here stay under 127). */
const str = (s: string): Buffer => Buffer.concat([Buffer.from([s.length]), Buffer.from(s, 'latin1')]);

/** A gRPC call's request headers (RFC 7541: static-table indexes, literals without indexing). */
const CALL_BLOCK = Buffer.concat([
  Buffer.from([0x83, 0x86]), // :method POST, :scheme http
  Buffer.from([0x04]), str(OBSERVE_PATH), // :path (name index 4)
  Buffer.from([0x01]), str('tap'), // :authority (name index 1)
  Buffer.from([0x0f, 0x10]), str('application/grpc'), // content-type (name index 31)
  Buffer.from([0x00]), str('te'), str('trailers'),
]);

/** Opens one connection and writes `streams` HEADERS-only calls on it at once. */
function flood(port: number, streams: number, read: boolean): Promise<Socket> {
  return new Promise((resolve) => {
    const s = connect(port, '127.0.0.1', () => {
      const frames = [PREFACE, frame(4, 0, 0)];
      for (let i = 0; i < streams; i++) frames.push(frame(1, 0x4, 2 * i + 1, CALL_BLOCK));
      s.write(Buffer.concat(frames));
      resolve(s);
    });
    s.on('error', () => undefined);
    s.on('close', () => undefined);
    if (!read) {
      s.pause();
      return;
    }
    let pending = Buffer.alloc(0);
    s.on('data', (chunk: Buffer) => {
      pending = Buffer.concat([pending, chunk]);
      while (pending.length >= 9) {
        const len = pending.readUIntBE(0, 3);
        if (pending.length < 9 + len) break;
        // The server's SETTINGS (not an ACK): acknowledged, as a client does.
        if (pending[3] === 4 && (pending[4]! & 1) === 0) s.write(frame(4, 1, 0));
        pending = pending.subarray(9 + len);
      }
    });
  });
}

async function measure(meshtap: string, engine: string, conns: number, streams: number, holdMs: number, afterMs: number, read: boolean): Promise<string> {
  const upstream = createServer((s) => s.destroy());
  await new Promise<void>((r) => upstream.listen(0, '127.0.0.1', r));
  const up = (upstream.address() as { port: number }).port;
  const proc = startProcess({
    name: `meshtap-${engine}`,
    command: process.execPath,
    args: [meshtap, 'proxy', '--engine', engine, '--forward', `127.0.0.1:0=127.0.0.1:${up}`, '--admin', '127.0.0.1:0', '--tap', '127.0.0.1:0'],
    env: { ...process.env, MESHTAP_LOG: 'error' },
  });
  try {
    await waitForStderr(proc, /^ready$/m);
    const tail = proc.stderrTail();
    const tap = Number(/^listening tap \S+:(\d+)$/m.exec(tail)![1]);
    const admin = /^listening admin (\S+)/m.exec(tail)![1];
    await sleep(1000);
    const before = rssAnonMb(proc.pid);
    const sockets: Socket[] = [];
    let peak = before;
    const sampler = setInterval(() => (peak = Math.max(peak, rssAnonMb(proc.pid))), 100);
    for (let i = 0; i < conns; i++) sockets.push(await flood(tap, streams, read));
    await sleep(holdMs);
    const open = sockets.filter((s) => !s.destroyed && s.readyState === 'open').length;
    for (const s of sockets) s.destroy();
    await sleep(afterMs);
    clearInterval(sampler);
    const after = rssAnonMb(proc.pid);
    const metrics = await (await fetch(`http://${admin}/metrics`)).text();
    const bounds = [...metrics.matchAll(/^meshtap_bound_hit_total\{bound="(tap-[^"]+)"[^}]*\} (\d+)/gm)].map((m) => `${m[1]}=${m[2]}`).join(' ') || 'none';
    return `| ${engine} | ${conns} x ${streams}${read ? '' : ' (unread)'} | ${open} | ${before.toFixed(1)} | ${peak.toFixed(1)} | ${after.toFixed(1)} | ${bounds} |`;
  } finally {
    await proc.stop();
    upstream.close();
  }
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: { engine: { type: 'string', multiple: true }, conns: { type: 'string' }, streams: { type: 'string' }, hold: { type: 'string' }, after: { type: 'string' }, 'no-read': { type: 'boolean' }, meshtap: { type: 'string' } },
  });
  const engines = values.engine ?? ['native'];
  const rows = [
    '| engine | connections x streams | connections still open at the end | RssAnon before MB | peak MB | after MB | bounds hit |',
    '|---|---|---|---|---|---|---|',
  ];
  for (const e of engines) {
    rows.push(await measure(values.meshtap ?? MESHTAP, e, Number(values.conns ?? 256), Number(values.streams ?? 256), Number(values.hold ?? 8) * 1000, Number(values.after ?? 8) * 1000, values['no-read'] !== true));
  }
  process.stdout.write(rows.join('\n') + '\n');
}

main()
  .catch((err) => {
    process.stderr.write(`tap-port-flood: ${err instanceof Error ? err.message : String(err)}\n`);
    process.exitCode = 1;
  })
  .finally(() => void stopAll());
