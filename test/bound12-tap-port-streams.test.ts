/**
 * The tap port's memory against a peer without a grant that floods it with HEADERS-only calls
 * (session 12 review R1b: 256 connections x 256 such streams took a native sidecar's RssAnon from 9 to
 * 450 MB, 300 MB still held after the flood; bench/tap-port-flood.ts measures it). Streams node makes
 * are what costs (~6.9 KB each until GC); the per-connection limit (MAX_STREAMS_PER_CONNECTION)
 * is what nghttp2 enforces before node makes one, so it is the bound that holds — provided no stream
 * is answered and closed while nghttp2 is still reading the frames that came with it. Real sidecar
 * processes on both engines, raw sockets writing what any peer can write, and the real tap clients.
 */
import { readFileSync } from 'node:fs';
import { connect, type Socket } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { observeChannelCounts, openTapStream, type TapStream } from '../tap-protocol/index.js';
import { MAX_OPEN_CALLS, MAX_STREAMS_PER_CONNECTION } from '../proxy/tap-grpc-server.js';
import { ENGINES } from './support/engines.js';
import { clientStart, FRAME, FLAG, frame, hpackLiterals, parseFrames, type ParsedFrame } from './support/h2-frames.js';
import { startSidecarProcess, type SidecarProcess } from './support/meshtap-process.js';
import { scrape, sumMetric } from './support/metrics-scrape.js';
import { splitAddr } from './support/ports.js';
import { until } from './support/until.js';

const RST_STREAM = 3;
const REFUSED_STREAM = 7;
const SETTINGS_MAX_CONCURRENT_STREAMS = 3;

const sidecars: SidecarProcess[] = [];
const sockets: Socket[] = [];
const taps: TapStream[] = [];
afterEach(async () => {
  for (const t of taps.splice(0)) t.cancel();
  for (const s of sockets.splice(0)) s.destroy();
  await Promise.all(sidecars.splice(0).map((s) => s.stop()));
});

/** Established TCP connections whose local end is the sidecar's tap port (its side of each, /proc/net/tcp). */
function tapPortConnections(address: string): number {
  const port = splitAddr(address).port.toString(16).toUpperCase().padStart(4, '0');
  let n = 0;
  for (const file of ['/proc/net/tcp', '/proc/net/tcp6']) {
    for (const line of readFileSync(file, 'latin1').split('\n').slice(1)) {
      const [, local, , state] = line.trim().split(/\s+/);
      if (local?.endsWith(`:${port}`) && state === '01') n++;
    }
  }
  return n;
}

async function sidecar(engine: string): Promise<SidecarProcess & { tap: string; admin: string }> {
  const s = await startSidecarProcess(['--engine', engine, '--forward', '127.0.0.1:0=127.0.0.1:9', '--admin', '127.0.0.1:0', '--tap', '127.0.0.1:0'], { env: { MESHTAP_LOG: 'error' } });
  sidecars.push(s);
  return s as SidecarProcess & { tap: string; admin: string };
}

/** An Observe call's HEADERS, left open (no request byte, no END_STREAM). */
const observeHeaders = (stream: number): Buffer =>
  frame(FRAME.HEADERS, FLAG.END_HEADERS, stream, hpackLiterals([[':method', 'POST'], [':scheme', 'http'], [':path', '/meshtap.tap.v2.Tap/Observe'], [':authority', 'tap'], ['content-type', 'application/grpc'], ['te', 'trailers']]));

/** A raw connection to the tap port: what it received so far, as frames, and whether it closed. */
async function raw(address: string): Promise<{ socket: Socket; frames: () => ParsedFrame[]; closed: () => boolean }> {
  const { host, port } = splitAddr(address);
  const socket = connect(port, host);
  sockets.push(socket);
  let got = Buffer.alloc(0);
  let closed = false;
  socket.on('data', (b: Buffer) => (got = Buffer.concat([got, b])));
  socket.on('error', () => {});
  socket.on('close', () => (closed = true));
  await new Promise((resolve) => socket.once('connect', resolve));
  return { socket, frames: () => parseFrames(got), closed: () => closed };
}

const refusedStreams = (frames: ParsedFrame[]): number[] => frames.filter((f) => f.type === RST_STREAM && f.payload.readUInt32BE(0) === REFUSED_STREAM).map((f) => f.stream);

/** SETTINGS_MAX_CONCURRENT_STREAMS of the server's first SETTINGS, if it came. */
function advertisedStreams(frames: ParsedFrame[]): number | undefined {
  const s = frames.find((f) => f.type === FRAME.SETTINGS && (f.flags & FLAG.ACK) === 0);
  if (s === undefined) return undefined;
  for (let at = 0; at + 6 <= s.payload.length; at += 6) if (s.payload.readUInt16BE(at) === SETTINGS_MAX_CONCURRENT_STREAMS) return s.payload.readUInt32BE(at + 2);
  return undefined;
}

