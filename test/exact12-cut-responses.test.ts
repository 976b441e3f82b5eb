/**
 * exact12 (exactness of what meshtap shows): a response the backend cuts short is not a success.
 * HTTP/1: the backend closes (FIN) or resets before the Content-Length or the chunked end;
 * HTTP/2: RST_STREAM, or the connection lost, after `:status 200`; gRPC: RST_STREAM after the
 * response headers and a message, no grpc-status trailer. Each exchange's `end` event says how it
 * ended (`error`), and `response_total` / `route_response_total` (behind `meshtap stat`, edges,
 * routes and the dashboard) count it `classification="failure"`, as `meshtap top` and the
 * dashboard's tap views already did from the event's `error`. Complete responses (Content-Length,
 * close-delimited, END_STREAM) stay successes, and so does a whole HTTP/1 answer given before the
 * request body ended (an early 413) when the client then cuts its body: the event's error tells
 * of the request, the status classifies the response; the event says the response came whole
 * (`responseComplete`), and `top` and the dashboard's tap table classify every event as the series
 * do, live and from history (session 13 small13: they called the early 413 a failure). Both engines; real backends that cut (a raw socket,
 * hand-written HTTP/2 frames), real clients (node:http2), one sidecar process each, /metrics scraped and its tap read.
 */
import * as http2 from 'node:http2';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { outcomeOf } from '../dashboard/ui/format.js';
import { isSuccess } from '../tap-api/index.js';
import { openTapStream, type TapEvent } from '../tap-protocol/index.js';
import { ENGINES } from './support/engines.js';
import { FLAG, FRAME, PREFACE, frame, hpackLiterals, parseFrames } from './support/h2-frames.js';
import { startSidecarProcess, type SidecarProcess } from './support/meshtap-process.js';
import { parseMetrics, httpGet } from './support/metrics-scrape.js';
import { connectRaw, startScriptedServer, type RecordedSocket, type ScriptedServer } from './support/raw-socket.js';
import { openTapCollector, type TapCollector } from './support/tap-collector.js';
import { until } from './support/until.js';

/** HTTP/1 answers by Host: what the backend writes after the request head, and how it then leaves. */
const H1: Record<string, { bytes: string; then: 'fin' | 'reset' | 'stay'; client?: 'fin' | 'reset' }> = {
  'h1-ok.test': { bytes: 'HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello', then: 'stay' },
  'h1-close-delimited.test': { bytes: 'HTTP/1.1 200 OK\r\nConnection: close\r\n\r\nall of it', then: 'fin' },
  'h1-fin.test': { bytes: 'HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\nonly ten b', then: 'fin' },
  'h1-reset.test': { bytes: 'HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nfirst\r\n', then: 'reset' },
  // A whole answer before the whole request (an upload refused early), then the client gives up
  // its body: the response ended cleanly, the request did not.
  'h1-early-answer-fin.test': { bytes: 'HTTP/1.1 413 Payload Too Large\r\nContent-Length: 4\r\nConnection: close\r\n\r\nbig!', then: 'fin', client: 'fin' },
  'h1-early-answer-reset.test': { bytes: 'HTTP/1.1 413 Payload Too Large\r\nContent-Length: 4\r\nConnection: close\r\n\r\nbig!', then: 'fin', client: 'reset' },
};

/** HTTP/2 answers, in the order the requests come (one connection each). */
type H2Answer = 'ok' | 'rst' | 'goaway-close' | 'connection-reset' | 'grpc-rst';
const H2: Record<string, H2Answer> = {
  'h2-ok.test': 'ok',
  'h2-rst.test': 'rst',
  'h2-goaway-close.test': 'goaway-close',
  'h2-connection-reset.test': 'connection-reset',
  'grpc-rst.test': 'grpc-rst',
};

const RST_STREAM = 3;

