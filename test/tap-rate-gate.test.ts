/**
 * Issue 14 (a rate-limited live tap, `--max-rps`, the tap API's default, costs the sidecar
 * ~nothing for the exchanges it will not deliver): before, the native engine sent every tapped
 * exchange to JS as records (3 per exchange at least), JS decoded each one and built its events
 * only for the subscriber's token bucket to drop it. Now, while every subscriber is rate-limited
 * and matches everything, a token bucket in C++ (core/tap-gate.h) keeps back at the request head
 * what those buckets would drop, and the hub tells that count as their rate-limit loss.
 *
 * Held here, on each engine: under a burst of several hundred exchanges (HTTP/1 and HTTP/2), a
 * `maxRps` tap is delivered whole exchanges (req, rsp, end) and told of the rest as rate-limit
 * drops, delivered + dropped = sent, exactly (counted at a `flushed` marker, which follows every
 * loss counted before it); on the native engine the records that crossed to JS are far fewer than
 * the exchanges (without the gate they are at least 3 per exchange). A filtered tap is never
 * gated, alone or beside an unfiltered one: every exchange it matches is delivered within its rate.
 *
 * Real sockets: a node:http / node:http2 backend, an in-process sidecar, fetch (undici) and
 * node:http2 clients, real gRPC tap streams.
 */
import { createServer, type Server } from 'node:http';
import http2 from 'node:http2';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { nativeDeliveries } from '../native/index.js';
import { startSidecar, type Sidecar } from '../proxy/index.js';
import type { TapFilter } from '../tap-protocol/index.js';
import { openCountingTap, sendBurst, type CountingTap } from './support/counting-tap.js';
import { PROJECT_ENGINE } from './support/engines.js';
import { scrape, sumMetric } from './support/metrics-scrape.js';
import { until } from './support/until.js';

/** Exchanges of one burst, and the clients sending it at once. */
const N = 400;
const CONCURRENCY = 16;
/** Low enough that C++ keeps back most of a burst however slowly this machine sends it (2 s of burst + 5/s). */
const MAX_RPS = 5;

let h1Backend: Server;
let h2Backend: http2.Http2Server;
let sidecar: Sidecar;

beforeAll(async () => {
  h1Backend = createServer((req, res) => {
    req.resume();
    req.on('end', () => res.end('ok'));
  });
  await new Promise<void>((r) => h1Backend.listen(0, '127.0.0.1', r));
  h2Backend = http2.createServer();
  h2Backend.on('stream', (stream) => {
    stream.respond({ ':status': 200 });
    stream.end('ok');
  });
  await new Promise<void>((r) => h2Backend.listen(0, '127.0.0.1', r));
  const port = (s: { address(): AddressInfo | string | null }) => (s.address() as AddressInfo).port;
  sidecar = await startSidecar({
    forwards: [
      { proxy: 'in', listen: { host: '127.0.0.1', port: 0 }, target: { host: '127.0.0.1', port: port(h1Backend) } },
      { proxy: 'in', listen: { host: '127.0.0.1', port: 0 }, target: { host: '127.0.0.1', port: port(h2Backend) } },
    ],
    tap: { host: '127.0.0.1', port: 0 },
    admin: { host: '127.0.0.1', port: 0 },
    identity: { workload: 'deploy/web', namespace: 'shop', pod: 'web-1' },
    engine: PROJECT_ENGINE,
  });
});

afterAll(async () => {
  await sidecar?.close();
  await new Promise<void>((r) => h1Backend?.close(() => r()));
  await new Promise<void>((r) => h2Backend?.close(() => r()));
});

const burst = (protocol: 'http/1.1' | 'h2', paths: string[]) => sendBurst(sidecar.listeners[protocol === 'h2' ? 1 : 0]!.address, protocol, paths, CONCURRENCY);
const tap = (request: { matches: TapFilter[][]; maxRps: number }) => openCountingTap(sidecar.tapAddress!, request);

const rateDropped = async (): Promise<number> => sumMetric(await scrape(sidecar.adminAddress!), 'meshtap_tap_dropped_events_total', { reason: 'rate-limit' });

