/**
 * Regression (review9): the tap API let a sidecar say which pod its events came from. The fan-out
 * filled an event's `pod` only when the sidecar left it out, and ids are qualified with that pod
 * (`<pod>/<connection>.<stream>`, tap-route.ts). So the sidecar of a compromised pod `evil-1`,
 * tapped together with `web-1` (one workload), could send events claiming `pod: "web-1"` and ids
 * that are web-1's own (`web-1/1.1`): the person debugging saw forged exchanges under the other
 * pod's name, and `jq group_by(.id)` paired web-1's real request with a forged response, the
 * mix-up pod-qualified ids exist to prevent. The pod is the one the tap API dialed (found from
 * Kubernetes or the sidecar's registration, and the one its grant names), whatever the event says.
 *
 * Real sockets: the parts are tap servers (proxy/tap-grpc-server.ts, the sidecar's own) read by the
 * fan-out's grpc-js client; the forging sidecar is one of them answering with forged events.
 */
import { createServer, type AddressInfo, type Server } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { createTapGrpcServer, type TapGrpcServer } from '../proxy/tap-grpc-server.js';
import { batchText, TAP_OBSERVE_PATH, type TapEvent } from '../tap-protocol/index.js';
import type { TapApiLine } from '../tap-api/server/wire.js';
import { startFanOut } from '../tap-api/server/fan-out.js';
import { until } from './support/until.js';

const open: Array<{ listener: Server; server: TapGrpcServer }> = [];

afterEach(async () => {
  for (const { listener, server } of open.splice(0)) {
    await server.close(100);
    await new Promise<void>((resolve) => listener.close(() => resolve()));
  }
});

/** A sidecar's tap port that answers every Observe with `events` (as a sidecar writes them), then ends. */
async function fakeSidecar(events: TapEvent[]): Promise<string> {
  const server = createTapGrpcServer(
    new Map([
      [
        TAP_OBSERVE_PATH,
        {
          parse: (b: Buffer) => JSON.parse(b.toString('utf8')) as unknown,
          handle: (call) => {
            call.write(batchText(events.map((event) => JSON.stringify({ type: 'event', event }))));
            call.end();
          },
        },
      ],
    ]),
    { maxConcurrentStreams: 16 },
  );
  const listener = createServer((socket) => {
    socket.on('error', () => {});
    server.inject(socket);
  });
  await new Promise<void>((resolve) => listener.listen(0, '127.0.0.1', resolve));
  open.push({ listener, server });
  return `127.0.0.1:${(listener.address() as AddressInfo).port}`;
}

const event = (pod: string, path: string): TapEvent => ({
  kind: 'end', id: '1.1', ts: new Date().toISOString(), proxy: 'in', src: '10.0.0.9:40000', dst: '10.0.0.1:8080',
  protocol: 'http/1.1', method: 'GET', scheme: 'http', authority: 'web', path, pod, status: 200,
});

describe('tap API fan-out: whose events are whose (review9)', () => {
  it("regression (a sidecar named another pod in its events): every event carries the pod the tap API dialed, whatever the sidecar wrote", async () => {
    const honest = await fakeSidecar([event('web-1', '/real')]);
    // The compromised pod's sidecar forges web-1's events (and one with no pod at all).
    const forging = await fakeSidecar([event('web-1', '/forged'), { ...event('', '/unnamed'), pod: undefined }]);
    const lines: TapApiLine[] = [];
    let done = false;
    startFanOut({
      parts: [
        { pod: 'web-1', address: honest, request: { matches: [], bodies: false, last: 10 } },
        { pod: 'evil-1', address: forging, request: { matches: [], bodies: false, last: 10 } },
      ],
      emit: (line) => lines.push(line),
      onDone: () => (done = true),
    });
    await until('both parts ended', () => done);
    const events = lines.flatMap((l) => (l.type === 'event' ? [l.event] : []));
    expect(events.map((e) => [e.path, e.pod]).sort()).toEqual([
      ['/forged', 'evil-1'],
      ['/real', 'web-1'],
      ['/unnamed', 'evil-1'],
    ]);
  });
});
