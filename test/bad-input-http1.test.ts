/**
 * Hostile HTTP/1 input through the real sidecar process. Whatever a client sends, the sidecar
 * forwards it unchanged to the server and the server's answer unchanged back (here: a scripted
 * server that answers 400/431 and closes, as a real one would); the observer gives up on that
 * connection only, the matching `meshtap_observer_errors_total` reason moves, no event is
 * invented, and a healthy keep-alive connection opened before keeps working throughout.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { scrape, sumMetric, waitForMetric } from './support/metrics-scrape.js';
import { startSidecarProcess, type SidecarProcess } from './support/meshtap-process.js';
import { connectRaw, startScriptedServer, type RecordedSocket, type ScriptedServer } from './support/raw-socket.js';
import { openTapCollector, type TapCollector } from './support/tap-collector.js';

const CRLF = '\r\n';
const ERRORS = 'meshtap_observer_errors_total';

let server: ScriptedServer;
let sidecar: SidecarProcess;
let tap: TapCollector;
let healthy: { client: RecordedSocket; upstream: RecordedSocket; n: number };

beforeAll(async () => {
  server = await startScriptedServer();
  sidecar = await startSidecarProcess(['--forward', `127.0.0.1:0=127.0.0.1:${server.port}`, '--admin', '127.0.0.1:0', '--tap', '127.0.0.1:0']);
  tap = await openTapCollector(sidecar.tap!);
  const next = server.connections.length;
  const client = await connectRaw(sidecar.forwards[0].port);
  healthy = { client, upstream: await server.connection(next), n: 0 };
});

afterAll(async () => {
  tap?.close();
  healthy?.client.destroy();
  await sidecar?.stop();
  await server?.close();
});

async function pair(): Promise<{ client: RecordedSocket; upstream: RecordedSocket }> {
  const next = server.connections.length;
  const client = await connectRaw(sidecar.forwards[0].port);
  return { client, upstream: await server.connection(next) };
}

/** One more request on the healthy keep-alive connection: bytes through, exchange reported. */
async function healthyStillServes(): Promise<void> {
  const h = healthy;
  h.n++;
  const path = `/healthy/${h.n}`;
  const req = `GET ${path} HTTP/1.1${CRLF}Host: ok${CRLF}${CRLF}`;
  const rsp = `HTTP/1.1 200 OK${CRLF}Content-Length: 2${CRLF}${CRLF}ok`;
  const before = { up: h.upstream.received().length, down: h.client.received().length };
  await h.client.write(req);
  await h.upstream.waitForBytes(before.up + req.length);
  await h.upstream.write(rsp);
  await h.client.waitForBytes(before.down + rsp.length);
  expect(h.client.received().subarray(before.down).toString('latin1')).toBe(rsp);
  const [end] = await tap.waitForEnds(1, (e) => e.path === path);
  expect([end.status, end.responseBytes, end.error]).toEqual([200, 2, undefined]);
  expect(sidecar.isRunning()).toBe(true);
}

/**
 * Sends `bad` on a fresh connection; the server answers `answer` and closes. Both sides must
 * get exactly the other's bytes; returns how much each give-up reason moved.
 */
async function sendBad(bad: Buffer | string, answer: string): Promise<Record<string, number>> {
  const before = await scrape(sidecar.admin!);
  const total0 = sumMetric(before, ERRORS);
  const { client, upstream } = await pair();
  const bytes = Buffer.isBuffer(bad) ? bad : Buffer.from(bad, 'latin1');
  await client.write(bytes);
  await upstream.waitForBytes(bytes.length);
  upstream.end(answer);
  await client.waitForEnd();
  client.end();
  await Promise.all([client.waitForClose(), upstream.waitForClose()]);
  expect(upstream.received().equals(bytes)).toBe(true);
  expect(client.received().toString('latin1')).toBe(answer);
  expect(client.errorCode).toBeUndefined();
  const after = await scrape(sidecar.admin!);
  const moved: Record<string, number> = {};
  for (const s of after) {
    if (s.name !== ERRORS) continue;
    const d = s.value - sumMetric(before, ERRORS, { reason: s.labels.reason });
    if (d) moved[s.labels.reason] = d;
  }
  expect(sumMetric(after, ERRORS) - total0).toBe(Object.values(moved).reduce((a, b) => a + b, 0));
  return moved;
}

const BAD_REQUEST = `HTTP/1.1 400 Bad Request${CRLF}Content-Length: 0${CRLF}Connection: close${CRLF}${CRLF}`;

