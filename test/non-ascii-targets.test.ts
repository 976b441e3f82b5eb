/**
 * Regression (issue 10 item 7): a non-ASCII request target showed as mojibake (`/caf\xc3\xa9`
 * → `/cafÃ©`) while header values decoded as UTF-8. Through the real sidecar process, HTTP/1
 * and HTTP/2: targets and header values read as UTF-8 when they are, and bytes that are not
 * UTF-8 show escaped (`%E9` in a target, `\xE9` in a value), never changed into another
 * character; the forwarded bytes are untouched either way.
 */
import * as http2 from 'node:http2';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { clientStart, frame, FRAME, FLAG, hpackLiterals, parseFrames } from './support/h2-frames.js';
import { startSidecarProcess, type SidecarProcess } from './support/meshtap-process.js';
import { connectRaw, startScriptedServer, type ScriptedServer } from './support/raw-socket.js';
import { header, openTapCollector, type TapCollector } from './support/tap-collector.js';
import { ENGINES } from './support/engines.js';

const utf8 = (s: string): string => Buffer.from(s, 'utf8').toString('latin1');

describe.each(ENGINES)('regression: non-ASCII request targets read as mojibake (engine %s)', (engine) => {
  let h1Server: ScriptedServer;
  let h2Server: http2.Http2Server;
  const h2Seen: string[] = [];
  let sidecar: SidecarProcess;
  let tap: TapCollector;

  beforeAll(async () => {
    h1Server = await startScriptedServer();
    h2Server = http2.createServer();
    h2Server.on('stream', (stream, headers) => {
      h2Seen.push(Buffer.from(String(headers[':path']), 'latin1').toString('hex'));
      stream.respond({ ':status': 200 });
      stream.end('ok');
    });
    await new Promise<void>((resolve) => h2Server.listen(0, '127.0.0.1', resolve));
    sidecar = await startSidecarProcess([
      '--engine', engine,
      '--forward', `127.0.0.1:0=127.0.0.1:${h1Server.port}`,
      '--forward', `127.0.0.1:0=127.0.0.1:${(h2Server.address() as AddressInfo).port}`,
      '--admin', '127.0.0.1:0', '--tap', '127.0.0.1:0',
    ]);
    tap = await openTapCollector(sidecar.tap!);
  });

  afterAll(async () => {
    tap?.close();
    await sidecar?.stop();
    await h1Server?.close();
    await new Promise<void>((resolve) => h2Server.close(() => resolve()));
  });

  it.each([
    ['UTF-8 target', utf8('/café/日本'), '/café/日本'],
    ['latin1 byte in the target', '/caf\xe9', '/caf%E9'],
    ['UTF-8 next to a stray byte', utf8('/é') + '\xff', '/é%FF'],
  ])('HTTP/1: %s', async (_name, wire, shown) => {
    const next = h1Server.connections.length;
    const client = await connectRaw(sidecar.forwards[0].port);
    const src = `127.0.0.1:${client.socket.localPort}`;
    const upstream = await h1Server.connection(next);
    const req = Buffer.from(`GET ${wire} HTTP/1.1\r\nHost: h\r\nX-Name: ${utf8('José')}\r\nX-Raw: \xe9t\xe9\r\n\r\n`, 'latin1');
    await client.write(req);
    await upstream.waitForBytes(req.length);
    expect(upstream.received().equals(req)).toBe(true);
    upstream.end('HTTP/1.1 204 No Content\r\n\r\n');
    await client.waitForEnd();
    client.destroy();
    const [end] = await tap.waitForEnds(1, (e) => e.src === src);
    expect(end.path).toBe(shown);
    expect(header(end.requestHeaders, 'X-Name')).toBe('José');
    expect(header(end.requestHeaders, 'X-Raw')).toBe('\\xE9t\\xE9');
  });

  it.each([
    ['UTF-8 :path', utf8('/h2/café'), '/h2/café'],
    ['latin1 byte in :path', '/h2/caf\xe9', '/h2/caf%E9'],
  ])('HTTP/2: %s', async (_name, wire, shown) => {
    const seen = h2Seen.length;
    const client = await connectRaw(sidecar.forwards[1].port);
    const src = `127.0.0.1:${client.socket.localPort}`;
    const block = hpackLiterals([[':method', 'GET'], [':scheme', 'http'], [':path', wire], [':authority', 'h2.test'], ['x-name', utf8('José')], ['x-raw', '\xe9t\xe9']]);
    await client.write(Buffer.concat([clientStart(), frame(FRAME.HEADERS, FLAG.END_HEADERS | FLAG.END_STREAM, 1, block)]));
    await client.waitFor((b) => parseFrames(b).some((f) => f.type === FRAME.DATA && f.flags & FLAG.END_STREAM), 'the response');
    client.destroy();
    expect(h2Seen[seen]).toBe(Buffer.from(wire, 'latin1').toString('hex')); // forwarded as sent
    const [end] = await tap.waitForEnds(1, (e) => e.src === src);
    expect(end.path).toBe(shown);
    expect(header(end.requestHeaders, ':path')).toBe(shown);
    expect(header(end.requestHeaders, 'x-name')).toBe('José');
    expect(header(end.requestHeaders, 'x-raw')).toBe('\\xE9t\\xE9');
  });
});
