/**
 * Two engines, one truth, beyond HTTP/1 (issue 13): the differential rig
 * (support/differential-rig.ts: a js and a native `meshtap proxy`, one conversation through both
 * at once, normalization in its file comment) with
 * - opaque TCP: generated binary conversations in random pieces both ways (client first, or the
 *   server speaking first), either side closing first: the same bytes at both ends on each engine,
 *   and the same /metrics deltas (TCP counters, detection) and events (none) on both;
 * - HTTP/2 (a smaller set): node:http2 clients and servers through both sidecars, generated
 *   sequential requests (methods, headers incl. sensitive ones, bodies past the body limit,
 *   statuses, trailers): the same tap events, recorder answers and /metrics deltas.
 *
 * A failing run prints fast-check's seed and path; MESHTAP_DIFF_SEED / MESHTAP_DIFF_PATH replay it.
 */
import fc from 'fast-check';
import * as http2 from 'node:http2';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startEnginePair, type Conversation, type EnginePair, type Step } from './support/differential-rig.js';
import { ENGINES } from './support/engines.js';
import { describeConversation } from './support/http1-conversations.js';

/** Each block stays within ~25 s on the loaded 2-core machine (fast-check stops at the limit). */
const TIME_LIMIT_MS = Number(process.env.MESHTAP_DIFF_TIME_LIMIT_MS ?? 20_000);
const seed = process.env.MESHTAP_DIFF_SEED === undefined ? undefined : Number(process.env.MESHTAP_DIFF_SEED);
const path = process.env.MESHTAP_DIFF_PATH;

// ---- opaque TCP ---------------------------------------------------------------------------

/** Bytes that no detector takes for HTTP/1 or the h2 preface: the first byte is no letter. */
const opaqueStartArb = fc.integer({ min: 0, max: 255 }).filter((b) => !((b >= 0x41 && b <= 0x5a) || (b >= 0x61 && b <= 0x7a)));
const blobArb = fc.oneof(fc.uint8Array({ minLength: 1, maxLength: 200 }), fc.uint8Array({ minLength: 1000, maxLength: 70_000, size: 'max' })).map((a) => Buffer.from(a));

const tcpArb = fc.record({
  first: opaqueStartArb,
  serverFirst: fc.boolean(),
  turns: fc.array(fc.record({ from: fc.constantFrom('client' as const, 'server' as const), bytes: blobArb, pieces: fc.integer({ min: 1, max: 6 }) }), { minLength: 1, maxLength: 5 }),
  serverClosesFirst: fc.boolean(),
});
type TcpSpec = typeof tcpArb extends fc.Arbitrary<infer T> ? T : never;

function tcpConversation(spec: TcpSpec): Conversation {
  const steps: Step[] = [];
  // Copies: fast-check hands the same spec objects to later runs while shrinking.
  const turns = [...(spec.serverFirst ? [{ from: 'server' as const, bytes: Buffer.from('220 ready\r\n'), pieces: 1 }] : []), ...spec.turns.map((t) => ({ ...t }))];
  const firstClient = turns.find((t) => t.from === 'client');
  if (firstClient) firstClient.bytes = Buffer.concat([Buffer.from([spec.first]), firstClient.bytes]);
  for (const t of turns) {
    const size = Math.ceil(t.bytes.length / t.pieces);
    for (let at = 0; at < t.bytes.length; at += size) steps.push({ from: t.from, bytes: t.bytes.subarray(at, at + size) });
  }
  return { steps, closeFirst: spec.serverClosesFirst ? 'server' : 'client' };
}

