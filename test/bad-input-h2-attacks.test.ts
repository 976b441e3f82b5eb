/**
 * HTTP/2 attack shapes through the real sidecar process, with their memory bounds: an HPACK
 * bomb (a small block that decodes to megabytes), a CONTINUATION flood (a header block that
 * never ends), a rapid-reset flood (20,000 streams opened and reset), a SETTINGS flood. Each:
 * every byte reaches the server unchanged, the observer gives up with the right reason or not at all, and the sidecar's RSS grows by less than
 * `MAX_RSS_GROWTH_BYTES` (the observer's bounds hold: header lists, pending resets, streams).
 */
import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { encodeIndexedLiteral, encodeLiteral } from '../proxy/h2/test-support/hpack-encoder.js';
import { ENGINES } from './support/engines.js';
import { clientStart, FLAG, FRAME, frame } from './support/h2-frames.js';
import { scrape, sumMetric, type Sample } from './support/metrics-scrape.js';
import { startSidecarProcess, type SidecarProcess } from './support/meshtap-process.js';
import { connectRaw, startScriptedServer, type ScriptedServer } from './support/raw-socket.js';

const MAX_RSS_GROWTH_BYTES = 64 * 1024 * 1024;
const ERRORS = 'meshtap_observer_errors_total';
const RST_STREAM = 0x3;

const rss = (pid: number): number => Number(/VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))![1]) * 1024;
const request = (id: number): Buffer => frame(FRAME.HEADERS, FLAG.END_HEADERS, id, Buffer.concat([encodeLiteral(':method', 'POST'), encodeLiteral(':path', `/r/${id}`), encodeLiteral(':scheme', 'http'), encodeLiteral(':authority', 'a')]));
const rst = (id: number): Buffer => {
  const p = Buffer.alloc(4);
  p.writeUInt32BE(8);
  return frame(RST_STREAM, 0, id, p);
};

describe.each(ENGINES)('HTTP/2 attack shapes and their memory bounds (engine %s)', (engine) => {
  let server: ScriptedServer;
  let sidecar: SidecarProcess;

  beforeAll(async () => {
    server = await startScriptedServer();
    sidecar = await startSidecarProcess(['--engine', engine, '--forward', `127.0.0.1:0=127.0.0.1:${server.port}`, '--admin', '127.0.0.1:0']);
  });

  afterAll(async () => {
    await sidecar?.stop();
    await server?.close();
  });

  function moved(before: Sample[], after: Sample[]): Record<string, number> {
    const out: Record<string, number> = {};
    for (const s of after) {
      if (s.name !== ERRORS) continue;
      const d = s.value - sumMetric(before, ERRORS, { reason: s.labels.reason });
      if (d) out[s.labels.reason] = d;
    }
    return out;
  }

  it.each([
    ['HPACK bomb: one 4 KB table entry referenced 4,000 times in one block (16 MB decoded)', () => [
      clientStart(),
      frame(FRAME.HEADERS, FLAG.END_HEADERS | FLAG.END_STREAM, 1, Buffer.concat([encodeIndexedLiteral('x-bomb', 'b'.repeat(4000)), Buffer.alloc(4000, 0xbe)])),
    ], { 'h2-header-too-large': 1 }],
    ['rapid reset: 20,000 streams opened and reset at once', () => [clientStart(), ...Array.from({ length: 20_000 }, (_, i) => Buffer.concat([request(2 * i + 1), rst(2 * i + 1)]))], {}],
    // CONTINUATION flood: a header block that never ends (no END_HEADERS), 20,000 CONTINUATION
    // frames of 1 KiB (20 MiB): the observer gives up once the block passes its header bound,
    // and keeps nothing of the rest.
    ['CONTINUATION flood: one header block of 20,000 CONTINUATION frames that never ends (20 MiB)', () => [
      clientStart(),
      frame(FRAME.HEADERS, 0, 1, encodeLiteral(':method', 'GET')),
      ...Array.from({ length: 20_000 }, () => frame(FRAME.CONTINUATION, 0, 1, Buffer.alloc(1024, 0x40))),
    ], { 'h2-header-too-large': 1 }],
    ['SETTINGS flood: 20,000 SETTINGS frames', () => [clientStart(), ...Array.from({ length: 20_000 }, () => frame(FRAME.SETTINGS, 0, 0, Buffer.from([0, 3, 0, 0, 0, 100])))], {}],
  ] as const)('%s: bytes through unchanged, the expected give-ups, RSS bounded', async (_name, build, gaveUp) => {
    const before = await scrape(sidecar.admin!);
    const rssBefore = rss(sidecar.child.pid!);
    const bytes = Buffer.concat(build());
    const next = server.connections.length;
    const client = await connectRaw(sidecar.forwards[0].port);
    const upstream = await server.connection(next);
    let peak = rssBefore;
    const sampler = setInterval(() => (peak = Math.max(peak, rss(sidecar.child.pid!))), 20);
    await client.write(bytes);
    await upstream.waitForBytes(bytes.length, 60_000);
    clearInterval(sampler);
    peak = Math.max(peak, rss(sidecar.child.pid!));
    expect(upstream.received().equals(bytes)).toBe(true);
    client.destroy();
    await upstream.waitForEnd();
    upstream.destroy();
    expect(moved(before, await scrape(sidecar.admin!))).toEqual(gaveUp);
    expect(peak - rssBefore).toBeLessThan(MAX_RSS_GROWTH_BYTES);
    expect(sidecar.isRunning()).toBe(true);
  });
});
