/**
 * Hostile HTTP/2 input through the real sidecar process: invalid HPACK, oversized header
 * blocks, a stream flood past the observer's bound and a PING flood. Bytes always pass
 * unchanged both ways (a tee in front of the real node:http2 server proves it: whatever the
 * server answers, GOAWAY included, reaches the client as sent), the matching give-up reason
 * moves by one, no event is invented, and other connections keep being served and observed.
 */
import * as http2 from 'node:http2';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { clientStart, FLAG, frame, FRAME, getHeaders, hpackInt, hpackLiterals, parseFrames, type ParsedFrame } from './support/h2-frames.js';
import { startH2Origin, type H2Origin } from './support/h2-origin.js';
import { scrape, sumMetric, waitForMetric, type Sample } from './support/metrics-scrape.js';
import { startSidecarProcess, type SidecarProcess } from './support/meshtap-process.js';
import { connectRaw, startScriptedServer, type ScriptedServer } from './support/raw-socket.js';
import { openTapCollector, type TapCollector } from './support/tap-collector.js';
import { startTee, type Tee } from './support/tee.js';

const ERRORS = 'meshtap_observer_errors_total';

let origin: H2Origin;
let tee: Tee;
let sink: ScriptedServer;
let sidecar: SidecarProcess;
let tap: TapCollector;

beforeAll(async () => {
  origin = await startH2Origin();
  tee = await startTee(origin.port, { keepBytes: true });
  sink = await startScriptedServer();
  sidecar = await startSidecarProcess([
    '--forward', `127.0.0.1:0=127.0.0.1:${tee.port}`, '--forward', `127.0.0.1:0=127.0.0.1:${sink.port}`,
    '--admin', '127.0.0.1:0', '--tap', '127.0.0.1:0',
  ]);
  tap = await openTapCollector(sidecar.tap!);
});

