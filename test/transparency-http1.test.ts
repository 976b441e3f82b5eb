/**
 * HTTP/1 transparency through the real sidecar process: a raw client writes crafted bytes, a
 * scripted raw server answers with crafted bytes, and each side must receive exactly what the
 * other sent (header case and order, framing, pipelining, 1xx, bodiless responses,
 * close-delimited bodies, upgrades) — and the tap must report exactly the exchanges that happened.
 */
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { TapEvent } from '../tap-protocol/index.js';
import { expectedEvents } from './support/expected-events.js';
import { scrape, sumMetric } from './support/metrics-scrape.js';
import type { SidecarProcess } from './support/meshtap-process.js';
import type { RecordedSocket, ScriptedServer } from './support/raw-socket.js';
import { eventShape, type TapCollector } from './support/tap-collector.js';
import { startRawRig, type RawRig } from './support/transparency-rig.js';

const CRLF = '\r\n';
const IDENTITY = { workload: 'deploy/web', namespace: 'transp' };

let rig: RawRig;
let server: ScriptedServer;
let sidecar: SidecarProcess;
let tap: TapCollector;
let target: string;

beforeAll(async () => {
  rig = await startRawRig(['--workload', IDENTITY.workload, '--namespace', IDENTITY.namespace, '--pod', 'web-0']);
  ({ server, sidecar, tap, target } = rig);
});

afterAll(() => rig?.close());

/** A client connected through the sidecar, and the server side of that same connection. */
const pair = (): Promise<{ client: RecordedSocket; upstream: RecordedSocket }> => rig.pair();

/** The shaped events of the exchanges whose path is in `paths`, in order of their ids. */
async function eventsFor(paths: string[]): Promise<Array<Partial<TapEvent>>> {
  const ends = await tap.waitForEnds(paths.length, (e) => paths.includes(e.path));
  const ids = [...new Set(ends.map((e) => e.id))].sort((a, b) => Number(a.split('.')[1]) - Number(b.split('.')[1]));
  return ids.flatMap((id) => tap.exchange(id).map(eventShape));
}

function connId(paths: string[]): string {
  const e = tap.events.find((x) => paths.includes(x.path));
  return e!.id.split('.')[0];
}

