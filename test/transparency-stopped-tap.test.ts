/**
 * Regression (issue 10 item 8, "a tap with bodies slows forwarding even while its subscriber is
 * stopped"): a `--bodies` subscriber that does not read still had every exchange build its
 * events and copy its bodies, only for its full queue to drop them. Now a subscriber that is not
 * draining costs the data path a counter: no events are made and no body bytes are copied for
 * it (`meshtap_body_capture_bytes_total` stays put), the skipped events are counted and told to
 * it once it reads again, and from then on it gets events with bodies as before.
 *
 * Real sockets: an HTTP/1 backend, the sidecar, and a real gRPC tap client whose reader is
 * paused (HTTP/2 flow control then stops the sidecar's writes, as a SIGSTOPped `meshtap tap`
 * does). How much this saves in requests per second is measured in the bench
 * (`meshtap-js-tap-stopped`), never here.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startSidecar, type Sidecar } from '../proxy/index.js';
import { PROJECT_ENGINE } from './support/engines.js';
import { openTapStream, type TapMessage } from '../tap-protocol/index.js';
import { scrape, sumMetric } from './support/metrics-scrape.js';
import { actUntil } from './support/until.js';

let backend: Server;
let sidecar: Sidecar;
const BODY = 'b'.repeat(2048);

beforeAll(async () => {
  backend = createServer((req, res) => {
    req.resume();
    req.on('end', () => res.end(BODY));
  });
  await new Promise<void>((r) => backend.listen(0, '127.0.0.1', r));
  sidecar = await startSidecar({
    forwards: [{ proxy: 'in', listen: { host: '127.0.0.1', port: 0 }, target: { host: '127.0.0.1', port: (backend.address() as AddressInfo).port } }],
    tap: { host: '127.0.0.1', port: 0 },
    admin: { host: '127.0.0.1', port: 0 },
    identity: { workload: 'deploy/web', namespace: 'shop', pod: 'web-1' },
    engine: PROJECT_ENGINE,
  });
});

afterAll(async () => {
  await sidecar?.close();
  await new Promise<void>((r) => backend?.close(() => r()));
});

async function post(n: number): Promise<void> {
  for (let i = 0; i < n; i++) {
    const res = await fetch(`http://${sidecar.listeners[0]!.address}/upload`, { method: 'POST', body: BODY });
    expect(await res.text()).toBe(BODY);
  }
}

const metric = async (name: string, labels: Record<string, string> = {}): Promise<number> => sumMetric(await scrape(sidecar.adminAddress!), name, labels);

describe('a tap subscriber that is not reading', { timeout: 120_000 }, () => {
  it('regression (stopped --bodies tap slows forwarding): costs no event building and no body copies until it reads again', async () => {
    const stream = openTapStream(sidecar.tapAddress!, { matches: [], bodies: true });
    const it = stream.messages[Symbol.asyncIterator]();
    // Read one event so the stream is up, then stop reading (the iterator is left paused).
    await post(1);
    const first = await it.next();
    expect(first.value).toMatchObject({ type: 'event' });

    // Fill everything between the sidecar and the paused reader, until the sidecar's queue for it overflows.
    for (let round = 0; round < 60 && (await metric('meshtap_tap_dropped_events_total')) === 0; round++) await post(20);
    expect(await metric('meshtap_tap_dropped_events_total')).toBeGreaterThan(0);

    const copied = await metric('meshtap_body_capture_bytes_total');
    const skippedBefore = await metric('meshtap_tap_dropped_events_total');
    await post(100);
    expect(await metric('meshtap_body_capture_bytes_total')).toBe(copied); // not one body byte copied for it
    expect(await metric('meshtap_tap_dropped_events_total')).toBeGreaterThanOrEqual(skippedBefore + 300); // req, rsp, end of each: counted

    // It reads again: it is told what it lost, then gets live events with bodies again.
    const seen: TapMessage[] = [];
    let told = 0;
    let hasBodyAgain = false;
    const reader = (async () => {
      for (;;) {
        const r = await it.next();
        if (r.done) return;
        seen.push(r.value);
        if (r.value.type === 'dropped') told += r.value.count;
        if (r.value.type === 'event' && r.value.event.kind === 'end' && r.value.event.path === '/after' && r.value.event.requestBody) return void (hasBodyAgain = true);
      }
    })();
    // Exchanges that began while it was not reading carry no body: keep sending until one that
    // began after it resumed comes through.
    await actUntil('an exchange with its body after the reader resumed', () => hasBodyAgain, () =>
      fetch(`http://${sidecar.listeners[0]!.address}/after`, { method: 'POST', body: BODY }).then((r) => r.text()), { timeoutMs: 30_000, intervalMs: 50 });
    await reader;
    stream.cancel();
    expect(told).toBeGreaterThanOrEqual(300);
    const after = seen.find((m) => m.type === 'event' && m.event.kind === 'end' && m.event.path === '/after' && m.event.requestBody !== undefined);
    expect(after).toMatchObject({ event: { requestBody: { size: 2048, data: BODY }, responseBody: { size: 2048 } } });
    expect(await metric('meshtap_body_capture_bytes_total')).toBeGreaterThan(copied);
  });
});