/** What each exchange must show: its `end` event's status, grpcStatus and error, and its response_total classification. */
const EXPECTED: Record<string, { status: number; grpcStatus?: number; error?: string; responseComplete?: true; classification: 'success' | 'failure' }> = {
  'h1-ok.test': { status: 200, classification: 'success' },
  'h1-close-delimited.test': { status: 200, classification: 'success' },
  'h1-fin.test': { status: 200, error: 'upstream-closed', classification: 'failure' },
  'h1-reset.test': { status: 200, error: 'reset', classification: 'failure' },
  // The event says the request was cut; the response came whole: classified by its status, as
  // HTTP/2 does (a stream whose response ended reports no error whatever its request did).
  // The event says so (`responseComplete`), and top and the dashboard's tap table read it with the
  // series' rule (tap-protocol outcome.ts; they called it a failure before, session 13 small13).
  'h1-early-answer-fin.test': { status: 413, error: 'client-closed', responseComplete: true, classification: 'success' },
  'h1-early-answer-reset.test': { status: 413, error: 'reset', responseComplete: true, classification: 'success' },
  'h2-ok.test': { status: 200, classification: 'success' },
  'h2-rst.test': { status: 200, error: 'reset', classification: 'failure' },
  'h2-goaway-close.test': { status: 200, error: 'upstream-closed', classification: 'failure' },
  'h2-connection-reset.test': { status: 200, error: 'reset', classification: 'failure' },
  // RST_STREAM(CANCEL) from the server: its client reports CANCELLED (not on Linkerd's failure
  // list), yet the call ended without a status: a failure (docs/decisions.md, issue 10).
  'grpc-rst.test': { status: 200, grpcStatus: 1, error: 'reset', classification: 'failure' },
};

function h1Backend(): Promise<ScriptedServer> {
  return startScriptedServer((conn: RecordedSocket) => {
    void (async () => {
      const head = (await conn.waitForText('\r\n\r\n')).toString('latin1');
      const host = /\r\nhost: *([^\r]*)/i.exec(head)?.[1] ?? '';
      const answer = H1[host];
      if (!answer) return conn.destroy();
      await conn.write(answer.bytes);
      if (answer.then === 'fin') conn.end();
      else if (answer.then === 'stay') {
        await conn.waitForEnd();
        conn.end();
      } else if (answer.then === 'reset') {
        // Let the bytes reach the sidecar first: the cut comes after the response began.
        await new Promise((r) => setTimeout(r, 50));
        conn.socket.resetAndDestroy();
      }
    })().catch(() => conn.destroy());
  });
}

/**
 * A hand-written HTTP/2 server (a library server ends a stream before it resets it): the i-th
 * connection answers as the i-th entry of H2 on stream 1, with exactly the frames the cut needs.
 */
function h2Backend(): Promise<ScriptedServer> {
  let next = 0;
  return startScriptedServer((conn: RecordedSocket) => {
    const answer = Object.values(H2)[next++];
    void (async () => {
      // The client's preface, SETTINGS and its request's HEADERS on stream 1.
      await conn.waitFor((r) => r.length > PREFACE.length && parseFrames(r.subarray(PREFACE.length)).some((f) => f.type === FRAME.HEADERS && f.stream === 1), 'the request HEADERS');
      await conn.write(Buffer.concat([frame(FRAME.SETTINGS, 0, 0), frame(FRAME.SETTINGS, FLAG.ACK, 0)]));
      const isGrpc = answer === 'grpc-rst';
      const head = hpackLiterals(isGrpc ? [[':status', '200'], ['content-type', 'application/grpc']] : [[':status', '200']]);
      const body = isGrpc ? Buffer.from([0, 0, 0, 0, 2, 0x08, 0x01]) : Buffer.from('part of it');
      await conn.write(Buffer.concat([frame(FRAME.HEADERS, FLAG.END_HEADERS, 1, head), frame(FRAME.DATA, answer === 'ok' ? FLAG.END_STREAM : 0, 1, body)]));
      if (answer === 'ok') {
        await conn.waitForEnd();
        return conn.end();
      }
      // The response began on the wire; the cut follows it.
      await new Promise((r) => setTimeout(r, 50));
      if (answer === 'rst' || answer === 'grpc-rst') {
        const code = Buffer.alloc(4);
        code.writeUInt32BE(answer === 'rst' ? 2 : 8); // INTERNAL_ERROR; CANCEL
        await conn.write(frame(RST_STREAM, 0, 1, code));
        await conn.waitForEnd();
        conn.end();
      } else if (answer === 'goaway-close') {
        const goaway = Buffer.alloc(8);
        goaway.writeUInt32BE(1, 0); // last stream 1: it was being processed
        goaway.writeUInt32BE(2, 4); // INTERNAL_ERROR
        await conn.write(frame(FRAME.GOAWAY, 0, 0, goaway));
        conn.end();
      } else conn.socket.resetAndDestroy();
    })().catch(() => conn.destroy());
  });
}

