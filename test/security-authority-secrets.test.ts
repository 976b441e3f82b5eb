/**
 * Regression (review9, "redacted in one field ⇒ redacted in every field"): a hidden value that is
 * also part of the request's authority (an API key used as a tenant's subdomain) was scrubbed
 * from the `:authority` header of a tap event and shown in full in the same event's `authority`
 * field, so a viewer without `--reveal-header x-api-key` read the key there. Now the authority
 * reads as the header does, live and from the flight recorder, and an `--authority` filter tests
 * what the viewer is shown (no oracle). Real sidecar processes on both engines, a real h2c client
 * (node:http2) and backend, the sidecar's tap read by the tap wire's client.
 */
import * as http2 from 'node:http2';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { TapEvent } from '../tap-protocol/index.js';
import { ENGINES } from './support/engines.js';
import { startSidecarProcess, type SidecarProcess } from './support/meshtap-process.js';
import { sidecarTapEvents } from './support/sidecar-tap-events.js';

const KEY = 'tenantKey-7f3a9c21';
const AUTHORITY = `${KEY}.api.example`;

const tapEvents = sidecarTapEvents;

describe.each(ENGINES)('a hidden value in the authority (%s engine)', (engine) => {
  let backend: http2.Http2Server;
  let sidecar: SidecarProcess;

  beforeAll(async () => {
    backend = http2.createServer((_req, res) => res.end('ok'));
    await new Promise<void>((r) => backend.listen(0, '127.0.0.1', r));
    // prettier-ignore
    sidecar = await startSidecarProcess([
      '--engine', engine, '--forward', `127.0.0.1:0=127.0.0.1:${(backend.address() as AddressInfo).port}`, '--admin', '127.0.0.1:0', '--tap', '127.0.0.1:0',
    ]);
  }, 60_000);
  afterAll(async () => {
    await sidecar?.stop();
    await new Promise((r) => backend?.close(r));
  });

  const request = async (headers: http2.OutgoingHttpHeaders = { ':path': '/v1/items', ':authority': AUTHORITY, 'x-api-key': KEY }): Promise<void> => {
    const session = http2.connect(`http://${sidecar.forwards[0]!.address}`);
    try {
      await new Promise<void>((resolve, reject) => {
        const req = session.request(headers);
        req.on('error', reject);
        req.on('data', () => {});
        req.on('end', resolve);
      });
    } finally {
      session.close();
    }
  };

  it('live and from the flight recorder, the key shows in no field of the event, the authority included', async () => {
    const live = await tapEvents(sidecar, {}, () => request());
    expect(live.map((e) => e.kind)).toEqual(['req', 'rsp', 'end']);
    const history = (await tapEvents(sidecar, { last: 10 })).filter((e) => e.path === '/v1/items');
    expect(history).toHaveLength(1);
    for (const e of [...live, ...history]) {
      expect(JSON.stringify(e)).not.toContain(KEY);
      expect(e.authority).toBe('[redacted].api.example');
    }
  }, 60_000);

  it('the same for a custom method (any token) that is the key: hidden in `method` as in `:method`', async () => {
    const live = await tapEvents(sidecar, {}, () => request({ ':method': KEY, ':path': '/m', ':authority': 'web', 'x-api-key': KEY }));
    expect(live.map((e) => e.kind)).toEqual(['req', 'rsp', 'end']);
    for (const e of live) {
      expect(JSON.stringify(e)).not.toContain(KEY);
      expect(e.method).toBe('[redacted]');
    }
  }, 60_000);

  it('an --authority filter with the key does not confirm it; one with what the viewer sees matches', async () => {
    const guessed = await tapEvents(sidecar, { last: 20, matches: [[{ field: 'authority', value: AUTHORITY }]] });
    expect(guessed).toEqual([]);
    const shown = await tapEvents(sidecar, { last: 20, matches: [[{ field: 'authority', value: '[redacted].api.example' }]] });
    expect(shown.length).toBeGreaterThan(0);
  }, 60_000);
});
