/**
 * Regression (review10 #10): a hidden value holding a byte that is not UTF-8 reads `\xE9` in a
 * header and `%E9` in a path (proxy/field-text.ts), and neither spelling was scrubbed by the
 * other: `X-Api-Key: tok<E9>nKEY…` echoed as `?state=tok%E9nKEY…` showed in full in the event's
 * path and in the route label, and a secret query parameter's `%E9` value showed in a header as
 * `\xE9`. Real sidecar processes on both engines; the requests are raw bytes on a socket.
 */
import { describe, expect, it } from 'vitest';
import type { TapEvent } from '../tap-protocol/index.js';
import { ENGINES } from './support/engines.js';
import { useOkSidecar } from './support/ok-sidecar.js';
import { httpGet } from './support/metrics-scrape.js';
import { sendRawBytes } from './support/one-request.js';
import { sidecarTapEvents } from './support/sidecar-tap-events.js';
import { until } from './support/until.js';

/** The key's bytes: ASCII around 0xE9 (not UTF-8 alone) and 0xFF. */
const KEY = Buffer.concat([Buffer.from('tok'), Buffer.from([0xe9]), Buffer.from('nKEY7'), Buffer.from([0xff]), Buffer.from('q')]);

const request = (target: string, headers: Array<[string, Buffer | string]>): Buffer =>
  Buffer.concat([Buffer.from(`GET ${target} HTTP/1.1\r\nHost: web\r\nConnection: close\r\n`), ...headers.map(([n, v]) => Buffer.concat([Buffer.from(`${n}: `), Buffer.from(v as Buffer), Buffer.from('\r\n')])), Buffer.from('\r\n')]);

describe.each(ENGINES)('review10 #10: a hidden value holding a byte that is not UTF-8 (%s engine)', (engine) => {
  const rig = useOkSidecar(engine);

  const visible = (e: TapEvent): string => JSON.stringify(e).toLowerCase();

  it('an X-Api-Key with raw bytes does not show in the path, however the bytes are escaped', async () => {
    const lower = 'tok%e9nKEY7%ffq';
    const upper = 'tok%E9nKEY7%FFq';
    const events = await sidecarTapEvents(rig.sidecar, {}, async () => {
      const rsp = await sendRawBytes(rig.sidecar.forwards[0]!.address, request(`/cb?state=${lower}&again=${upper}&x=1`, [['X-Api-Key', KEY], ['Referer', `http://app.example/?s=${upper}`]]));
      expect(rsp).toMatch(/^HTTP\/1\.1 200/);
    });
    expect(events.map((e) => e.kind)).toEqual(['req', 'rsp', 'end']);
    for (const e of events) {
      expect(e.path).toBe('/cb?state=[redacted]&again=[redacted]&x=1');
      expect(visible(e)).not.toContain('nkey7');
    }
    for (const e of events.filter((x) => x.kind !== 'rsp')) {
      expect(e.requestHeaders).toContainEqual(['X-Api-Key', '[redacted]']);
      expect(e.requestHeaders).toContainEqual(['Referer', 'http://app.example/?s=[redacted]']);
    }
  }, 60_000);

  it("a secret query parameter's escaped bytes do not show in a header that carries them raw", async () => {
    const events = await sidecarTapEvents(rig.sidecar, {}, async () => {
      await sendRawBytes(rig.sidecar.forwards[0]!.address, request('/q?token=tok%E9nKEY7%FFq', [['X-Echo', KEY]]));
    });
    const end = events.find((e) => e.kind === 'end')!;
    expect(end.path).toBe('/q?token=[redacted]');
    expect(end.requestHeaders).toContainEqual(['X-Echo', '[redacted]']);
    expect(visible(end)).not.toContain('nkey7');
  }, 60_000);

  it('a key of 8 characters as a header shows it and 7 as a path does (\\xA9 against %A9) is scrubbed from the path and the route label', async () => {
    // Bytes E9 A9 80 E2 82 80 61 A9 61 (flake13's seed): `驀₀a\xA9a` in a header, `驀₀a%A9a` in a path.
    const short = Buffer.from([0xe9, 0xa9, 0x80, 0xe2, 0x82, 0x80, 0x61, 0xa9, 0x61]);
    const escaped = [...short].map((b) => `%${b.toString(16).toUpperCase().padStart(2, '0')}`).join('');
    const events = await sidecarTapEvents(rig.sidecar, {}, async () => {
      await sendRawBytes(rig.sidecar.forwards[0]!.address, request(`/v2/k/${escaped}/items?x=1`, [['X-Api-Key', short]]));
    });
    const end = events.find((e) => e.kind === 'end')!;
    expect(end.path).toBe('/v2/k/[redacted]/items?x=1');
    let text = '';
    await until('the route series is scraped', async () => {
      text = (await httpGet(rig.sidecar.admin!, '/metrics')).body;
      return /route="\/v2\/k\//.test(text);
    });
    expect(text).toContain('route="/v2/k/[redacted]/items"');
  }, 60_000);

  it('metric labels: the route label of a path segment holding the escaped key reads [redacted]', async () => {
    await sendRawBytes(rig.sidecar.forwards[0]!.address, request('/v1/t/tok%e9nKEY7%FFq/items', [['X-Api-Key', KEY]]));
    let text = '';
    await until('the route series is scraped', async () => {
      text = (await httpGet(rig.sidecar.admin!, '/metrics')).body;
      return /route="\/v1\/t\//.test(text);
    });
    expect(text).toContain('route="/v1/t/[redacted]/items"');
    expect(text.toLowerCase()).not.toContain('nkey7');
  }, 60_000);
});