/** Every `end` event of the sidecar's history (flight recorder), not following. */
async function historyEnds(tapAddr: string): Promise<TapEvent[]> {
  const stream = openTapStream(tapAddr, { matches: [], bodies: false, last: 1000, follow: false });
  const ends: TapEvent[] = [];
  for await (const m of stream.messages) if (m.type === 'event' && m.event.kind === 'end') ends.push(m.event);
  return ends;
}

/** One HTTP/1 request on its own connection; resolves when the connection is over, however it ended. */
async function h1Request(port: number, host: string): Promise<void> {
  const c = await connectRaw(port);
  const answer = H1[host]!;
  if (answer.client !== undefined) {
    // 10 of the 100 body bytes announced; the rest never comes.
    await c.write(`POST /${host.replace('.test', '')} HTTP/1.1\r\nHost: ${host}\r\nContent-Length: 100\r\n\r\nten bytes.`);
    await c.waitForText('big!');
    await c.waitForEnd();
    if (answer.client === 'fin') c.end();
    else c.socket.resetAndDestroy();
    return c.waitForClose();
  }
  await c.write(`GET /${host.replace('.test', '')} HTTP/1.1\r\nHost: ${host}\r\n\r\n`);
  if (answer.then === 'stay') {
    await c.waitForText('hello');
    c.end();
  }
  await c.waitForEnd();
  if (!c.isClosed) c.end();
  await c.waitForClose();
}

/** One HTTP/2 request on its own connection (a real node:http2 client); resolves when the stream is over. */
async function h2Request(port: number, authority: string): Promise<void> {
  const client = http2.connect(`http://127.0.0.1:${port}`);
  client.on('error', () => undefined);
  try {
    await new Promise<void>((resolve) => {
      const isGrpc = H2[authority] === 'grpc-rst';
      // A stream the server reset or lost: its client sees an error, and the connection may go.
      const req = client.request({
        ':method': isGrpc ? 'POST' : 'GET',
        ':path': isGrpc ? '/pkg.Svc/Cut' : `/${authority.replace('.test', '')}`,
        ':authority': authority,
        ...(isGrpc ? { 'content-type': 'application/grpc', te: 'trailers' } : {}),
      });
      req.on('data', () => undefined);
      req.on('error', () => undefined);
      req.on('close', () => resolve());
      req.end(isGrpc ? Buffer.from([0, 0, 0, 0, 0]) : undefined);
    });
  } finally {
    client.destroy();
  }
}

