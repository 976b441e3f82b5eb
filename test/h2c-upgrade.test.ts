/**
 * Regression (issue 10 item 7b): nothing after an h2c upgrade was observed. Real `curl --http2`
 * (it sends `Upgrade: h2c` and continues in HTTP/2 after the `101`) through the real sidecar to
 * a small h2c-upgrade server written here (node has none built in): the upgraded request is
 * reported as stream 1 with the real answer (200, 5,000 bytes), and the later request on the
 * same connection (a 503) appears in the tap and in `/metrics`. Other upgrades stay opaque.
 */
import { execFile } from 'node:child_process';
import * as net from 'node:net';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FLAG, FRAME, frame, hpackLiterals, parseFrames } from './support/h2-frames.js';
import { ENGINES } from './support/engines.js';
import { scrape, sumMetric } from './support/metrics-scrape.js';
import { startSidecarProcess, type SidecarProcess } from './support/meshtap-process.js';
import { connectRaw, startScriptedServer, type ScriptedServer } from './support/raw-socket.js';
import { openTapCollector, type TapCollector } from './support/tap-collector.js';

const run = promisify(execFile);
const PREFACE_BYTES = 24;
const UPGRADED_BODY = 5000;

/**
 * An h2c-upgrade server: answers the HTTP/1 request with `101` + `Upgrade: h2c`, then its
 * SETTINGS and stream 1's response (200, 5,000 bytes); acknowledges the client's SETTINGS and
 * answers every later stream with a 503.
 */
async function startH2cServer(): Promise<{ port: number; close(): Promise<void> }> {
  const sockets = new Set<net.Socket>();
  const server = net.createServer((s) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
    s.on('error', () => {});
    let buf = Buffer.alloc(0);
    let isUpgraded = false;
    let prefaceLeft = PREFACE_BYTES;
    s.on('data', (chunk: Buffer) => {
      buf = Buffer.concat([buf, chunk]);
      if (!isUpgraded) {
        const end = buf.indexOf('\r\n\r\n');
        if (end < 0) return;
        isUpgraded = true;
        buf = buf.subarray(end + 4);
        s.write('HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\nUpgrade: h2c\r\n\r\n');
        s.write(frame(FRAME.SETTINGS, 0, 0));
        s.write(frame(FRAME.HEADERS, FLAG.END_HEADERS, 1, hpackLiterals([[':status', '200'], ['content-length', String(UPGRADED_BODY)]])));
        s.write(frame(FRAME.DATA, FLAG.END_STREAM, 1, Buffer.alloc(UPGRADED_BODY, 'u')));
      }
      if (prefaceLeft > 0) {
        const take = Math.min(prefaceLeft, buf.length);
        prefaceLeft -= take;
        buf = buf.subarray(take);
      }
      let used = 0;
      for (const f of parseFrames(buf)) {
        used += 9 + f.payload.length;
        if (f.type === FRAME.SETTINGS && !(f.flags & FLAG.ACK)) s.write(frame(FRAME.SETTINGS, FLAG.ACK, 0));
        else if (f.type === FRAME.HEADERS && f.stream > 1) {
          s.write(frame(FRAME.HEADERS, FLAG.END_HEADERS, f.stream, hpackLiterals([[':status', '503'], ['content-length', '4']])));
          s.write(frame(FRAME.DATA, FLAG.END_STREAM, f.stream, Buffer.from('busy')));
        }
      }
      buf = buf.subarray(used);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    port: (server.address() as net.AddressInfo).port,
    close: () => {
      for (const s of sockets) s.destroy();
      return new Promise((resolve) => server.close(() => resolve()));
    },
  };
}

describe.each(ENGINES)('regression: nothing after an h2c upgrade was observed (engine %s)', (engine) => {
  let h2c: { port: number; close(): Promise<void> };
  let other: ScriptedServer;
  let sidecar: SidecarProcess;
  let tap: TapCollector;

  beforeAll(async () => {
    h2c = await startH2cServer();
    other = await startScriptedServer();
    sidecar = await startSidecarProcess([
      '--engine', engine,
      '--forward', `127.0.0.1:0=127.0.0.1:${h2c.port}`,
      '--forward', `127.0.0.1:0=127.0.0.1:${other.port}`,
      '--admin', '127.0.0.1:0', '--tap', '127.0.0.1:0',
    ]);
    tap = await openTapCollector(sidecar.tap!);
  });

  afterAll(async () => {
    tap?.close();
    await sidecar?.stop();
    await h2c?.close();
    await other?.close();
  });

  it('curl --http2: the upgraded request is stream 1 with the real answer; the next request on the connection is observed', async () => {
    const base = `http://${sidecar.forwards[0].address}`;
    const { stdout } = await run('curl', ['--http2', '-sS', '-o', '/dev/null', '-o', '/dev/null', '-w', '%{http_version} %{http_code} %{size_download}\\n', `${base}/upgraded`, `${base}/later`]);
    expect(stdout.trim().split('\n')).toEqual(['2 200 5000', '2 503 4']);
    const ends = await tap.waitForEnds(2, (e) => e.path === '/upgraded' || e.path === '/later');
    const upgraded = ends.find((e) => e.path === '/upgraded')!;
    const later = ends.find((e) => e.path === '/later')!;
    expect([upgraded.protocol, upgraded.method, upgraded.status, upgraded.responseBytes, upgraded.error]).toEqual(['h2', 'GET', 200, UPGRADED_BODY, undefined]);
    expect([later.protocol, later.method, later.status, later.responseBytes, later.error]).toEqual(['h2', 'GET', 503, 4, undefined]);
    expect(later.id.split('.')[0]).toBe(upgraded.id.split('.')[0]); // one connection
    const samples = await scrape(sidecar.admin!);
    expect(sumMetric(samples, 'response_total', { status_code: '503', classification: 'failure' })).toBe(1);
    expect(sumMetric(samples, 'response_total', { status_code: '101' })).toBe(0);
  });

  it('another upgrade (websocket) still makes the rest of the connection opaque', async () => {
    const next = other.connections.length;
    const client = await connectRaw(sidecar.forwards[1].port);
    const src = `127.0.0.1:${client.socket.localPort}`;
    const upstream = await other.connection(next);
    const req = 'GET /ws HTTP/1.1\r\nHost: w\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n\r\n';
    await client.write(req);
    await upstream.waitForBytes(req.length);
    const rsp = 'HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n\r\n';
    await upstream.write(rsp + 'frames');
    await client.waitForBytes(rsp.length + 6);
    await client.write('GET /not-http HTTP/1.1\r\n\r\n');
    await upstream.waitForText('/not-http');
    client.destroy();
    const [end] = await tap.waitForEnds(1, (e) => e.src === src);
    expect([end.path, end.status]).toEqual(['/ws', 101]);
    expect(tap.events.some((e) => e.path === '/not-http')).toBe(false);
  });
});