describe('HTTP/1 transparency (raw bytes, real sidecar process)', () => {
  it('keeps odd header case, order and whitespace byte for byte, and reports them as seen', async () => {
    const { client, upstream } = await pair();
    const request = `GET /odd?x=1&y=%20 HTTP/1.1${CRLF}hOsT: Example.TEST:8080${CRLF}X-ZEBRA: 1${CRLF}x-alpha:   spaced   ${CRLF}accept: */*${CRLF}X-Dup: a${CRLF}x-dup: b${CRLF}${CRLF}`;
    await client.write(request);
    await upstream.waitForText(CRLF + CRLF);
    const response = `HTTP/1.1 200 Fine${CRLF}x-Lower: a${CRLF}Content-Length: 5${CRLF}SERVER: odd${CRLF}Set-Cookie: s=1${CRLF}${CRLF}hello`;
    await upstream.write(response);
    await client.waitForBytes(response.length);
    expect(upstream.received().toString('latin1')).toBe(request);
    expect(client.received().toString('latin1')).toBe(response);
    const events = await eventsFor(['/odd?x=1&y=%20']);
    const id = `${connId(['/odd?x=1&y=%20'])}.1`;
    expect(events).toEqual(
      expectedEvents({
        id, dst: target, method: 'GET', authority: 'Example.TEST:8080', path: '/odd?x=1&y=%20', workload: IDENTITY,
        requestHeaders: [['hOsT', 'Example.TEST:8080'], ['X-ZEBRA', '1'], ['x-alpha', 'spaced'], ['accept', '*/*'], ['X-Dup', 'a'], ['x-dup', 'b']],
        status: 200,
        responseHeaders: [['x-Lower', 'a'], ['Content-Length', '5'], ['SERVER', 'odd'], ['Set-Cookie', '[redacted]']],
        requestBytes: 0, responseBytes: 5,
      }),
    );
    const raw = tap.exchange(id);
    expect(raw.every((e) => e.src === `127.0.0.1:${client.socket.localPort}`)).toBe(true);
    expect(raw.every((e) => e.pod === 'web-0')).toBe(true);
    client.destroy();
  });

  it('forwards chunked bodies with trailers unchanged and reports de-chunked sizes and trailers', async () => {
    const { client, upstream } = await pair();
    const head = `POST /chunked HTTP/1.1${CRLF}Host: svc${CRLF}Transfer-Encoding: chunked${CRLF}Trailer: X-Req-Sum${CRLF}${CRLF}`;
    const body = `5;ext=1${CRLF}hello${CRLF}1A${CRLF}abcdefghijklmnopqrstuvwxyz${CRLF}0${CRLF}X-Req-Sum: 31${CRLF}${CRLF}`;
    // Sent in awkward pieces: framing must survive any split.
    for (const piece of [head.slice(0, 7), head.slice(7) + body.slice(0, 3), body.slice(3, 20), body.slice(20)]) await client.write(piece);
    await upstream.waitFor((r) => r.toString('latin1').endsWith(`X-Req-Sum: 31${CRLF}${CRLF}`), 'request trailers');
    const response = `HTTP/1.1 200 OK${CRLF}transfer-encoding: chunked${CRLF}Trailer: grpc-ish, X-Checksum${CRLF}${CRLF}3${CRLF}abc${CRLF}0${CRLF}X-Checksum: deadbeef${CRLF}grpc-ish: 0${CRLF}${CRLF}`;
    await upstream.write(response);
    await client.waitForBytes(response.length);
    expect(upstream.received().toString('latin1')).toBe(head + body);
    expect(client.received().toString('latin1')).toBe(response);
    const events = await eventsFor(['/chunked']);
    expect(events).toEqual(
      expectedEvents({
        id: `${connId(['/chunked'])}.1`, dst: target, method: 'POST', authority: 'svc', path: '/chunked', workload: IDENTITY,
        requestHeaders: [['Host', 'svc'], ['Transfer-Encoding', 'chunked'], ['Trailer', 'X-Req-Sum']],
        status: 200,
        responseHeaders: [['transfer-encoding', 'chunked'], ['Trailer', 'grpc-ish, X-Checksum']],
        trailers: [['X-Checksum', 'deadbeef'], ['grpc-ish', '0']],
        requestTrailers: [['X-Req-Sum', '31']],
        requestBytes: 31, responseBytes: 3,
      }),
    );
    client.destroy();
  });

  it('forwards pipelined requests and responses in order and reports each exchange', async () => {
    const { client, upstream } = await pair();
    const reqs = ['/p1', '/p2', '/p3'].map((p, i) => `${i === 1 ? 'POST' : 'GET'} ${p} HTTP/1.1${CRLF}Host: pipe${CRLF}${i === 1 ? `Content-Length: 4${CRLF}${CRLF}body` : CRLF}`);
    await client.write(reqs.join(''));
    await upstream.waitForText('/p3 HTTP/1.1');
    await upstream.waitFor((r) => r.toString('latin1').endsWith(CRLF + CRLF), 'third request');
    const rsps = [
      `HTTP/1.1 200 OK${CRLF}Content-Length: 2${CRLF}${CRLF}p1`,
      `HTTP/1.1 201 Created${CRLF}Content-Length: 0${CRLF}${CRLF}`,
      `HTTP/1.1 404 Not Found${CRLF}Content-Length: 3${CRLF}${CRLF}nop`,
    ];
    await upstream.write(rsps.join(''));
    await client.waitForBytes(rsps.join('').length);
    expect(upstream.received().toString('latin1')).toBe(reqs.join(''));
    expect(client.received().toString('latin1')).toBe(rsps.join(''));
    const paths = ['/p1', '/p2', '/p3'];
    // Events first: connId reads what has arrived, and the native engine hands bytes to observation ~1 ms late.
    const events = await eventsFor(paths);
    const conn = connId(paths);
    const common = { dst: target, authority: 'pipe', workload: IDENTITY };
    expect(events).toEqual([
      ...expectedEvents({ ...common, id: `${conn}.1`, method: 'GET', path: '/p1', requestHeaders: [['Host', 'pipe']], status: 200, responseHeaders: [['Content-Length', '2']], requestBytes: 0, responseBytes: 2 }),
      ...expectedEvents({ ...common, id: `${conn}.2`, method: 'POST', path: '/p2', requestHeaders: [['Host', 'pipe'], ['Content-Length', '4']], status: 201, responseHeaders: [['Content-Length', '0']], requestBytes: 4, responseBytes: 0 }),
      ...expectedEvents({ ...common, id: `${conn}.3`, method: 'GET', path: '/p3', requestHeaders: [['Host', 'pipe']], status: 404, responseHeaders: [['Content-Length', '3']], requestBytes: 0, responseBytes: 3 }),
    ]);
    client.destroy();
  });

  it('passes 100-continue through and reports only the final response', async () => {
    const { client, upstream } = await pair();
    const head = `PUT /upload HTTP/1.1${CRLF}Host: up${CRLF}Expect: 100-continue${CRLF}Content-Length: 11${CRLF}${CRLF}`;
    await client.write(head);
    await upstream.waitForBytes(head.length);
    const cont = `HTTP/1.1 100 Continue${CRLF}${CRLF}`;
    await upstream.write(cont);
    await client.waitForBytes(cont.length);
    await client.write('hello world');
    await upstream.waitForBytes(head.length + 11);
    const final = `HTTP/1.1 200 OK${CRLF}Content-Length: 2${CRLF}${CRLF}ok`;
    await upstream.write(final);
    await client.waitForBytes(cont.length + final.length);
    expect(upstream.received().toString('latin1')).toBe(head + 'hello world');
    expect(client.received().toString('latin1')).toBe(cont + final);
    const events = await eventsFor(['/upload']);
    expect(events).toEqual(
      expectedEvents({
        id: `${connId(['/upload'])}.1`, dst: target, method: 'PUT', authority: 'up', path: '/upload', workload: IDENTITY,
        requestHeaders: [['Host', 'up'], ['Expect', '100-continue'], ['Content-Length', '11']],
        status: 200, responseHeaders: [['Content-Length', '2']], requestBytes: 11, responseBytes: 2,
      }),
    );
    client.destroy();
  });

  it('knows HEAD, 204 and 304 responses have no body even with Content-Length, and keeps framing after them', async () => {
    const { client, upstream } = await pair();
    const reqs = [
      `HEAD /head HTTP/1.1${CRLF}Host: b${CRLF}${CRLF}`,
      `DELETE /nocontent HTTP/1.1${CRLF}Host: b${CRLF}${CRLF}`,
      `GET /notmodified HTTP/1.1${CRLF}Host: b${CRLF}If-None-Match: "v1"${CRLF}${CRLF}`,
      `GET /after HTTP/1.1${CRLF}Host: b${CRLF}${CRLF}`,
    ];
    const rsps = [
      `HTTP/1.1 200 OK${CRLF}Content-Length: 1000${CRLF}${CRLF}`,
      `HTTP/1.1 204 No Content${CRLF}${CRLF}`,
      `HTTP/1.1 304 Not Modified${CRLF}ETag: "v1"${CRLF}Content-Length: 50${CRLF}${CRLF}`,
      `HTTP/1.1 200 OK${CRLF}Content-Length: 5${CRLF}${CRLF}after`,
    ];
    let sentReq = '';
    let sentRsp = '';
    for (let i = 0; i < reqs.length; i++) {
      await client.write(reqs[i]);
      sentReq += reqs[i];
      await upstream.waitForBytes(sentReq.length);
      await upstream.write(rsps[i]);
      sentRsp += rsps[i];
      await client.waitForBytes(sentRsp.length);
    }
    expect(upstream.received().toString('latin1')).toBe(sentReq);
    expect(client.received().toString('latin1')).toBe(sentRsp);
    const paths = ['/head', '/nocontent', '/notmodified', '/after'];
    const events = await eventsFor(paths);
    const conn = connId(paths);
    const c = { dst: target, authority: 'b', workload: IDENTITY, requestBytes: 0 };
    expect(events).toEqual([
      ...expectedEvents({ ...c, id: `${conn}.1`, method: 'HEAD', path: '/head', requestHeaders: [['Host', 'b']], status: 200, responseHeaders: [['Content-Length', '1000']], responseBytes: 0 }),
      ...expectedEvents({ ...c, id: `${conn}.2`, method: 'DELETE', path: '/nocontent', requestHeaders: [['Host', 'b']], status: 204, responseHeaders: [], responseBytes: 0 }),
      ...expectedEvents({ ...c, id: `${conn}.3`, method: 'GET', path: '/notmodified', requestHeaders: [['Host', 'b'], ['If-None-Match', '"v1"']], status: 304, responseHeaders: [['ETag', '"v1"'], ['Content-Length', '50']], responseBytes: 0 }),
      ...expectedEvents({ ...c, id: `${conn}.4`, method: 'GET', path: '/after', requestHeaders: [['Host', 'b']], status: 200, responseHeaders: [['Content-Length', '5']], responseBytes: 5 }),
    ]);
    client.destroy();
  });

  it('forwards a close-delimited response to its FIN and reports the whole body', async () => {
    const { client, upstream } = await pair();
    const request = `GET /stream HTTP/1.1${CRLF}Host: c${CRLF}Connection: close${CRLF}${CRLF}`;
    await client.write(request);
    await upstream.waitForBytes(request.length);
    const body = randomBytes(100_000);
    const head = `HTTP/1.1 200 OK${CRLF}Connection: close${CRLF}Content-Type: application/octet-stream${CRLF}${CRLF}`;
    await upstream.write(head);
    await upstream.write(body);
    upstream.end();
    await client.waitForEnd();
    expect(client.received()).toEqual(Buffer.concat([Buffer.from(head, 'latin1'), body]));
    expect(upstream.received().toString('latin1')).toBe(request);
    client.end();
    await client.waitForClose();
    expect(await eventsFor(['/stream'])).toEqual(
      expectedEvents({
        id: `${connId(['/stream'])}.1`, dst: target, method: 'GET', authority: 'c', path: '/stream', workload: IDENTITY,
        requestHeaders: [['Host', 'c'], ['Connection', 'close']],
        status: 200, responseHeaders: [['Connection', 'close'], ['Content-Type', 'application/octet-stream']],
        requestBytes: 0, responseBytes: body.length,
      }),
    );
  });

  it('HTTP/1.0 with the client half-closing after its request: answered to FIN, reported complete', async () => {
    const { client, upstream } = await pair();
    const request = `GET /ten HTTP/1.0${CRLF}Host: ten${CRLF}${CRLF}`;
    client.end(request); // like `printf … | nc -N`: request, then FIN
    await upstream.waitForEnd();
    expect(upstream.received().toString('latin1')).toBe(request);
    const response = `HTTP/1.0 200 OK${CRLF}Content-Type: text/plain${CRLF}${CRLF}old but fine`;
    upstream.end(response);
    await client.waitForClose();
    expect(client.received().toString('latin1')).toBe(response);
    expect(client.errorCode).toBeUndefined();
    expect(await eventsFor(['/ten'])).toEqual(
      expectedEvents({
        id: `${connId(['/ten'])}.1`, dst: target, protocol: 'http/1.0', method: 'GET', authority: 'ten', path: '/ten', workload: IDENTITY,
        requestHeaders: [['Host', 'ten']],
        status: 200, responseHeaders: [['Content-Type', 'text/plain']],
        requestBytes: 0, responseBytes: 12,
      }),
    );
  });

  it('passes 103 Early Hints through and reports the final 200 only', async () => {
    const { client, upstream } = await pair();
    const request = `GET /hints HTTP/1.1${CRLF}Host: h${CRLF}${CRLF}`;
    await client.write(request);
    await upstream.waitForBytes(request.length);
    const response = `HTTP/1.1 103 Early Hints${CRLF}Link: </style.css>; rel=preload${CRLF}${CRLF}HTTP/1.1 200 OK${CRLF}Content-Length: 4${CRLF}${CRLF}page`;
    await upstream.write(response);
    await client.waitForBytes(response.length);
    expect(client.received().toString('latin1')).toBe(response);
    expect(await eventsFor(['/hints'])).toEqual(
      expectedEvents({
        id: `${connId(['/hints'])}.1`, dst: target, method: 'GET', authority: 'h', path: '/hints', workload: IDENTITY,
        requestHeaders: [['Host', 'h']], status: 200, responseHeaders: [['Content-Length', '4']], requestBytes: 0, responseBytes: 4,
      }),
    );
    client.destroy();
  });

  it('CONNECT: the 200 is reported, the tunnel after it is relayed as opaque bytes', async () => {
    const { client, upstream } = await pair();
    const request = `CONNECT db.internal:5432 HTTP/1.1${CRLF}Host: db.internal:5432${CRLF}${CRLF}`;
    await client.write(request);
    await upstream.waitForBytes(request.length);
    const established = `HTTP/1.1 200 Connection Established${CRLF}${CRLF}`;
    await upstream.write(established);
    await client.waitForBytes(established.length);
    const up = randomBytes(20_000);
    const down = randomBytes(30_000);
    await client.write(up);
    await upstream.write(down);
    await upstream.waitForBytes(request.length + up.length);
    await client.waitForBytes(established.length + down.length);
    expect(upstream.received()).toEqual(Buffer.concat([Buffer.from(request), up]));
    expect(client.received()).toEqual(Buffer.concat([Buffer.from(established), down]));
    client.destroy();
    expect(await eventsFor(['db.internal:5432'])).toEqual(
      expectedEvents({
        id: `${connId(['db.internal:5432'])}.1`, dst: target, method: 'CONNECT', authority: 'db.internal:5432', path: 'db.internal:5432', workload: IDENTITY,
        requestHeaders: [['Host', 'db.internal:5432']], status: 200, responseHeaders: [], requestBytes: 0, responseBytes: 0,
      }),
    );
  });

  it('absolute-form request targets: authority and scheme from the URI, path exactly as sent', async () => {
    const { client, upstream } = await pair();
    const url = 'https://api.example:8443/v1/items?page=2';
    const request = `GET ${url} HTTP/1.1${CRLF}Host: other.example${CRLF}${CRLF}`;
    await client.write(request);
    await upstream.waitForBytes(request.length);
    const response = `HTTP/1.1 204 No Content${CRLF}${CRLF}`;
    await upstream.write(response);
    await client.waitForBytes(response.length);
    expect(upstream.received().toString('latin1')).toBe(request);
    expect(await eventsFor([url])).toEqual(
      expectedEvents({
        id: `${connId([url])}.1`, dst: target, method: 'GET', scheme: 'https', authority: 'api.example:8443', path: url, workload: IDENTITY,
        requestHeaders: [['Host', 'other.example']], status: 204, responseHeaders: [], requestBytes: 0, responseBytes: 0,
      }),
    );
    client.destroy();
  });

  // Regression: URI userinfo was dropped from `authority` but kept in `path`, so the password
  // reached every tap subscriber (fixed in a845b3c, exchange-events redacts it).
  it('URI userinfo (a credential) never reaches tap events', async () => {
    const { client, upstream } = await pair();
    const request = `GET http://alice:hunter2@legacy.example/report HTTP/1.1${CRLF}Host: legacy.example${CRLF}${CRLF}`;
    await client.write(request);
    await upstream.waitForBytes(request.length);
    await upstream.write(`HTTP/1.1 204 No Content${CRLF}${CRLF}`);
    const [end] = await tap.waitForEnds(1, (e) => e.authority === 'legacy.example');
    expect(upstream.received().toString('latin1')).toBe(request);
    expect(JSON.stringify(tap.exchange(end.id))).not.toContain('hunter2');
    client.destroy();
  });

  it('reports a WebSocket upgrade, then relays the upgraded bytes both ways untouched', async () => {
    const { client, upstream } = await pair();
    const request = `GET /ws HTTP/1.1${CRLF}Host: ws${CRLF}Upgrade: websocket${CRLF}Connection: Upgrade${CRLF}Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==${CRLF}Sec-WebSocket-Version: 13${CRLF}${CRLF}`;
    await client.write(request);
    await upstream.waitForBytes(request.length);
    const switching = `HTTP/1.1 101 Switching Protocols${CRLF}Upgrade: websocket${CRLF}Connection: Upgrade${CRLF}Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=${CRLF}${CRLF}`;
    await upstream.write(switching);
    await client.waitForBytes(switching.length);
    // Echo: everything after the upgrade, including bytes that look like HTTP, comes back unchanged.
    upstream.socket.on('data', (b: Buffer) => upstream.socket.write(b));
    const frames = [randomBytes(5000), Buffer.from(`GET /not-http HTTP/1.1${CRLF}${CRLF}`), randomBytes(70_000)];
    let sent = 0;
    for (const f of frames) {
      await client.write(f);
      sent += f.length;
    }
    await client.waitForBytes(switching.length + sent);
    const tail = Buffer.concat(frames);
    expect(client.received()).toEqual(Buffer.concat([Buffer.from(switching, 'latin1'), tail]));
    expect(upstream.received()).toEqual(Buffer.concat([Buffer.from(request, 'latin1'), tail]));
    client.destroy();
    expect(await eventsFor(['/ws'])).toEqual(
      expectedEvents({
        id: `${connId(['/ws'])}.1`, dst: target, method: 'GET', authority: 'ws', path: '/ws', workload: IDENTITY,
        requestHeaders: [['Host', 'ws'], ['Upgrade', 'websocket'], ['Connection', 'Upgrade'], ['Sec-WebSocket-Key', 'dGhlIHNhbXBsZSBub25jZQ=='], ['Sec-WebSocket-Version', '13']],
        status: 101,
        responseHeaders: [['Upgrade', 'websocket'], ['Connection', 'Upgrade'], ['Sec-WebSocket-Accept', 's3pPLMBiTxaQ9kYGzzhZRbK+xOo=']],
        requestBytes: 0, responseBytes: 0,
      }),
    );
    // Nothing after the upgrade is mistaken for another exchange.
    expect(tap.events.some((e) => e.path === '/not-http')).toBe(false);
  });

  it('followed every connection above without giving up on any', async () => {
    const samples = await scrape(sidecar.admin!);
    expect(samples.filter((x) => x.name === 'meshtap_observer_errors_total' && x.value > 0)).toEqual([]);
  });
});
