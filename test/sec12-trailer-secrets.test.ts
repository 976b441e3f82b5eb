/**
 * review11 F8: a secret that arrives only in the request's trailers (`X-Api-Key` sent as a
 * chunked trailer) is unknown when the exchange's `req` and `rsp` events are made, so a live tap
 * shows a copy of it elsewhere in those two (here `?state=K`): they cannot be recalled, as with a
 * secret body field (README, "Secrets"). Every later output must hide it: the `end` event of a
 * live tap and of an ends-only tap (what `meshtap record` takes, and so recordings and HAR), the
 * flight recorder's history, and a filter over that history guessing the value.
 *
 * Real sidecar processes on both engines; the request is raw bytes on a socket.
 */
import * as net from 'node:net';
import { describe, expect, it } from 'vitest';
import type { TapEvent } from '../tap-protocol/index.js';
import { ENGINES } from './support/engines.js';
import { useOkSidecar } from './support/ok-sidecar.js';
import { sidecarTapEvents } from './support/sidecar-tap-events.js';

function sendRaw(address: string, bytes: string): Promise<string> {
  const [host, port] = [address.slice(0, address.lastIndexOf(':')), Number(address.slice(address.lastIndexOf(':') + 1))];
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    const s = net.connect(port, host, () => s.write(bytes, 'latin1'));
    s.on('data', (d) => chunks.push(d));
    s.on('error', reject);
    s.on('end', () => resolve(Buffer.concat(chunks).toString('latin1')));
  });
}

const KEY = 'trailerKeyQ7w2Zx9';

const post = (prefix: string): string =>
  `POST ${prefix}/p?state=${KEY} HTTP/1.1\r\nHost: web\r\nConnection: close\r\nTransfer-Encoding: chunked\r\nTrailer: X-Api-Key\r\nReferer: http://app.example/${KEY}\r\n\r\n` +
  `2\r\nhi\r\n0\r\nX-Api-Key: ${KEY}\r\n\r\n`;

describe.each(ENGINES)('sec12 (review11 F8): a secret known only from the request trailers (%s engine)', (engine) => {
  const rig = useOkSidecar(engine);

  const shows = (e: TapEvent): boolean => JSON.stringify(e).includes(KEY);

  it('the end event, the recorder, an ends-only tap and a filter over history do not show it', async () => {
    const live = await sidecarTapEvents(rig.sidecar, {}, async () => {
      expect(await sendRaw(rig.sidecar.forwards[0]!.address, post('/f8a'))).toMatch(/^HTTP\/1\.1 200/);
    });
    expect(live.map((e) => e.kind)).toEqual(['req', 'rsp', 'end']);
    const end = live[2]!;
    expect(end.requestTrailers).toContainEqual(['X-Api-Key', '[redacted]']);
    expect(end.path).toBe('/f8a/p?state=[redacted]');
    expect(end.requestHeaders).toContainEqual(['Referer', 'http://app.example/[redacted]']);
    expect(shows(end)).toBe(false);
    // The documented limit: the `req` event was made before the trailer was seen.
    expect(shows(live[0]!)).toBe(true);

    const endsOnly = await sidecarTapEvents(rig.sidecar, { endsOnly: true }, async () => {
      await sendRaw(rig.sidecar.forwards[0]!.address, post('/f8b'));
    });
    expect(endsOnly.map((e) => e.kind)).toEqual(['end']);
    expect(shows(endsOnly[0]!)).toBe(false);

    const history = (await sidecarTapEvents(rig.sidecar, { last: 10 })).filter((e) => e.path.startsWith('/f8'));
    expect(history.map((e) => e.kind)).toEqual(['end', 'end']);
    for (const e of history) expect(shows(e)).toBe(false);
    expect(await sidecarTapEvents(rig.sidecar, { last: 10, matches: [[{ field: 'pathRegex', value: KEY }]] })).toEqual([]);
  }, 60_000);
});
