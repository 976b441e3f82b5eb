/**
 * Opaque TCP through the real sidecar process: random bytes both ways (bigger than any socket
 * buffer), half-close in either order, server-speaks-first protocols and resets. Bytes must
 * match exactly on both sides, no tap event may be invented, and the TCP metrics must count
 * exactly the bytes that moved.
 */
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { scrape, sumMetric, waitForMetric } from './support/metrics-scrape.js';
import { startSidecarProcess, type SidecarProcess } from './support/meshtap-process.js';
import * as net from 'node:net';
import { connectRaw, type RecordedSocket, type ScriptedServer } from './support/raw-socket.js';
import { openTapCollector, type TapCollector } from './support/tap-collector.js';
import { startRawRig, type RawRig } from './support/transparency-rig.js';

let server: ScriptedServer;
let sidecar: SidecarProcess;
let tap: TapCollector;
let target: string;

let rig: RawRig;

beforeAll(async () => {
  rig = await startRawRig();
  ({ server, sidecar, tap, target } = rig);
});

afterAll(() => rig?.close());

const pair = (): Promise<{ client: RecordedSocket; upstream: RecordedSocket }> => rig.pair();

/** Random bytes that no detector could take for HTTP (first byte is not a method character). */
function opaqueBytes(n: number): Buffer {
  const b = randomBytes(n);
  b[0] = 0x00;
  return b;
}

async function writeAll(s: RecordedSocket, data: Buffer, pieces = 7): Promise<void> {
  const step = Math.ceil(data.length / pieces);
  for (let i = 0; i < data.length; i += step) await s.write(data.subarray(i, i + step));
}