describe.skipIf(ENGINES.length < 2)('differential: opaque TCP through the js and native engines', () => {
  let pair: EnginePair;
  beforeAll(async () => {
    pair = await startEnginePair(ENGINES);
  }, 60_000);
  afterAll(async () => {
    await pair?.close();
  });

  it('generated binary conversations: same bytes both ends, same metrics, no events', async () => {
    let runs = 0;
    await fc.assert(
      fc.asyncProperty(tcpArb, async (spec) => {
        runs++;
        const c = tcpConversation(spec);
        const where = `\nconversation:\n${describeConversation(c)}`;
        const fromClient = Buffer.concat(c.steps.filter((s) => s.from === 'client').map((s) => s.bytes));
        const fromServer = Buffer.concat(c.steps.filter((s) => s.from === 'server').map((s) => s.bytes));
        const [js, native] = await pair.run(c);
        for (const [i, r] of [js, native].entries()) {
          expect(r.serverReceived.equals(fromClient), `${ENGINES[i]}: server received other bytes${where}`).toBe(true);
          expect(r.clientReceived.equals(fromServer), `${ENGINES[i]}: client received other bytes${where}`).toBe(true);
        }
        expect(js.events, `an opaque connection made events${where}`).toEqual([]);
        expect(native.events, `events differ${where}`).toEqual(js.events);
        expect(native.metrics, `/metrics deltas differ (js = expected)${where}`).toEqual(js.metrics);
        // …and right, not only alike: the byte counters are the bytes sent (plus the marker's).
        const counted = (name: string, peer: string) => Object.entries(js.metrics).filter(([k]) => k.startsWith(`${name}{`) && k.includes(`peer="${peer}"`)).reduce((n, [, v]) => n + v, 0);
        expect([counted('tcp_read_bytes_total', 'src'), counted('tcp_read_bytes_total', 'dst')], `byte counters${where}`).toEqual([fromClient.length + js.markerBytes.request, fromServer.length + js.markerBytes.response]);
      }),
      { numRuns: 40, seed, path, interruptAfterTimeLimit: TIME_LIMIT_MS },
    );
    process.stderr.write(`differential-tcp: ${runs} opaque conversations\n`);
  }, TIME_LIMIT_MS + 60_000);
});

// ---- HTTP/2 -------------------------------------------------------------------------------

const h2NameArb = fc.oneof(fc.stringMatching(/^x-[a-z0-9-]{1,10}$/), fc.constantFrom('authorization', 'cookie', 'x-api-key', 'content-type', 'user-agent'));
const h2ValueArb = fc.oneof(fc.stringMatching(/^[!-~]([ !-~]{0,20}[!-~])?$/), fc.constantFrom('application/json', 'Bearer t0k', 'caf\u00e9'));
const h2BodyArb = fc.oneof(
  fc.constant(''),
  fc.constantFrom('{"user":"ann","password":"hunter2"}', 'a=1&token=t&b=2'),
  fc.integer({ min: 1, max: 3000 }).map((n) => 'b'.repeat(n)),
);
const h2ExchangeArb = fc.record({
  method: fc.constantFrom('GET', 'POST', 'PUT', 'DELETE'),
  path: fc.stringMatching(/^\/[a-z0-9/._-]{0,20}$/),
  headers: fc.uniqueArray(fc.tuple(h2NameArb, h2ValueArb), { maxLength: 4, selector: ([n]) => n }),
  requestBody: h2BodyArb,
  status: fc.constantFrom(200, 201, 204, 404, 500, 503),
  responseHeaders: fc.uniqueArray(fc.tuple(h2NameArb, h2ValueArb), { maxLength: 3, selector: ([n]) => n }),
  responseBody: h2BodyArb,
  trailers: fc.option(fc.tuple(fc.stringMatching(/^x-t[a-z]{0,6}$/), h2ValueArb), { nil: undefined }),
});
type H2Exchange = typeof h2ExchangeArb extends fc.Arbitrary<infer T> ? T : never;

