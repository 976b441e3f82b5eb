/**
 * A compressed body is decoded for viewers (session 16, bodies16) on the sidecar's JS thread, which on
 * the js engine forwards traffic: a client sending brotli bombs (~10 ms each to decode) while a tap with
 * bodies is attached would take that thread. The sidecar spends at most --decode-budget a second
 * (default 50ms) decoding; past it a coded body is withheld (`omitted: 'decode-budget'`), counted in
 * meshtap_bound_hit_total{bound="decode-budget"}, and the next second decodes again. Real sidecar
 * processes on both engines, a real backend, node:http keep-alive clients, a real tap collector.
 */
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import { brotliCompressSync, constants as zlibConstants, gzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { TapEvent } from '../tap-protocol/index.js';
import { ENGINES } from './support/engines.js';
import { startSidecarProcess, type SidecarProcess } from './support/meshtap-process.js';
import { scrape, sumMetric } from './support/metrics-scrape.js';
import { openTapCollector } from './support/tap-collector.js';

const BR_BOMB = brotliCompressSync(Buffer.alloc(64 * 1024 * 1024), { params: { [zlibConstants.BROTLI_PARAM_QUALITY]: 5 } });
const JSON_BODY = gzipSync(JSON.stringify({ user: 'ann', password: 'hunter2-very-secret' }));

function get(agent: http.Agent, address: string, path: string): Promise<Buffer> {
  const at = address.lastIndexOf(':');
  return new Promise((resolve, reject) => {
    http
      .get({ agent, host: address.slice(0, at), port: Number(address.slice(at + 1)), path }, (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => resolve(Buffer.concat(chunks)));
      })
      .on('error', reject);
  });
}

describe.each(ENGINES)('lead16: the time a sidecar spends decoding compressed bodies is bounded (%s engine)', (engine) => {
  let backend: http.Server;
  const sidecars: SidecarProcess[] = [];
  const start = async (extra: string[]): Promise<SidecarProcess> => {
    // prettier-ignore
    const s = await startSidecarProcess(['--engine', engine, '--forward', `127.0.0.1:0=127.0.0.1:${(backend.address() as AddressInfo).port}`, '--admin', '127.0.0.1:0', '--tap', '127.0.0.1:0', ...extra]);
    sidecars.push(s);
    return s;
  };

  beforeAll(async () => {
    backend = http.createServer((req, res) => {
      req.resume();
      req.on('end', () => {
        const bomb = req.url?.startsWith('/bomb') === true;
        res.writeHead(200, { 'content-type': bomb ? 'application/octet-stream' : 'application/json', 'content-encoding': bomb ? 'br' : 'gzip' });
        res.end(bomb ? BR_BOMB : JSON_BODY);
      });
    });
    await new Promise<void>((r) => backend.listen(0, '127.0.0.1', r));
  }, 60_000);
  afterAll(async () => {
    for (const s of sidecars) await s.stop();
    await new Promise((r) => backend?.close(r));
  });

  it('a burst of bombs: past the budget they are withheld and counted, the client gets every byte, and the next second decodes again', async () => {
    const sidecar = await start([]);
    const address = sidecar.forwards[0]!.address;
    const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
    const tap = await openTapCollector(sidecar.tap!, { bodies: true });
    let ends: TapEvent[];
    try {
      const BURST = 40;
      for (let i = 0; i < BURST; i++) expect((await get(agent, address, `/bomb/${i}`)).equals(BR_BOMB)).toBe(true);
      ends = await tap.waitForEnds(BURST);
      // A second later the budget is whole again: an ordinary gzip JSON is decoded and redacted.
      await new Promise((r) => setTimeout(r, 1100));
      await get(agent, address, '/json');
      ends = [...ends, ...(await tap.waitForEnds(BURST + 1)).slice(BURST)];
    } finally {
      tap.close();
      agent.destroy();
    }
    const bombs = ends.filter((e) => e.path!.startsWith('/bomb/'));
    const withheld = bombs.filter((e) => e.responseBody?.omitted === 'decode-budget');
    const decoded = bombs.filter((e) => e.responseBody?.decoded === 'br');
    expect(bombs).toHaveLength(40);
    // Each bomb costs milliseconds to decode: 40 in a burst are far more than 50 ms a second.
    expect(withheld.length).toBeGreaterThan(0);
    expect(decoded.length + withheld.length).toBe(40);
    for (const e of withheld) expect(e.responseBody).toEqual({ size: e.responseBody!.size, truncated: true, encoding: 'utf8', data: '', omitted: 'decode-budget' });
    expect(sumMetric(await scrape(sidecar.admin!), 'meshtap_bound_hit_total', { bound: 'decode-budget' })).toBe(withheld.length);
    const json = ends.find((e) => e.path === '/json')!.responseBody!;
    expect({ decoded: json.decoded, data: json.data }).toEqual({ decoded: 'gzip', data: '{"user":"ann","password":"[redacted]"}' });
  }, 90_000);

  it('--decode-budget 0ms withholds every compressed body from viewers without the reveal grant, counted', async () => {
    const sidecar = await start(['--decode-budget', '0ms']);
    const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
    const tap = await openTapCollector(sidecar.tap!, { bodies: true });
    try {
      await get(agent, sidecar.forwards[0]!.address, '/json');
      const [end] = await tap.waitForEnds(1);
      expect(end!.responseBody).toEqual({ size: JSON_BODY.length, truncated: true, encoding: 'utf8', data: '', omitted: 'decode-budget' });
    } finally {
      tap.close();
      agent.destroy();
    }
    expect(sumMetric(await scrape(sidecar.admin!), 'meshtap_bound_hit_total', { bound: 'decode-budget' })).toBe(1);
  }, 60_000);
});
