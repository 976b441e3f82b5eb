/**
 * review15: an exchange meshtap stopped following (`observer-gave-up`) is left out of the response
 * series only when its outcome is truly unknown (session 14). A 5xx head seen before the give-up is
 * a failure either way (the response came whole: a 5xx; or it was cut: a failure), so it stays one
 * in /metrics (response and route series), in the `end` event's classification (top, the dashboard)
 * and in `tap --color`, on both engines. A 200 head is unknown (its body may or may not have
 * arrived): request_total only.
 *
 * Real sidecar processes; raw clients and a scripted server write exactly the bytes each case needs:
 * HTTP/1, a response body whose chunk size the observer refuses; HTTP/2, a malformed PING after the
 * response HEADERS. An HTTP/2 response that ended before the give-up (its request still open) is an
 * answer like any other.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { formatEventText } from '../tap-api/index.js';
import { endOutcome, type TapEvent } from '../tap-protocol/index.js';
import { ENGINES, type Engine } from './support/engines.js';
import { FLAG, FRAME, PREFACE, clientStart, frame, getHeaders, hpackLiterals, parseFrames } from './support/h2-frames.js';
import { startSidecarProcess, type SidecarProcess } from './support/meshtap-process.js';
import { scrape, sumMetric, type Sample } from './support/metrics-scrape.js';
import { connectRaw, startScriptedServer, type RecordedSocket, type ScriptedServer } from './support/raw-socket.js';
import { openTapCollector, type TapCollector } from './support/tap-collector.js';
import { until } from './support/until.js';

const CRLF = '\r\n';

interface Case {
  protocol: 'h1' | 'h2';
  status: number;
  /** How /metrics and the event's classification count it. */
  counted: 'failure' | 'none' | 'success';
  /** h2: the response ends (END_STREAM) while the client's request is still open, before the give-up. */
  isResponseWhole?: boolean;
}
const CASES: Record<string, Case> = {
  'h1-503.test': { protocol: 'h1', status: 503, counted: 'failure' },
  'h1-200.test': { protocol: 'h1', status: 200, counted: 'none' },
  'h2-503.test': { protocol: 'h2', status: 503, counted: 'failure' },
  'h2-200.test': { protocol: 'h2', status: 200, counted: 'none' },
  // Its response was whole before the give-up: an answer, classified by its status, with no error
  // (session 14's decision said such a stream was left out; both engines count it).
  'h2-whole.test': { protocol: 'h2', status: 200, counted: 'success', isResponseWhole: true },
};

/** Answers each connection by the authority its request names, then breaks the framing the observer reads. */
function backend(): Promise<ScriptedServer> {
  return startScriptedServer((conn: RecordedSocket) => {
    void (async () => {
      const first = await conn.waitFor((r) => r.length >= 4, 'the first bytes');
      if (first.subarray(0, 3).toString() === 'PRI') {
        await conn.waitFor((r) => r.length > PREFACE.length && parseFrames(r.subarray(PREFACE.length)).some((f) => f.type === FRAME.HEADERS), 'the request HEADERS');
        const authority = Object.keys(CASES).find((a) => conn.received().includes(a))!;
        await conn.write(Buffer.concat([frame(FRAME.SETTINGS, 0, 0), frame(FRAME.SETTINGS, FLAG.ACK, 0)]));
        const c = CASES[authority]!;
        await conn.write(frame(FRAME.HEADERS, FLAG.END_HEADERS | (c.isResponseWhole ? FLAG.END_STREAM : 0), 1, hpackLiterals([[':status', String(c.status)]])));
        await new Promise((r) => setTimeout(r, 50));
        // A PING of 4 bytes (RFC 9113 §6.7: 8): the observer gives up on the connection; the bytes pass.
        await conn.write(frame(FRAME.PING, 0, 0, Buffer.alloc(4)));
      } else {
        await conn.waitForText(`${CRLF}${CRLF}`);
        const authority = Object.keys(CASES).find((a) => conn.received().includes(a))!;
        const status = CASES[authority]!.status;
        await conn.write(`HTTP/1.1 ${status} X${CRLF}Transfer-Encoding: chunked${CRLF}${CRLF}`);
        await new Promise((r) => setTimeout(r, 50));
        // A chunk size past 2^53: the observer refuses to guess the framing (h1-parse).
        await conn.write(`FFFFFFFFFFFFFFFFFF${CRLF}`);
      }
      await new Promise((r) => setTimeout(r, 50));
      conn.end();
    })().catch(() => conn.destroy());
  });
}