describe.skipIf(ENGINES.length < 2)('differential: HTTP/2 through the js and native engines (node:http2)', () => {
  let pair: EnginePair;
  const servers: http2.Http2Server[] = [];
  /** What each server answers, by the request's x-diff-step header. */
  const answers = new Map<string, H2Exchange>();

  beforeAll(async () => {
    const ports: number[] = [];
    for (let i = 0; i < ENGINES.length; i++) {
      const server = http2.createServer((req, res) => {
        const spec = answers.get(String(req.headers['x-diff-step']));
        res.sendDate = false; // a clock value would differ between the two servers
        req.resume();
        req.on('end', () => {
          if (!spec) {
            res.writeHead(400).end();
            return;
          }
          const body = spec.status === 204 ? '' : spec.responseBody;
          res.writeHead(spec.status, Object.fromEntries(spec.responseHeaders));
          if (spec.trailers) res.addTrailers({ [spec.trailers[0]]: spec.trailers[1] });
          res.end(body);
        });
      });
      await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
      servers.push(server);
      ports.push((server.address() as AddressInfo).port);
    }
    // Each side gets its own h2 server behind its forward listener 1 (ports[1]).
    pair = await startEnginePairWithTargets(ports);
  }, 60_000);
  afterAll(async () => {
    await pair?.close();
    for (const s of servers) await new Promise<void>((r) => s.close(() => r()));
  });

  async function startEnginePairWithTargets(ports: number[]): Promise<EnginePair> {
    // One extra target per side: side i forwards its listener 1 to server i.
    const sides = await Promise.all(ENGINES.map((e, i) => startEnginePair([e], { args: ['--body-limit', '256'], extraTargets: [ports[i]] })));
    return {
      sides: sides.flatMap((p) => p.sides),
      run: async (c) => (await Promise.all(sides.map((p) => p.run(c)))).flat(),
      measure: async (traffic) => (await Promise.all(sides.map((p) => p.measure(traffic)))).flat(),
      close: async () => void (await Promise.all(sides.map((p) => p.close()))),
    };
  }

  /** One h2 session through `port`: the exchanges one after another, then the session closes. */
  async function playH2(port: number, exchanges: H2Exchange[], run: number): Promise<void> {
    const session = http2.connect(`http://127.0.0.1:${port}`);
    session.on('error', () => undefined);
    try {
      for (const [k, x] of exchanges.entries()) {
        await new Promise<void>((resolve, reject) => {
          const stream = session.request({ ':method': x.method, ':path': x.path, ':authority': 'h2.diff', 'x-diff-step': `${run}.${k}`, ...Object.fromEntries(x.headers) }, { endStream: x.requestBody === '' });
          stream.on('error', reject);
          stream.on('data', () => undefined);
          stream.on('end', () => resolve());
          if (x.requestBody !== '') stream.end(x.requestBody);
        });
      }
    } finally {
      await new Promise<void>((r) => session.close(() => r()));
    }
  }

  let runNo = 0;
  it('generated sequential h2 exchanges: same events, recorder answers and metrics', async () => {
    let runs = 0;
    await fc.assert(
      fc.asyncProperty(fc.array(h2ExchangeArb, { minLength: 1, maxLength: 4 }), async (exchanges) => {
        runs++;
        const run = ++runNo;
        exchanges.forEach((x, k) => answers.set(`${run}.${k}`, x));
        const [js, native] = await pair.measure((side) => playH2(side.ports[1], exchanges, run));
        const where = `\nexchanges: ${JSON.stringify(exchanges, (k, v: unknown) => (typeof v === 'string' && v.length > 80 ? `${v.slice(0, 40)}…(${v.length})` : v))}`;
        expect(js.events.filter((e) => e.kind === 'end'), `js saw another number of exchanges${where}`).toHaveLength(exchanges.length);
        expect(native.events, `tap events differ (js = expected)${where}`).toEqual(js.events);
        expect(native.history, `recorder answers differ (js = expected)${where}`).toEqual(js.history);
        expect(native.metrics, `/metrics deltas differ (js = expected)${where}`).toEqual(js.metrics);
      }),
      { numRuns: 25, seed, path, interruptAfterTimeLimit: TIME_LIMIT_MS },
    );
    process.stderr.write(`differential-tcp: ${runs} h2 sessions\n`);
  }, TIME_LIMIT_MS + 60_000);
});
