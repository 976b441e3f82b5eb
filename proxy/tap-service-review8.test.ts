/**
 * The tap port as any peer in the cluster reaches it, before a grant is checked (review8): the
 * connections it holds are bounded (each held a socket and an HTTP/2 session for good, the file
 * descriptors the sidecar's traffic needs too), the bound counted, and a tap still served once a
 * connection is let go. The real tap service on 127.0.0.1 port 0, real sockets, a grpc-js client.
 */
import * as grpc from '@grpc/grpc-js';
import { connect, type Socket } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { generateGrantKeyPair, TAP_OBSERVE_PATH, type TapMessage } from '../tap-protocol/index.js';
import { until } from '../test/support/until.js';
import { createFlightRecorder } from './flight-recorder.js';
import { createProxyMetrics, type ProxyMetrics } from './metrics.js';
import { createTapHub } from './tap-hub.js';
import { startTapService, type TapService } from './tap-service.js';

let service: TapService | undefined;
const sockets: Socket[] = [];
const clients: grpc.Client[] = [];
afterEach(async () => {
  for (const c of clients.splice(0)) c.close();
  for (const s of sockets.splice(0)) s.destroy();
  await service?.close();
  service = undefined;
});

async function boundHits(metrics: ProxyMetrics, bound: string): Promise<number> {
  const m = (await metrics.registry.getSingleMetric('meshtap_bound_hit_total')?.get())?.values.find((v) => v.labels.bound === bound);
  return m?.value ?? 0;
}

/** An idle TCP connection to `port` (nothing sent); resolves with it once connected. */
function idle(port: number): Promise<Socket> {
  return new Promise((resolve) => {
    const s = connect(port, '127.0.0.1', () => resolve(s));
    s.on('error', () => {});
    s.on('data', () => {});
    sockets.push(s);
  });
}

describe('tap port: connections bounded (review8)', () => {
  it('regression (any number of idle connections held for good): past maxConnections a connection is closed at once and counted; once one goes, a tap is served', async () => {
    const metrics = createProxyMetrics({ namespace: 'shop', workloadKind: 'deployment', workloadName: 'web', pod: 'web-1' });
    const keys = generateGrantKeyPair();
    service = await startTapService(
      { host: '127.0.0.1', port: 0 },
      { hub: createTapHub(), recorder: createFlightRecorder(1 << 20), metrics, pod: 'web-1', namespace: 'shop', trustLoopback: true, publicKey: () => keys.publicKey, maxConnections: 3 },
    );
    const port = Number(service.address.split(':').pop());
    const held = [await idle(port), await idle(port), await idle(port)];
    const over = await idle(port);
    await new Promise<void>((resolve) => (over.destroyed ? resolve() : over.once('close', () => resolve())));
    await until('the drop counted', async () => (await boundHits(metrics, 'tap-connections')) === 1);
    for (const s of held) expect(s.destroyed).toBe(false);

    held[0]!.destroy();
    await new Promise((resolve) => setTimeout(resolve, 100));
    const client = new grpc.Client(service.address, grpc.credentials.createInsecure());
    clients.push(client);
    const call = client.makeServerStreamRequest(TAP_OBSERVE_PATH, (b: Buffer) => b, (b: Buffer) => JSON.parse(b.toString('utf8')) as TapMessage[], Buffer.from(JSON.stringify({ matches: [], bodies: false, last: 1 })), new grpc.Metadata());
    const messages: TapMessage[] = [];
    call.on('data', (batch: TapMessage[]) => messages.push(...batch));
    const status = await new Promise<number>((resolve) => {
      call.on('error', (e: grpc.ServiceError) => resolve(e.code));
      call.on('status', (s: grpc.StatusObject) => resolve(s.code));
    });
    expect(status).toBe(grpc.status.OK);
    expect(messages.map((m) => m.type)).toEqual(['history-end']);
  });
});