afterAll(async () => {
  tap?.close();
  await sidecar?.stop();
  await tee?.close();
  await sink?.close();
  await origin?.close();
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

/** A real node:http2 client on a fresh connection: the proxy still serves and observes. */
async function stillServes(path: string): Promise<void> {
  // A flood can leave this file's tap subscriber behind its bounded queue: a subscriber that
  // overflowed is sent nothing until it has drained (tap-hub's "not reading"), so one exchange
  // may be dropped for it. Ask again (at most three times) rather than wait on a dropped event.
  for (let attempt = 1; ; attempt++) {
    try {
      await serveOnce(path);
      return;
    } catch (err) {
      if (attempt >= 3 || !/end events after/.test((err as Error).message)) throw err;
    }
  }
}

async function serveOnce(path: string): Promise<void> {
  const session = http2.connect(`http://127.0.0.1:${sidecar.forwards[0].port}`);
  session.on('error', () => {});
  const body = await new Promise<string>((resolve, reject) => {
    const req = session.request({ ':path': `/echo${path}`, ':method': 'POST' });
    let text = '';
    req.setEncoding('utf8');
    req.on('data', (t: string) => (text += t));
    req.on('end', () => resolve(text));
    req.on('error', reject);
    req.end('still here');
  });
  await new Promise<void>((resolve) => session.close(() => resolve()));
  expect(body).toBe('still here');
  const [end] = await tap.waitForEnds(1, (e) => e.path === `/echo${path}`, 8_000);
  expect([end.protocol, end.status, end.requestBytes, end.responseBytes, end.error]).toEqual(['h2', 200, 10, 10, undefined]);
  expect(sidecar.isRunning()).toBe(true);
}

const RST_STREAM = 3;

/**
 * Writes `bytes` to the real h2 server through the sidecar and waits until the server's answer
 * satisfies `answered` (or the connection ends); then the client leaves and the server's
 * session is closed (node:http2 keeps a connection open after its GOAWAY). Both directions
 * must match the tee's record exactly — or, when the server may drop the connection while bytes
 * are in flight (`mayReset`), be prefixes of it: a reset discards bytes, it never alters them.
 */
async function throughToServer(bytes: Buffer, answered: (frames: ParsedFrame[]) => boolean, mayReset = false): Promise<ParsedFrame[]> {
  const n = tee.connections.length;
  const client = await connectRaw(sidecar.forwards[0].port);
  await client.write(bytes).catch(() => {});
  await client.waitFor((r) => answered(parseFrames(r)) || client.isClosed || client.peerEnded, 'the server to answer').catch(() => {});
  client.end();
  origin.destroySessions();
  await tee.settled(n + 1);
  await client.waitForClose();
  const conn = tee.connections[n];
  if (mayReset) {
    expect(bytes.subarray(0, conn.c2s.bytes).equals(conn.c2s.data())).toBe(true);
    expect(conn.s2c.data().subarray(0, client.received().length).equals(client.received())).toBe(true);
  } else {
    expect(client.errorCode).toBeUndefined();
    expect(conn.c2s.data().equals(bytes)).toBe(true);
    expect(client.received().equals(conn.s2c.data())).toBe(true);
  }
  return parseFrames(client.received());
}

const goaway = (fs: ParsedFrame[]) => fs.find((f) => f.type === FRAME.GOAWAY);
/** The GOAWAY error code the server sent, if any. */
const goawayCode = (fs: ParsedFrame[]) => goaway(fs)?.payload.readUInt32BE(4);

describe('bad HTTP/2 input (real sidecar process, real node:http2 server)', () => {
  it('invalid HPACK (index 0, then an index past both tables): server GOAWAY relayed, one h2-hpack give-up', async () => {
    const before = await scrape(sidecar.admin!);
    const bad = Buffer.concat([clientStart(), getHeaders(1, '/fine-before'), frame(FRAME.HEADERS, FLAG.END_HEADERS | FLAG.END_STREAM, 3, Buffer.from([0x80]))]);
    const answer = await throughToServer(bad, (fs) => goaway(fs) !== undefined);
    expect(goawayCode(answer)).toBe(0x9); // COMPRESSION_ERROR, as the server decided
    const after = await waitForMetric(sidecar.admin!, ERRORS, {}, (v) => v > sumMetric(before, ERRORS)).then(() => scrape(sidecar.admin!));
    expect(moved(before, after)).toEqual({ 'h2-hpack': 1 });

    const before2 = after;
    const bad2 = Buffer.concat([clientStart(), frame(FRAME.HEADERS, FLAG.END_HEADERS | FLAG.END_STREAM, 1, hpackInt(5000, 7, 0x80))]);
    expect(goawayCode(await throughToServer(bad2, (fs) => goaway(fs) !== undefined))).toBe(0x9);
    await waitForMetric(sidecar.admin!, ERRORS, {}, (v) => v > sumMetric(before2, ERRORS));
    expect(moved(before2, await scrape(sidecar.admin!))).toEqual({ 'h2-hpack': 1 });
    await stillServes('/after-hpack');
  });

  it('an oversized header block (200 KiB over CONTINUATION frames): relayed, one h2-header-too-large give-up, no event', async () => {
    const before = await scrape(sidecar.admin!);
    const block = hpackLiterals([[':method', 'GET'], [':scheme', 'http'], [':path', '/too-big'], [':authority', 'x'], ['x-big', 'v'.repeat(200 * 1024)]]);
    const frames = [frame(FRAME.HEADERS, FLAG.END_STREAM, 1, block.subarray(0, 16_000))];
    for (let at = 16_000; at < block.length; at += 16_000) {
      const last = at + 16_000 >= block.length;
      frames.push(frame(FRAME.CONTINUATION, last ? FLAG.END_HEADERS : 0, 1, block.subarray(at, at + 16_000)));
    }
    // The server refuses it its own way (431, RST_STREAM or GOAWAY), possibly before it read the
    // whole block (then closing resets): whatever it sent reaches the client unaltered.
    await throughToServer(Buffer.concat([clientStart(), ...frames]), (fs) => fs.some((f) => f.stream === 1 || f.type === FRAME.GOAWAY || f.type === RST_STREAM), true);
    await waitForMetric(sidecar.admin!, ERRORS, {}, (v) => v > sumMetric(before, ERRORS));
    expect(moved(before, await scrape(sidecar.admin!))).toEqual({ 'h2-header-too-large': 1 });
    expect(tap.events.some((e) => e.path === '/too-big')).toBe(false);
    await stillServes('/after-big-headers');
  });

  it('a stream flood (1500 open streams to a silent server): every byte relayed, one h2-too-many-streams give-up', async () => {
    const before = await scrape(sidecar.admin!);
    const n = sink.connections.length;
    const client = await connectRaw(sidecar.forwards[1].port);
    const flood = [clientStart()];
    for (let i = 0; i < 1500; i++) flood.push(getHeaders(1 + 2 * i, `/flood/${i}`, 'flood', true));
    const bytes = Buffer.concat(flood);
    await client.write(bytes);
    const upstream = await sink.connection(n);
    await upstream.waitForBytes(bytes.length);
    expect(upstream.received().equals(bytes)).toBe(true);
    // The server (silent so far) answers; its bytes come back unchanged.
    const answer = Buffer.concat([frame(FRAME.SETTINGS, 0, 0), frame(FRAME.GOAWAY, 0, 0, Buffer.from([0, 0, 0, 0, 0, 0, 0, 0xb]))]);
    upstream.end(answer);
    await client.waitForEnd();
    expect(client.received().equals(answer)).toBe(true);
    client.destroy();
    await waitForMetric(sidecar.admin!, ERRORS, {}, (v) => v > sumMetric(before, ERRORS));
    expect(moved(before, await scrape(sidecar.admin!))).toEqual({ 'h2-too-many-streams': 1 });
    await stillServes('/after-stream-flood');
  });

  it('a PING flood (20000 PINGs): relayed to the server, whose answer comes back unaltered even when it drops the connection; nothing counted as a parse error', async () => {
    const before = await scrape(sidecar.admin!);
    const pings = Array.from({ length: 20_000 }, (_, i) => {
      const p = Buffer.alloc(8);
      p.writeUInt32BE(i, 4);
      return frame(FRAME.PING, 0, 0, p);
    });
    // node:http2's flood protection answers GOAWAY ENHANCE_YOUR_CALM and drops the connection,
    // with a reset when our PINGs are still arriving: either way the client sees what it would directly.
    await throughToServer(Buffer.concat([clientStart(), ...pings]), (fs) => goaway(fs) !== undefined || fs.filter((f) => f.type === FRAME.PING && f.flags & FLAG.ACK).length === pings.length, true);
    expect(moved(before, await scrape(sidecar.admin!))).toEqual({});
    await stillServes('/after-ping-flood');
  });
});
