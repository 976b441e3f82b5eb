/**
 * A stuck tap consumer never holds traffic back: a subscriber that opens the tap stream with a
 * zero HTTP/2 flow-control window (so the sidecar can never send it a byte of events) sits on
 * the tap port while hundreds of exchanges go through. Every exchange must complete unchanged,
 * the stuck subscriber's events are dropped and counted (`meshtap_tap_dropped_events_total`),
 * and a healthy subscriber next to it still receives every exchange.
 */
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TAP_OBSERVE_PATH } from '../tap-protocol/index.js';
import { FLAG, frame, FRAME, hpackLiterals, PREFACE } from './support/h2-frames.js';
import { scrape, sumMetric, waitForMetric } from './support/metrics-scrape.js';
import { startSidecarProcess, type SidecarProcess } from './support/meshtap-process.js';
import { splitAddr } from './support/ports.js';
import { connectRaw, type RecordedSocket } from './support/raw-socket.js';
import { openTapCollector, type TapCollector } from './support/tap-collector.js';

const SETTINGS_INITIAL_WINDOW_SIZE = 0x4;
const EXCHANGES = 600;
const CONCURRENCY = 4;

let origin: http.Server;
let sidecar: SidecarProcess;
let healthy: TapCollector;
let stuck: RecordedSocket;

beforeAll(async () => {
  origin = http.createServer((req, res) => {
    req.resume();
    req.on('end', () => res.writeHead(200, { 'content-type': 'text/plain' }).end(`echo ${req.url}`));
  });
  await new Promise<void>((resolve) => origin.listen(0, '127.0.0.1', resolve));
  sidecar = await startSidecarProcess(['--forward', `127.0.0.1:0=127.0.0.1:${(origin.address() as AddressInfo).port}`, '--admin', '127.0.0.1:0', '--tap', '127.0.0.1:0']);
  healthy = await openTapCollector(sidecar.tap!);
});

afterAll(async () => {
  stuck?.destroy();
  healthy?.close();
  await sidecar?.stop();
  await new Promise((resolve) => origin?.close(resolve));
});

/** Opens `Observe` by hand with a zero stream window: the server can never send it events. */
async function openStuckSubscriber(tapAddr: string): Promise<RecordedSocket> {
  const { port } = splitAddr(tapAddr);
  const s = await connectRaw(port);
  const settings = Buffer.alloc(6);
  settings.writeUInt16BE(SETTINGS_INITIAL_WINDOW_SIZE, 0);
  settings.writeUInt32BE(0, 2);
  const request = Buffer.from(JSON.stringify({ matches: [], bodies: true }));
  const message = Buffer.concat([Buffer.from([0]), Buffer.alloc(4), request]);
  message.writeUInt32BE(request.length, 1);
  const headers = hpackLiterals([
    [':method', 'POST'], [':scheme', 'http'], [':path', TAP_OBSERVE_PATH], [':authority', tapAddr],
    ['content-type', 'application/grpc+json'], ['te', 'trailers'],
  ]);
  await s.write(Buffer.concat([PREFACE, frame(FRAME.SETTINGS, 0, 0, settings), frame(FRAME.HEADERS, FLAG.END_HEADERS, 1, headers), frame(FRAME.DATA, FLAG.END_STREAM, 1, message)]));
  // Acknowledge the server's SETTINGS once they come, as any client must; never open the window.
  await s.waitFor((r) => r.length >= 9 && r[3] === FRAME.SETTINGS, "the server's SETTINGS");
  await s.write(frame(FRAME.SETTINGS, FLAG.ACK, 0));
  return s;
}

function get(agent: http.Agent, path: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    http
      .get({ host: '127.0.0.1', port: sidecar.forwards[0].port, path, agent }, (res) => {
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (t: string) => (body += t));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
      })
      .on('error', reject);
  });
}

describe('a stuck tap consumer never holds traffic back', () => {
  it(`${EXCHANGES} exchanges complete while a zero-window subscriber taps; its events are dropped and counted`, async () => {
    stuck = await openStuckSubscriber(sidecar.tap!);
    await waitForMetric(sidecar.admin!, 'meshtap_tap_subscribers', {}, (v) => v === 2);
    const before = await scrape(sidecar.admin!);

    const agent = new http.Agent({ keepAlive: true, maxSockets: CONCURRENCY });
    let next = 0;
    const results: Array<{ status: number; body: string }> = [];
    await Promise.all(
      Array.from({ length: CONCURRENCY }, async () => {
        while (next < EXCHANGES) {
          const i = next++;
          results[i] = await get(agent, `/slow-tap/${i}`);
        }
      }),
    );
    agent.destroy();
    expect(results.filter((r, i) => r.status === 200 && r.body === `echo /slow-tap/${i}`)).toHaveLength(EXCHANGES);

    // The stuck subscriber lost events (queue full), counted by reason.
    const dropped = await waitForMetric(sidecar.admin!, 'meshtap_tap_dropped_events_total', { reason: 'queue-full' }, (v) => v > sumMetric(before, 'meshtap_tap_dropped_events_total', { reason: 'queue-full' }));
    expect(dropped).toBeGreaterThan(0);
    // It is still connected (dropped from, never waited on, never disconnected for being slow)…
    expect(stuck.isClosed).toBe(false);
    // …and the healthy subscriber next to it saw every exchange.
    const ends = await healthy.waitForEnds(EXCHANGES, (e) => e.path.startsWith('/slow-tap/'));
    expect(new Set(ends.map((e) => e.path)).size).toBe(EXCHANGES);
    expect(healthy.messages.filter((m) => m.type === 'dropped')).toEqual([]);
    expect(ends.every((e) => e.status === 200 && e.error === undefined)).toBe(true);
    expect(sidecar.isRunning()).toBe(true);
  }, 120_000);
});