describe('bad HTTP/1 input (real sidecar process)', () => {
  it('junk after a complete exchange: forwarded as is, the exchange stays reported, one h1-parse give-up', async () => {
    const { client, upstream } = await pair();
    const req = `GET /before-junk HTTP/1.1${CRLF}Host: j${CRLF}${CRLF}`;
    await client.write(req);
    await upstream.waitForBytes(req.length);
    const ok = `HTTP/1.1 200 OK${CRLF}Content-Length: 0${CRLF}${CRLF}`;
    await upstream.write(ok);
    await client.waitForBytes(ok.length);
    const before = await scrape(sidecar.admin!);
    const junk = Buffer.concat([Buffer.from([0, 1, 2, 0xff]), Buffer.from(` junk \r\n\r\nGET / HTTP/1.1${CRLF}${CRLF}`)]);
    await client.write(junk);
    await upstream.waitForBytes(req.length + junk.length);
    upstream.end(BAD_REQUEST);
    await client.waitForEnd();
    client.end();
    await client.waitForClose();
    expect(upstream.received().equals(Buffer.concat([Buffer.from(req), junk]))).toBe(true);
    expect(client.received().toString('latin1')).toBe(ok + BAD_REQUEST);
    const [end] = await tap.waitForEnds(1, (e) => e.path === '/before-junk');
    expect([end.status, end.error]).toEqual([200, undefined]);
    await waitForMetric(sidecar.admin!, ERRORS, { reason: 'h1-parse' }, (v) => v === sumMetric(before, ERRORS, { reason: 'h1-parse' }) + 1);
    expect(tap.events.filter((e) => e.id.split('.')[0] === end.id.split('.')[0]).map((e) => e.kind)).toEqual(['req', 'rsp', 'end']);
    await healthyStillServes();
  });

  it.each([
    ['header line without a colon', `GET /m1 HTTP/1.1${CRLF}Host m1${CRLF}${CRLF}`, 'h1-parse'],
    ['space before the colon', `GET /m2 HTTP/1.1${CRLF}Host : m2${CRLF}${CRLF}`, 'h1-parse'],
    ['bad version', `GET /m3 HTTP/9.x${CRLF}Host: m3${CRLF}${CRLF}`, 'h1-parse'],
    ['control characters in the target', `GET /m4\x01\x02 HTTP/1.1${CRLF}Host: m4${CRLF}${CRLF}`, 'h1-parse'],
    ['two different Content-Lengths', `POST /m5 HTTP/1.1${CRLF}Host: m5${CRLF}Content-Length: 5${CRLF}Content-Length: 6${CRLF}${CRLF}hello!`, 'h1-ambiguous-framing'],
    ['Content-Length with Transfer-Encoding (smuggling shape)', `POST /m6 HTTP/1.1${CRLF}Host: m6${CRLF}Content-Length: 4${CRLF}Transfer-Encoding: chunked${CRLF}${CRLF}0${CRLF}${CRLF}`, 'h1-ambiguous-framing'],
    ['obsolete line folding', `GET /m7 HTTP/1.1${CRLF}Host: m7${CRLF}X-Folded: a${CRLF} b${CRLF}${CRLF}`, 'h1-ambiguous-framing'],
    ['negative Content-Length', `POST /m8 HTTP/1.1${CRLF}Host: m8${CRLF}Content-Length: -1${CRLF}${CRLF}`, 'h1-parse'],
  ])('malformed head (%s): forwarded unchanged, server answer relayed, %s counted, no event', async (_name, bad, reason) => {
    const moved = await sendBad(bad, BAD_REQUEST);
    expect(moved).toEqual({ [reason]: 1 });
    const path = /^\S+ (\/m\d)/.exec(bad)![1];
    expect(tap.events.filter((e) => e.path.startsWith(path) && e.kind !== 'end')).toEqual([]);
    await healthyStillServes();
  });

  it('oversized request head (100 KiB of headers): forwarded, 431 relayed, h1-header-too-large counted', async () => {
    const big = `GET /huge HTTP/1.1${CRLF}Host: h${CRLF}` + Array.from({ length: 100 }, (_, i) => `X-Filler-${i}: ${'v'.repeat(1024)}${CRLF}`).join('') + CRLF;
    const moved = await sendBad(big, `HTTP/1.1 431 Request Header Fields Too Large${CRLF}Content-Length: 0${CRLF}Connection: close${CRLF}${CRLF}`);
    expect(moved).toEqual({ 'h1-header-too-large': 1 });
    expect(tap.events.some((e) => e.path === '/huge')).toBe(false);
    await healthyStillServes();
  });

  it('a first message stalled past the detect timeout (slowloris) goes opaque, counted; its bytes still pass', async () => {
    const before = await scrape(sidecar.admin!);
    const { client, upstream } = await pair();
    await client.write('GE');
    await upstream.waitForBytes(2);
    // Detection gives up on its own clock; the bytes already went through.
    await waitForMetric(sidecar.admin!, ERRORS, { reason: 'detect-timeout' }, (v) => v === sumMetric(before, ERRORS, { reason: 'detect-timeout' }) + 1);
    const rest = `T /slowloris HTTP/1.1${CRLF}Host: s${CRLF}${CRLF}`;
    await client.write(rest);
    await upstream.waitForBytes(2 + rest.length);
    expect(upstream.received().toString('latin1')).toBe('GE' + rest);
    upstream.end(BAD_REQUEST);
    await client.waitForEnd();
    expect(client.received().toString('latin1')).toBe(BAD_REQUEST);
    client.end();
    await client.waitForClose();
    expect(tap.events.some((e) => e.path === '/slowloris')).toBe(false);
    await healthyStillServes();
  });

  it('a client that sends a head and vanishes (reset) costs only its own connection', async () => {
    const { client, upstream } = await pair();
    await client.write(`POST /vanish HTTP/1.1${CRLF}Host: v${CRLF}Content-Length: 1000${CRLF}${CRLF}partial`);
    await upstream.waitForText('partial');
    client.socket.resetAndDestroy();
    await upstream.waitForClose();
    expect(upstream.errorCode).toBe('ECONNRESET');
    const [end] = await tap.waitForEnds(1, (e) => e.path === '/vanish');
    expect(end.error).toBe('reset');
    expect(end.status).toBeUndefined();
    await healthyStillServes();
    expect(sidecar.stderr()).not.toMatch(/unexpected error|uncaught|TypeError|RangeError/i);
  });
});
