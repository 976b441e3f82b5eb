/**
 * The sidecar's tap service (tap-service.ts, served with node:http2 since session 8) called by real
 * grpc-js clients, as the tap API and `meshtap record` call it: refusals keep their gRPC codes and
 * details (no grant, a bad grant, too many taps, the version 1 wire), Flush answers, a stopping
 * sidecar ends its taps with MT_SIDECAR_STOPPED, and a grpc-js reader that stops reading is held
 * back by HTTP/2 flow control until the subscriber's queue fills and it is told what it lost.
 */
import * as grpc from '@grpc/grpc-js';
import { afterEach, describe, expect, it } from 'vitest';
import {
  flushTap,
  generateGrantKeyPair,
  makeGrantClaims,
  signGrant,
  TAP_OBSERVE_PATH,
  TAP_OBSERVE_PATH_V1,
  type TapEvent,
  type TapMessage,
  type TapRequest,
} from '../tap-protocol/index.js';
import { until } from '../test/support/until.js';
import { createFlightRecorder } from './flight-recorder.js';
import { createProxyMetrics } from './metrics.js';
import { createTapHub, type TapHub } from './tap-hub.js';
import { startTapService, type TapService } from './tap-service.js';

let service: TapService | undefined;
const clients: grpc.Client[] = [];
afterEach(async () => {
  for (const c of clients.splice(0)) c.close();
  await service?.close();
  service = undefined;
});

const keys = generateGrantKeyPair();

async function start(options: { trustLoopback?: boolean; maxSubscribers?: number } = {}): Promise<{ hub: TapHub; address: string; dropped: () => number }> {
  let dropped = 0;
  const hub = createTapHub({ onDropped: (reason, n) => void (reason === 'queue-full' && (dropped += n)) });
  service = await startTapService(
    { host: '127.0.0.1', port: 0 },
    {
      hub,
      recorder: createFlightRecorder(1 << 20),
      metrics: createProxyMetrics({ namespace: 'shop', workloadKind: 'deployment', workloadName: 'web', pod: 'web-1' }),
      pod: 'web-1',
      namespace: 'shop',
      trustLoopback: options.trustLoopback ?? true,
      publicKey: () => keys.publicKey,
      maxSubscribers: options.maxSubscribers,
    },
  );
  return { hub, address: service.address, dropped: () => dropped };
}

/** One Observe call made with grpc-js: its messages, and the error it ended with (if any). */
function observe(address: string, request: TapRequest, path = TAP_OBSERVE_PATH) {
  const client = new grpc.Client(address, grpc.credentials.createInsecure());
  clients.push(client);
  const metadata = new grpc.Metadata();
  if (request.grant) metadata.set('meshtap-grant', request.grant);
  const call = client.makeServerStreamRequest(path, (r: TapRequest) => Buffer.from(JSON.stringify(r)), (b: Buffer) => JSON.parse(b.toString('utf8')) as TapMessage[], request, metadata);
  const messages: TapMessage[] = [];
  call.on('data', (batch: TapMessage[]) => messages.push(...batch));
  const ended = new Promise<{ code: number; details: string }>((resolve) => {
    call.on('error', (err: grpc.ServiceError) => resolve({ code: err.code, details: err.details }));
    call.on('status', (s: grpc.StatusObject) => s.code === grpc.status.OK && resolve({ code: 0, details: s.details }));
  });
  return { call, messages, ended };
}

const event = (n: number, body = ''): TapEvent => ({
  kind: 'end',
  id: `1.${n}`,
  ts: new Date().toISOString(),
  proxy: 'in',
  src: '127.0.0.1:5000',
  dst: '127.0.0.1:8080',
  protocol: 'http/1.1',
  method: 'GET',
  scheme: 'http',
  authority: 'web',
  path: `/p/${n}`,
  status: 200,
  ...(body ? { responseBody: { size: body.length, truncated: false, encoding: 'utf8' as const, data: body } } : {}),
});