describe(`a rate-limited tap under a burst (${PROJECT_ENGINE} engine)`, { timeout: 120_000 }, () => {
  for (const protocol of ['http/1.1', 'h2'] as const) {
    it(`${protocol}: delivers whole exchanges and tells the rest as rate-limit drops, delivered + dropped = sent`, async () => {
      const t = tap({ matches: [], maxRps: MAX_RPS });
      try {
        await t.flush(); // subscribed: everything sent from now on is its to count
        const metricBefore = await rateDropped();
        const recordsBefore = nativeDeliveries().records;
        const paths = Array.from({ length: N }, (_, i) => `/burst/${protocol}/${i}`);
        await burst(protocol, paths);
        await t.flush();

        const delivered = t.exchanges.size;
        expect(delivered + t.state.rateLimited).toBe(N);
        expect(delivered).toBeGreaterThan(0);
        expect(t.state.rateLimited).toBeGreaterThan(0);
        expect(t.state.queueFull).toBe(0);
        // What the subscriber was told is what the metric counted (one subscriber here).
        expect((await rateDropped()) - metricBefore).toBe(t.state.rateLimited);
        // Every delivered exchange is one of the burst's, whole: its request, response and end.
        await until('the end of every delivered exchange', () => [...t.exchanges.values()].every((l) => l.some((e) => e.kind === 'end')));
        for (const list of t.exchanges.values()) {
          expect(list.map((e) => e.kind)).toEqual(['req', 'rsp', 'end']);
          expect(paths).toContain(list[0]!.path);
        }
        if (PROJECT_ENGINE === 'native') {
          // The gate: most of the burst never crossed to JS (without it, at least 3 records per exchange).
          expect(nativeDeliveries().records - recordsBefore).toBeLessThan(N);
        }
      } finally {
        await t.close();
      }
    });
  }

  it('never gates a filtered tap, alone or beside an unfiltered rate-limited one: all its matches are delivered within its rate', async () => {
    const MATCHING = 20;
    const filtered = tap({ matches: [[{ field: 'pathPrefix', value: '/wanted/' }]], maxRps: 50 });
    let unfiltered: CountingTap | undefined;
    try {
      await filtered.flush();
      for (const round of ['alone', 'beside']) {
        if (round === 'beside') {
          unfiltered = tap({ matches: [], maxRps: MAX_RPS });
          await unfiltered.flush();
        }
        // The exchanges it does not match first: a gate at its rate would have spent its burst on them.
        const others = Array.from({ length: 300 }, (_, i) => `/other/${round}/${i}`);
        const wanted = Array.from({ length: MATCHING }, (_, i) => `/wanted/${round}/${i}`);
        await burst('http/1.1', others);
        await burst('http/1.1', wanted);
        await filtered.flush();
        const got = [...filtered.exchanges.values()].map((l) => l[0]!.path).filter((p) => p.includes(`/${round}/`));
        expect(got.sort(), round).toEqual([...wanted].sort());
        expect(filtered.state.rateLimited, round).toBe(0);
      }
      // The unfiltered one is exact too, its own bucket alone deciding.
      await unfiltered!.flush();
      expect(unfiltered!.exchanges.size + unfiltered!.state.rateLimited).toBe(300 + MATCHING);
      expect(unfiltered!.state.rateLimited).toBeGreaterThan(0);
    } finally {
      await filtered.close();
      await unfiltered?.close();
    }
  });

  it('gates again once the filtered tap left, and the unfiltered one stays exact across the change', async () => {
    const unfiltered = tap({ matches: [], maxRps: MAX_RPS });
    const filtered = tap({ matches: [[{ field: 'method', value: 'POST' }]], maxRps: 50 });
    try {
      await unfiltered.flush();
      await filtered.flush();
      await burst('http/1.1', Array.from({ length: 100 }, (_, i) => `/before/${i}`));
      await filtered.close();
      const recordsBefore = nativeDeliveries().records;
      await burst('http/1.1', Array.from({ length: N }, (_, i) => `/after/${i}`));
      await unfiltered.flush();
      expect(unfiltered.exchanges.size + unfiltered.state.rateLimited).toBe(100 + N);
      if (PROJECT_ENGINE === 'native') expect(nativeDeliveries().records - recordsBefore).toBeLessThan(N);
    } finally {
      await unfiltered.close();
    }
  });
});