describe('opaque TCP transparency (real sidecar process)', () => {
  it('relays MiBs of random bytes both ways, client half-closes first, server keeps writing after', async () => {
    const before = await scrape(sidecar.admin!);
    const { client, upstream } = await pair();
    const up = opaqueBytes(2 * 1024 * 1024 + 17);
    const down1 = opaqueBytes(1024 * 1024 + 3);
    const down2 = opaqueBytes(512 * 1024 + 1);
    await Promise.all([writeAll(client, up), writeAll(upstream, down1)]);
    client.end();
    await upstream.waitForEnd();
    expect(upstream.peerEnded).toBe(true);
    expect(upstream.received().equals(up)).toBe(true);
    // Half-closed, not closed: the server may still answer.
    await writeAll(upstream, down2);
    upstream.end();
    await client.waitForEnd();
    await client.waitForClose();
    expect(client.errorCode).toBeUndefined();
    expect(client.received().equals(Buffer.concat([down1, down2]))).toBe(true);
    await upstream.waitForClose();

    const labels = { direction: 'inbound', target_addr: target };
    const read = (peer: string) => waitForMetric(sidecar.admin!, 'tcp_read_bytes_total', { ...labels, peer }, (v) => v - sumMetric(before, 'tcp_read_bytes_total', { ...labels, peer }) >= (peer === 'src' ? up.length : down1.length + down2.length));
    expect((await read('src')) - sumMetric(before, 'tcp_read_bytes_total', { ...labels, peer: 'src' })).toBe(up.length);
    expect((await read('dst')) - sumMetric(before, 'tcp_read_bytes_total', { ...labels, peer: 'dst' })).toBe(down1.length + down2.length);
    const after = await waitForMetric(sidecar.admin!, 'tcp_close_total', { ...labels, peer: 'src' }, (v) => v > sumMetric(before, 'tcp_close_total', { ...labels, peer: 'src' }));
    expect(after - sumMetric(before, 'tcp_close_total', { ...labels, peer: 'src' })).toBe(1);
    const samples = await scrape(sidecar.admin!);
    expect(sumMetric(samples, 'tcp_write_bytes_total', { ...labels, peer: 'dst' }) - sumMetric(before, 'tcp_write_bytes_total', { ...labels, peer: 'dst' })).toBe(up.length);
    expect(sumMetric(samples, 'meshtap_protocol_detected_total', { protocol: 'opaque' }) - sumMetric(before, 'meshtap_protocol_detected_total', { protocol: 'opaque' })).toBe(1);
    expect(sumMetric(samples, 'request_total')).toBe(0);
    expect(tap.events).toEqual([]);
  });

  it('relays a server-speaks-first protocol and a server half-close while the client keeps sending', async () => {
    const { client, upstream } = await pair();
    const greeting = Buffer.from('220 smtp.example ESMTP ready\r\n');
    await upstream.write(greeting);
    await client.waitForBytes(greeting.length);
    const helo = Buffer.from('EHLO client.example\r\n');
    await client.write(helo);
    await upstream.waitForBytes(helo.length);
    upstream.end(); // server is done talking, still listening
    await client.waitForEnd();
    const more = opaqueBytes(300_000);
    await writeAll(client, more);
    await upstream.waitForBytes(helo.length + more.length);
    client.end();
    await Promise.all([client.waitForClose(), upstream.waitForClose()]);
    expect(client.received().equals(greeting)).toBe(true);
    expect(upstream.received().equals(Buffer.concat([helo, more]))).toBe(true);
    expect(client.errorCode).toBeUndefined();
    expect(upstream.errorCode).toBeUndefined();
    expect(tap.events).toEqual([]);
    // `EHLO client.example` looks like an HTTP/1 request line; the server spoke first, so it is not one.
    expect(sumMetric(await scrape(sidecar.admin!), 'meshtap_observer_errors_total')).toBe(0);
  });

  it('mirrors a server reset to the client, and the proxy keeps serving', async () => {
    const { client, upstream } = await pair();
    await client.write(opaqueBytes(1000));
    await upstream.waitForBytes(1000);
    upstream.socket.resetAndDestroy();
    await client.waitForClose();
    expect(client.errorCode).toBe('ECONNRESET');

    const again = await pair();
    const data = opaqueBytes(4096);
    await again.client.write(data);
    await again.upstream.waitForBytes(data.length);
    expect(again.upstream.received().equals(data)).toBe(true);
    again.client.destroy();
    expect(sidecar.isRunning()).toBe(true);
  });

  it('an upstream that refuses the connection resets the client and is counted; nothing else is disturbed', async () => {
    const dead = net.createServer();
    await new Promise<void>((resolve) => dead.listen(0, '127.0.0.1', resolve));
    const deadPort = (dead.address() as net.AddressInfo).port;
    await new Promise((resolve) => dead.close(resolve));
    const other = await startSidecarProcess(['--forward', `127.0.0.1:0=127.0.0.1:${deadPort}`, '--admin', '127.0.0.1:0']);
    try {
      // The sidecar accepts, fails to reach the upstream and resets the client. Under load the
      // RST can beat Node's 'connect' callback, so the reset is observed on the raw socket
      // whether it arrives before or after the connection is reported up.
      const errorCode = await new Promise<string | undefined>((resolve) => {
        const s = net.connect({ port: other.forwards[0].port, host: '127.0.0.1' });
        let code: string | undefined;
        s.on('connect', () => s.write('GET / HTTP/1.1\r\nHost: x\r\n\r\n', () => {}));
        s.on('error', (err: NodeJS.ErrnoException) => (code = err.code));
        s.on('close', () => resolve(code));
      });
      expect(errorCode).toBe('ECONNRESET');
      const samples = await scrape(other.admin!);
      expect(sumMetric(samples, 'meshtap_upstream_connect_errors_total', { direction: 'inbound', code: 'ECONNREFUSED' })).toBe(1);
      expect(sumMetric(samples, 'tcp_open_connections')).toBe(0);
      expect(other.isRunning()).toBe(true);
    } finally {
      await other.stop();
    }
  });

  it('with --observe none, HTTP is forwarded byte for byte and nothing is observed', async () => {
    const other = await startSidecarProcess(['--forward', `127.0.0.1:0=${target}`, '--admin', '127.0.0.1:0', '--tap', '127.0.0.1:0', '--observe', 'none']);
    try {
      const otherTap = await openTapCollector(other.tap!);
      const next = server.connections.length;
      const client = await connectRaw(other.forwards[0].port);
      const upstream = await server.connection(next);
      const req = 'GET /unobserved HTTP/1.1\r\nHost: u\r\n\r\n';
      await client.write(req);
      await upstream.waitForBytes(req.length);
      const rsp = 'HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok';
      await upstream.write(rsp);
      await client.waitForBytes(rsp.length);
      expect(upstream.received().toString('latin1')).toBe(req);
      expect(client.received().toString('latin1')).toBe(rsp);
      client.end();
      await upstream.waitForEnd();
      upstream.end();
      await client.waitForClose();
      const samples = await waitForMetric(other.admin!, 'tcp_close_total', { peer: 'src' }, (v) => v === 1).then(() => scrape(other.admin!));
      expect(sumMetric(samples, 'request_total')).toBe(0);
      expect(sumMetric(samples, 'tcp_read_bytes_total', { peer: 'src' })).toBe(req.length);
      otherTap.close();
      expect(otherTap.events).toEqual([]);
    } finally {
      await other.stop();
    }
  });

  it('mirrors a client reset to the server', async () => {
    const { client, upstream } = await pair();
    await client.write(opaqueBytes(10));
    await upstream.waitForBytes(10);
    client.socket.resetAndDestroy();
    await upstream.waitForClose();
    expect(upstream.errorCode).toBe('ECONNRESET');
  });

  it('once every peer has gone, no connection is left counted open', async () => {
    // Some servers above kept their half of a half-closed connection open; now they leave too.
    for (const c of server.connections) c.destroy();
    await waitForMetric(sidecar.admin!, 'tcp_open_connections', {}, (v) => v === 0);
    const samples = await scrape(sidecar.admin!);
    expect(sumMetric(samples, 'tcp_open_total', { peer: 'src' })).toBe(sumMetric(samples, 'tcp_close_total', { peer: 'src' }));
  });
});
