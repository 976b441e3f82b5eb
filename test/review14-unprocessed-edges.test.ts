/**
 * review14: the edges of unproc13's rule (an HTTP/2 stream its server never processed is a request,
 * not a response), on both engines alike: events and metrics. A REFUSED_STREAM after a 1xx head (no
 * final response: still unprocessed, its client retries it); a second GOAWAY lowering the
 * last-stream-id below an open stream (unprocessed); a REFUSED_STREAM after a response that ended
 * while the client still sent its request (a response, whole); a client's GOAWAY (it speaks of
 * pushed streams: the client's own stream is answered, a response). Hand-written server frames
 * behind a real sidecar process, node:http2 as the client.
 */
import * as http2 from 'node:http2';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { TapEvent } from '../tap-protocol/index.js';
import { ENGINES, type Engine } from './support/engines.js';
import { FLAG, FRAME, PREFACE, frame, hpackLiterals, parseFrames } from './support/h2-frames.js';
import { startSidecarProcess, type SidecarProcess } from './support/meshtap-process.js';
import { httpGet, parseMetrics, type Sample } from './support/metrics-scrape.js';
import { startScriptedServer, type RecordedSocket, type ScriptedServer } from './support/raw-socket.js';
import { openTapCollector, type TapCollector } from './support/tap-collector.js';
import { until } from './support/until.js';

const RST_STREAM = 3;
const REFUSED_STREAM = 7;

type Scenario = 'early-hints-refused' | 'two-goaways' | 'ended-then-refused' | 'client-goaway';
interface Expected {
  status?: number;
  error?: string;
  unprocessed?: string;
  /** The client keeps its request open (no END_STREAM) until the response ended. */
  keepsRequestOpen?: boolean;
  /** The client sends GOAWAY(last-stream-id 0) once its request is out. */
  sendsGoaway?: boolean;
}
const CASES: Record<Scenario, Expected> = {
  'early-hints-refused': { error: 'reset', unprocessed: 'refused' },
  'two-goaways': { error: 'goaway', unprocessed: 'goaway' },
  'ended-then-refused': { status: 200, keepsRequestOpen: true },
  'client-goaway': { status: 200, sendsGoaway: true },
};
const SCENARIOS = Object.keys(CASES) as Scenario[];

function u32(...values: number[]): Buffer {
  const b = Buffer.alloc(4 * values.length);
  values.forEach((v, i) => b.writeUInt32BE(v, 4 * i));
  return b;
}

/** The i-th connection plays SCENARIOS[i] (requests are made one after another, in that order). */
function rawBackend(): Promise<ScriptedServer> {
  let next = 0;
  return startScriptedServer((conn: RecordedSocket) => {
    const scenario = SCENARIOS[next++];
    void (async () => {
      const frames = (r: Buffer) => (r.length > PREFACE.length ? parseFrames(r.subarray(PREFACE.length)) : []);
      await conn.waitFor((r) => frames(r).some((f) => f.type === FRAME.HEADERS && f.stream === 1), 'the request HEADERS');
      if (scenario === undefined) return conn.destroy();
      await conn.write(Buffer.concat([frame(FRAME.SETTINGS, 0, 0), frame(FRAME.SETTINGS, FLAG.ACK, 0)]));
      const pause = () => new Promise((r) => setTimeout(r, 50));
      switch (scenario) {
        case 'early-hints-refused':
          await conn.write(frame(FRAME.HEADERS, FLAG.END_HEADERS, 1, hpackLiterals([[':status', '103'], ['link', '</a.css>; rel=preload']])));
          await pause();
          await conn.write(frame(RST_STREAM, 0, 1, u32(REFUSED_STREAM)));
          break;
        case 'two-goaways':
          // A graceful shutdown: "no new streams" (2^31-1), then the real last-stream-id, below stream 1.
          await conn.write(frame(FRAME.GOAWAY, 0, 0, u32(0x7fffffff, 0)));
          await pause();
          await conn.write(frame(FRAME.GOAWAY, 0, 0, u32(0, 0)));
          await pause();
          return conn.end();
        case 'ended-then-refused':
          await conn.write(frame(FRAME.HEADERS, FLAG.END_HEADERS | FLAG.END_STREAM, 1, hpackLiterals([[':status', '200']])));
          await pause();
          await conn.write(frame(RST_STREAM, 0, 1, u32(REFUSED_STREAM)));
          break;
        case 'client-goaway':
          await conn.waitFor((r) => frames(r).some((f) => f.type === FRAME.GOAWAY), "the client's GOAWAY");
          await conn.write(frame(FRAME.HEADERS, FLAG.END_HEADERS | FLAG.END_STREAM, 1, hpackLiterals([[':status', '200']])));
          break;
      }
      await conn.waitForEnd();
      conn.end();
    })().catch(() => conn.destroy());
  });
}