async function request(port: number, authority: string): Promise<void> {
  const client = await connectRaw(port);
  try {
    const c = CASES[authority]!;
    if (c.protocol === 'h2') await client.write(Buffer.concat([clientStart(), getHeaders(1, '/', authority, c.isResponseWhole === true)]));
    else await client.write(`GET / HTTP/1.1${CRLF}Host: ${authority}${CRLF}${CRLF}`);
    await client.waitForEnd();
  } finally {
    client.destroy();
  }
}

describe.each(ENGINES)('review15: a 5xx seen before the observer gave up is a failure; an unseen outcome is not (%s engine)', (engine: Engine) => {
  let server: ScriptedServer;
  let sidecar: SidecarProcess;
  let tap: TapCollector;

  beforeAll(async () => {
    server = await backend();
    sidecar = await startSidecarProcess(['--engine', engine, '--admin', '127.0.0.1:0', '--tap', '127.0.0.1:0', '--forward', `127.0.0.1:0=127.0.0.1:${server.port}`]);
    tap = await openTapCollector(sidecar.tap!);
  }, 60_000);
  afterAll(async () => {
    tap?.close();
    await sidecar?.stop();
    await server?.close();
  });

  it('/metrics, the end event (top, dashboard) and tap --color agree, per case', async () => {
    const authorities = Object.keys(CASES);
    for (const a of authorities) await request(sidecar.forwards[0]!.port, a);
    const ends = await tap.waitForEnds(authorities.length);
    let samples: Sample[] = [];
    await until('every gave-up counted', async () => {
      samples = await scrape(sidecar.admin!);
      return sumMetric(samples, 'meshtap_observer_errors_total') >= authorities.length && sumMetric(samples, 'request_total') >= authorities.length && sumMetric(samples, 'response_total') >= 3;
    });
    const byAuthority = new Map(ends.map((e) => [e.authority, e]));
    const seen = authorities.map((a) => {
      const e = byAuthority.get(a) as TapEvent;
      const color = formatEventText(e, false, { color: true }).match(/\x1b\[(\d+)mend/)?.[1];
      return {
        a,
        event: [e.status, e.error, endOutcome(e)],
        color,
        requests: sumMetric(samples, 'request_total', { authority: a }),
        responses: sumMetric(samples, 'response_total', { authority: a }),
        failures: sumMetric(samples, 'response_total', { authority: a, classification: 'failure' }),
      };
    });
    expect(seen).toEqual(
      authorities.map((a) => {
        const c = CASES[a]!;
        const isFailure = c.counted === 'failure';
        return {
          a,
          event: [c.status, c.counted === 'success' ? undefined : 'observer-gave-up', c.counted === 'none' ? 'unobserved' : c.counted],
          color: isFailure ? '31' : c.counted === 'success' ? '32' : '33',
          requests: 1,
          responses: c.counted === 'none' ? 0 : 1,
          failures: isFailure ? 1 : 0,
        };
      }),
    );
    // The route series (`meshtap routes`, edges) count the same: the 503s failed, the whole answer succeeded.
    const counted = Object.values(CASES).filter((c) => c.counted !== 'none');
    expect([sumMetric(samples, 'route_response_total'), sumMetric(samples, 'route_response_total', { classification: 'failure' })]).toEqual([
      counted.length,
      counted.filter((c) => c.counted === 'failure').length,
    ]);
  }, 90_000);
});
