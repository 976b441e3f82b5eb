/**
 * `meshtap tap -o json` prints each event as the JSON bytes the sidecar sent
 * (tap-protocol/message-bytes.ts) instead of parsing and stringifying it again. That is only
 * right while the sidecar's event JSON is exactly what JSON.stringify makes of the event. The real
 * CLI and a parsing subscriber (the tap wire read message by message) tap the same real sidecar
 * (both engines) during HTTP/1 and gRPC traffic with bodies (text with unicode and escapes,
 * binary), sensitive headers (redacted) and gRPC errors; every line the CLI printed must be
 * byte for byte JSON.stringify of the event the parsing subscriber got.
 */
import * as grpc from '@grpc/grpc-js';
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ECHO_SERVICE, echoClient, startGrpcEcho, type GrpcEcho } from './support/grpc-echo.js';
import { waitForMetric } from './support/metrics-scrape.js';
import { spawnMeshtap, startSidecarProcess, type SidecarProcess } from './support/meshtap-process.js';
import { openTapCollector } from './support/tap-collector.js';

let origin: http.Server;
let grpcOrigin: GrpcEcho;
let sidecar: SidecarProcess;

/** Answers what it got, with escapes and unicode in the body, or binary for /bin. */
beforeAll(async () => {
  origin = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      if (req.url === '/bin') {
        res.writeHead(200, { 'content-type': 'application/octet-stream' }).end(Buffer.from([0, 0xff, 0xfe, 0x80, 0x1b, 0x0a]));
        return;
      }
      res
        .writeHead(200, { 'content-type': 'text/plain; charset=utf-8', 'set-cookie': 'session=s3cr3t' })
        .end(`got "${Buffer.concat(chunks).toString()}" \\ \x1b[31mred\x1b[0m\t\u2028 ☃ 🎉 不可用`);
    });
  });
  await new Promise<void>((r) => origin.listen(0, '127.0.0.1', r));
  grpcOrigin = await startGrpcEcho();
  sidecar = await startSidecarProcess([
    '--forward', `127.0.0.1:0=127.0.0.1:${(origin.address() as AddressInfo).port}`,
    '--forward', `127.0.0.1:0=127.0.0.1:${grpcOrigin.port}`,
    '--admin', '127.0.0.1:0', '--tap', '127.0.0.1:0',
  ]);
});

afterAll(async () => {
  await sidecar?.stop();
  await grpcOrigin?.close();
  await new Promise((r) => origin?.close(r));
});

function send(path: string, body: string | Buffer, headers: Record<string, string> = {}): Promise<void> {
  return new Promise((resolve, reject) => {
    const req = http.request({ host: '127.0.0.1', port: sidecar.forwards[0]!.port, method: 'POST', path, agent: false, headers }, (res) => {
      res.resume();
      res.on('end', resolve);
    });
    req.on('error', reject);
    req.end(body);
  });
}

describe('tap -o json prints the sidecar’s event JSON as it came', { timeout: 60_000 }, () => {
  it('byte for byte what parse + stringify of the same events gives, for HTTP/1 and gRPC with bodies, redaction and unicode', async () => {
    const reference = await openTapCollector(sidecar.tap!, { bodies: true });
    const cli = spawnMeshtap(['tap', '--proxy', sidecar.tap!, '--bodies', '-o', 'json'], { timeoutMs: 50_000 });
    await waitForMetric(sidecar.admin!, 'meshtap_tap_subscribers', {}, (v) => v === 2, 30_000);

    await send('/text', 'héllo "wörld" \\ \n\r\t\x01 ☃ 🎉', { authorization: 'Bearer t0k3n', cookie: 'a=b', 'content-type': 'text/plain; charset=utf-8', 'x-name': 'Zo\u00eb' });
    await send('/bin', Buffer.from([0xc3, 0x28, 0, 0x7f]), { 'content-type': 'application/octet-stream' });
    const client = echoClient(`127.0.0.1:${sidecar.forwards[1]!.port}`);
    const unary = (text: string) =>
      new Promise<number>((resolve) => client.makeUnaryRequest(ECHO_SERVICE.Unary.path, (b: Buffer) => b, (b: Buffer) => b, Buffer.from(text), (err) => resolve(err?.code ?? 0)));
    expect(await unary('ünïcode ☃')).toBe(grpc.status.OK);
    expect(await unary('fail:14:down – 不可用')).toBe(grpc.status.UNAVAILABLE);
    client.close();

    await reference.waitForEnds(4);
    const want = reference.events.map((e) => JSON.stringify(e));
    const lines = await cli.waitForLines(want.length);
    cli.kill('SIGINT');
    const r = await cli.done;
    reference.close();
    expect(r.code).toBe(130); // Ctrl-C: interrupted (test/bound12-cli-interrupt.test.ts)
    expect(r.stderr).toBe('');
    expect(lines).toEqual(want);
    // the traffic had what this test is about
    const all = lines.join('\n');
    expect(all).toContain('"authorization","[redacted]"');
    expect(all).toContain('"set-cookie","[redacted]"');
    expect(all).toContain('☃ 🎉');
    expect(all).toContain('\\u001b[31m');
    expect(all).toContain('"encoding":"base64"');
    expect(all).toContain('"grpcStatus":14');
  });
});