async function h2Request(port: number, scenario: Scenario): Promise<void> {
  const client = http2.connect(`http://127.0.0.1:${port}`);
  client.on('error', () => undefined);
  try {
    await new Promise<void>((resolve) => {
      const req = client.request({ ':method': 'POST', ':path': `/${scenario}`, ':authority': `${scenario}.test` }, { endStream: false });
      req.on('data', () => undefined);
      req.on('error', () => undefined);
      req.on('close', () => resolve());
      if (!CASES[scenario].keepsRequestOpen) req.end();
      if (CASES[scenario].sendsGoaway) req.on('ready', () => setTimeout(() => client.goaway(http2.constants.NGHTTP2_NO_ERROR, 0), 20));
    });
  } finally {
    client.destroy();
  }
}

const sum = (samples: Sample[], name: string, labels: Record<string, string> = {}): number =>
  samples.filter((s) => s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v)).reduce((n, s) => n + s.value, 0);

describe.each(ENGINES)('review14: the edges of an unprocessed HTTP/2 stream (%s engine)', (engine: Engine) => {
  let rawServer: ScriptedServer;
  let sidecar: SidecarProcess;
  let tap: TapCollector;

  beforeAll(async () => {
    rawServer = await rawBackend();
    // prettier-ignore
    sidecar = await startSidecarProcess(['--engine', engine, '--admin', '127.0.0.1:0', '--tap', '127.0.0.1:0', '--forward', `127.0.0.1:0=127.0.0.1:${rawServer.port}`]);
    tap = await openTapCollector(sidecar.tap!);
  }, 60_000);
  afterAll(async () => {
    tap?.close();
    await sidecar?.stop();
    await rawServer?.close();
  });

  it('1xx then REFUSED_STREAM and a lowered GOAWAY are unprocessed; REFUSED_STREAM after a whole response and a client GOAWAY are responses', async () => {
    const port = Number(sidecar.forwards[0]!.address.split(':').pop());
    for (const scenario of SCENARIOS) await h2Request(port, scenario);
    const ends = await tap.waitForEnds(SCENARIOS.length);
    const shown = (e: TapEvent) => ({ status: e.status, error: e.error, unprocessed: e.unprocessed });
    expect(Object.fromEntries(ends.map((e) => [e.authority, shown(e)]))).toEqual(
      Object.fromEntries(SCENARIOS.map((s) => [`${s}.test`, { status: CASES[s].status, error: CASES[s].error, unprocessed: CASES[s].unprocessed }])),
    );
    let samples: Sample[] = [];
    await until('every stream is counted', async () => {
      samples = parseMetrics((await httpGet(sidecar.admin!, '/metrics')).body);
      return sum(samples, 'response_total') + sum(samples, 'meshtap_unprocessed_requests_total') >= SCENARIOS.length;
    });
    for (const s of SCENARIOS) {
      const authority = `${s}.test`;
      const x = CASES[s];
      expect([s, sum(samples, 'request_total', { authority })]).toEqual([s, 1]);
      expect([s, sum(samples, 'meshtap_unprocessed_requests_total', { authority, reason: x.unprocessed ?? 'none' })]).toEqual([s, x.unprocessed ? 1 : 0]);
      expect([s, sum(samples, 'response_total', { authority })]).toEqual([s, x.unprocessed ? 0 : 1]);
      expect([s, sum(samples, 'response_total', { authority, classification: 'success' })]).toEqual([s, x.unprocessed ? 0 : 1]);
    }
  }, 90_000);
});