describe.each(ENGINES)('exact12: a response cut short by the backend is a failure, and its end event says how it ended (%s engine)', (engine) => {
  let h1: ScriptedServer;
  let h2: ScriptedServer;
  let sidecar: SidecarProcess;
  let tap: TapCollector;

  beforeAll(async () => {
    h1 = await h1Backend();
    h2 = await h2Backend();
    // prettier-ignore
    sidecar = await startSidecarProcess([
      '--engine', engine, '--admin', '127.0.0.1:0', '--tap', '127.0.0.1:0',
      '--forward', `127.0.0.1:0=127.0.0.1:${h1.port}`, '--forward', `127.0.0.1:0=127.0.0.1:${h2.port}`,
    ]);
    tap = await openTapCollector(sidecar.tap!);
  }, 60_000);
  afterAll(async () => {
    tap?.close();
    await sidecar?.stop();
    await h1?.close();
    await h2?.close();
  });

  it('end events and response_total / route_response_total agree: cut = failure, complete = by status', async () => {
    const h1Port = Number(sidecar.forwards[0]!.address.split(':').pop());
    const h2Port = Number(sidecar.forwards[1]!.address.split(':').pop());
    for (const host of Object.keys(H1)) await h1Request(h1Port, host);
    for (const authority of Object.keys(H2)) await h2Request(h2Port, authority);
    const names = Object.keys(EXPECTED);

    const ends = await tap.waitForEnds(names.length);
    const shown = (e: TapEvent) => ({
      status: e.status,
      ...(e.grpcStatus !== undefined ? { grpcStatus: e.grpcStatus } : {}),
      ...(e.error !== undefined ? { error: e.error } : {}),
      ...(e.responseComplete !== undefined ? { responseComplete: e.responseComplete } : {}),
    });
    const byAuthority = Object.fromEntries(ends.map((e) => [e.authority, shown(e)]));
    const expectedEvents = Object.fromEntries(
      names.map((n) => {
        const { classification: _, ...event } = EXPECTED[n]!;
        return [n, event];
      }),
    );
    expect(byAuthority).toEqual(expectedEvents);
    // The flight recorder's history makes the same events (its compact records keep the bit).
    const history = await historyEnds(sidecar.tap!);
    expect(Object.fromEntries(history.map((e) => [e.authority, shown(e)]))).toEqual(expectedEvents);
    // `meshtap top` and the dashboard's tap table classify each event as the series below count it.
    const classified = (e: TapEvent) => [e.authority, { top: isSuccess(e) ? 'success' : 'failure', dashboard: outcomeOf(e) === 'ok' ? 'success' : 'failure' }];
    const expectedClasses = Object.fromEntries(names.map((n) => [n, { top: EXPECTED[n]!.classification, dashboard: EXPECTED[n]!.classification }]));
    expect(Object.fromEntries(ends.map(classified))).toEqual(expectedClasses);
    expect(Object.fromEntries(history.map(classified))).toEqual(expectedClasses);

    let samples = parseMetrics((await httpGet(sidecar.admin!, '/metrics')).body);
    await until('every response is counted', async () => {
      samples = parseMetrics((await httpGet(sidecar.admin!, '/metrics')).body);
      return samples.filter((s) => s.name === 'response_total').reduce((n, s) => n + s.value, 0) >= names.length;
    });
    const series = samples
      .filter((s) => s.name === 'response_total')
      .map((s) => `${s.labels.authority} ${s.labels.status_code}/${s.labels.grpc_status}/${s.labels.classification}=${s.value}`)
      .sort();
    const expectedSeries = names.map((n) => `${n} ${EXPECTED[n]!.status}/${EXPECTED[n]!.grpcStatus ?? ''}/${EXPECTED[n]!.classification}=1`).sort();
    expect(series).toEqual(expectedSeries);

    // The edges and routes views read route_response_total: the same classification.
    const routeTotals = { success: 0, failure: 0 };
    for (const s of samples) if (s.name === 'route_response_total') routeTotals[s.labels.classification as 'success' | 'failure'] += s.value;
    const failures = names.filter((n) => EXPECTED[n]!.classification === 'failure').length;
    expect(routeTotals).toEqual({ success: names.length - failures, failure: failures });
  }, 60_000);
});