describe.each(ENGINES)('tap port streams per connection (R1b, engine %s)', (engine) => {
  it('regression (a flood of HEADERS-only calls made a node stream of every one): 80 connections writing 64 calls at once each have 8 made; nghttp2 refuses the rest (REFUSED_STREAM), and MT_TAP_BUSY answers only the made ones past 512', async () => {
    const s = await sidecar(engine);
    const perConnection = 64;
    const connections = 80;
    const conns = await Promise.all(Array.from({ length: connections }, () => raw(s.tap)));
    // Everything at once, before our SETTINGS could be acknowledged (as a flood writes it).
    for (const c of conns) c.socket.write(Buffer.concat([clientStart(), ...Array.from({ length: perConnection }, (_, i) => observeHeaders(2 * i + 1))]));
    const refusedByNghttp2 = connections * (perConnection - MAX_STREAMS_PER_CONNECTION);
    await until('every connection told which streams were refused', () => conns.every((c) => refusedStreams(c.frames()).length === perConnection - MAX_STREAMS_PER_CONNECTION), 30_000);
    for (const c of conns) {
      expect(advertisedStreams(c.frames())).toBe(MAX_STREAMS_PER_CONNECTION);
      // The first eight streams were made; every later one refused.
      expect(refusedStreams(c.frames())).toEqual(Array.from({ length: perConnection - MAX_STREAMS_PER_CONNECTION }, (_, i) => 2 * (i + MAX_STREAMS_PER_CONNECTION) + 1));
    }
    expect(refusedByNghttp2).toBe(4480);
    // Made: 80 x 8 = 640 streams, 512 held as open calls, 128 refused with MT_TAP_BUSY. Before: a
    // stream refused in the same read gave its slot back, and all 5,120 were made (4,608 refused).
    const made = connections * MAX_STREAMS_PER_CONNECTION;
    await until('the made streams past the open-call bound are refused', async () => sumMetric(await scrape(s.admin), 'meshtap_bound_hit_total', { bound: 'tap-calls' }) >= made - MAX_OPEN_CALLS, 30_000);
    await new Promise((resolve) => setTimeout(resolve, 300));
    const samples = await scrape(s.admin);
    expect(sumMetric(samples, 'meshtap_bound_hit_total', { bound: 'tap-calls' })).toBe(made - MAX_OPEN_CALLS);
    expect(sumMetric(samples, 'meshtap_bound_hit_total', { bound: 'tap-streams' })).toBe(0);
  }, 90_000);

  it('a peer that opens more streams than our acknowledged SETTINGS allow gets its connection closed (GOAWAY), counted as bound tap-streams; a tap on another connection is served', async () => {
    const s = await sidecar(engine);
    const c = await raw(s.tap);
    c.socket.write(clientStart());
    await until('the server SETTINGS came', () => advertisedStreams(c.frames()) !== undefined);
    // Acknowledged, then one stream more than allowed, in one write.
    c.socket.write(Buffer.concat([frame(FRAME.SETTINGS, FLAG.ACK, 0), ...Array.from({ length: MAX_STREAMS_PER_CONNECTION + 1 }, (_, i) => observeHeaders(2 * i + 1))]));
    await until('the connection is closed', () => c.closed(), 10_000);
    const goaway = c.frames().find((f) => f.type === FRAME.GOAWAY);
    expect(goaway, 'a GOAWAY before the close').toBeDefined();
    // nghttp2 finds the protocol error; node ends the session it was reading with INTERNAL_ERROR.
    expect(goaway!.payload.readUInt32BE(4)).toBe(2);
    await until('counted', async () => sumMetric(await scrape(s.admin), 'meshtap_bound_hit_total', { bound: 'tap-streams' }) === 1, 10_000);
    const tap = openTapStream(s.tap, { matches: [], bodies: false, last: 1, follow: false });
    taps.push(tap);
    const got: string[] = [];
    for await (const m of tap.messages) got.push(m.type);
    expect(got).toEqual(['history-end']);
  }, 30_000);

  it('more live taps of one process than a connection takes streams (the tap API fans out so): all 12 are served at once, on two connections, closed with the last call', async () => {
    const s = await sidecar(engine);
    const n = MAX_STREAMS_PER_CONNECTION + 4;
    const started: boolean[] = [];
    for (let i = 0; i < n; i++) {
      const tap = openTapStream(s.tap, { matches: [], bodies: false, last: 1, follow: true });
      taps.push(tap);
      void (async () => {
        try {
          for await (const m of tap.messages) if (m.type === 'history-end') started[i] = true;
        } catch {
          // cancelled at the end
        }
      })();
    }
    // Sharing one connection (grpc-js's global subchannel pool), the 9th to 12th waited for a stream slot for good.
    await until('every tap is served while all are open', () => started.filter(Boolean).length === n, 15_000);
    // One connection per call (session 12) made taps x pods connections for the tap API: 12 here.
    expect(tapPortConnections(s.tap)).toBe(2);
    expect(observeChannelCounts().get(s.tap)).toEqual([MAX_STREAMS_PER_CONNECTION, n - MAX_STREAMS_PER_CONNECTION]);
    for (const tap of taps.splice(0)) tap.cancel();
    await until('the connections close with their calls', () => tapPortConnections(s.tap) === 0, 10_000);
    expect(observeChannelCounts().has(s.tap)).toBe(false);
  }, 30_000);
});