describe('the tap service seen by grpc-js callers', () => {
  it('refusals keep their codes and details: no grant, a bad grant, too many taps, the v1 wire', async () => {
    const { hub, address } = await start({ trustLoopback: false, maxSubscribers: 1 });
    expect(await observe(address, { matches: [], bodies: false }).ended).toEqual({
      code: grpc.status.PERMISSION_DENIED,
      details: 'MT_GRANT_REQUIRED: this sidecar only serves taps authorized by the tap API (use meshtap tap --tap-api URL)',
    });
    const claims = makeGrantClaims({ sub: 'test', pod: 'web-1', namespace: 'shop', aud: address, bodies: false, revealHeaders: [], matches: [], maxRps: 10 });
    const forged = signGrant(claims, generateGrantKeyPair().privateKey);
    const bad = await observe(address, { matches: [], bodies: false, grant: forged }).ended;
    expect(bad.code).toBe(grpc.status.PERMISSION_DENIED);
    expect(bad.details).toMatch(/^MT_GRANT_BAD_SIGNATURE: /);
    const bodies = await observe(address, { matches: [], bodies: true, grant: signGrant(claims, keys.privateKey) }).ended;
    expect(bodies).toEqual({ code: grpc.status.PERMISSION_DENIED, details: 'MT_GRANT_NO_BODIES: the grant does not allow bodies' });

    const first = observe(address, { matches: [], bodies: false, grant: signGrant(claims, keys.privateKey) });
    await until('the first tap is attached', () => hub.count === 1);
    expect(await observe(address, { matches: [], bodies: false, grant: signGrant(claims, keys.privateKey) }).ended).toEqual({
      code: grpc.status.RESOURCE_EXHAUSTED,
      details: 'MT_TAP_BUSY: this sidecar already serves 1 taps',
    });
    const v1 = await observe(address, { matches: [], bodies: false }, TAP_OBSERVE_PATH_V1).ended;
    expect(v1.code).toBe(grpc.status.FAILED_PRECONDITION);
    expect(v1.details).toMatch(/^MT_TAP_WIRE: this sidecar speaks tap wire v2/);
    first.call.cancel();
  });

  it('an invalid request is refused with INVALID_ARGUMENT, as before', async () => {
    const { address } = await start();
    expect(await observe(address, { matches: [], bodies: false, maxRps: -1 }).ended).toEqual({ code: grpc.status.INVALID_ARGUMENT, details: 'MT_BAD_REQUEST: maxRps must be a positive number, not -1' });
  });

  it('Flush puts a marker after what was published, found or not; a stopping sidecar ends the tap with MT_SIDECAR_STOPPED', async () => {
    const { hub, address } = await start();
    const tap = observe(address, { matches: [], bodies: false, flushToken: 'tok-1' });
    await until('the tap is attached', () => hub.count === 1);
    hub.publish('end', event(1));
    expect(await flushTap(address, 'tok-1')).toBe(true);
    expect(await flushTap(address, 'no-such-token')).toBe(false);
    await until('the marker came', () => tap.messages.some((m) => m.type === 'flushed'));
    expect(tap.messages.map((m) => m.type)).toEqual(['event', 'flushed']);
    await service!.close();
    service = undefined;
    expect(await tap.ended).toEqual({ code: grpc.status.UNAVAILABLE, details: 'MT_SIDECAR_STOPPED: the sidecar stopped' });
  });

  it('a grpc-js reader that stops reading holds the sidecar back (flow control), is dropped from, and told what it lost', async () => {
    const { hub, address, dropped } = await start();
    const tap = observe(address, { matches: [], bodies: true });
    await until('the tap is attached', () => hub.count === 1);
    hub.publish('end', event(-1));
    await until('the first event', () => tap.messages.length === 1);
    tap.call.pause();
    // The reader takes nothing more. Events of 16 KiB bodies come a few at a time, each batch written
    // as soon as the transport takes it: only HTTP/2 flow control (a write's callback waits for the
    // window) stops the writes, so the subscriber's queue fills and it is dropped from. A transport
    // that took everything would buffer it all and drop nothing (this wait would time out).
    const body = 'b'.repeat(16 * 1024);
    let published = 0;
    await until(
      'the subscriber is dropped from',
      () => {
        for (let i = 0; i < 20; i++) hub.publish('end', event(published++, body));
        return dropped() > 0;
      },
      { intervalMs: 10, timeoutMs: 20_000 },
    );
    // Now read: what was held comes, then a notice of the loss; then new events flow again.
    // (An event published while it is still not reading is lost too: one more each round until one comes.)
    tap.call.resume();
    let after = 0;
    await until('an event after the loss', () => {
      if (tap.messages.some((m) => m.type === 'event' && m.event.id.startsWith('1.after-'))) return true;
      hub.publish('end', { ...event(0), id: `1.after-${after++}` });
      return false;
    });
    await until('every event told, delivered or lost', () => {
      const lost = tap.messages.reduce((n, m) => n + (m.type === 'dropped' ? m.count : 0), 0);
      return tap.messages.filter((m) => m.type === 'event').length - 1 + lost === published + after;
    });
    const lost = tap.messages.reduce((n, m) => n + (m.type === 'dropped' ? m.count : 0), 0);
    const delivered = tap.messages.filter((m) => m.type === 'event' && !m.event.id.startsWith('1.after-')).length - 1;
    expect(lost).toBeGreaterThan(0);
    // Held back: what got through is what the windows, the in-flight bound and the queue hold.
    expect(delivered * body.length).toBeLessThan(16 * 1024 * 1024);
    tap.call.cancel();
  });
});
