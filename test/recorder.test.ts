/**
 * The flight recorder through the real sidecar process: `--recorder-bytes` bounds it (oldest
 * exchanges evicted first, `meshtap_recorder_evicted_total` counts them, the bytes gauge stays
 * under the bound), an exchange bigger than the whole bound is refused and counted, `--last`
 * answers from what is left, and bodies are kept only with `--recorder-bodies`.
 */
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { TapEvent } from '../tap-protocol/index.js';
import { scrape, sumMetric } from './support/metrics-scrape.js';
import { runMeshtap, startSidecarProcess, type SidecarProcess } from './support/meshtap-process.js';
import { openTapCollector } from './support/tap-collector.js';

const BOUND = 16 * 1024;

let origin: http.Server;
let originPort: number;
let small: SidecarProcess;
let withBodies: SidecarProcess;

beforeAll(async () => {
  // Large heads reach the origin (the recorder bound, not Node's default 16 KiB, is under test).
  origin = http.createServer({ maxHeaderSize: 256 * 1024 }, (req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => res.writeHead(200, { 'content-type': 'text/plain' }).end(`got ${Buffer.concat(chunks).length}`));
  });
  await new Promise<void>((resolve) => origin.listen(0, '127.0.0.1', resolve));
  originPort = (origin.address() as AddressInfo).port;
  const common = ['--forward', `127.0.0.1:0=127.0.0.1:${originPort}`, '--admin', '127.0.0.1:0', '--tap', '127.0.0.1:0'];
  [small, withBodies] = await Promise.all([startSidecarProcess([...common, '--recorder-bytes', '16KiB']), startSidecarProcess([...common, '--recorder-bodies'])]);
});

afterAll(async () => {
  await Promise.all([small?.stop(), withBodies?.stop()]);
  await new Promise((resolve) => origin?.close(resolve));
});

function send(sidecar: SidecarProcess, path: string, options: { headers?: Record<string, string>; body?: string } = {}): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = http.request({ host: '127.0.0.1', port: sidecar.forwards[0].port, method: options.body ? 'POST' : 'GET', path, agent: false, headers: options.headers, maxHeaderSize: 256 * 1024 }, (res) => {
      res.resume();
      res.on('end', () => resolve(res.statusCode ?? 0));
    });
    req.on('error', reject);
    req.end(options.body);
  });
}

async function history(sidecar: SidecarProcess, args: string[], stderr: RegExp = /^$/): Promise<TapEvent[]> {
  const r = await runMeshtap(['tap', '--proxy', sidecar.tap!, '-o', 'json', ...args]);
  expect(r.code, r.stderr).toBe(0);
  expect(r.stderr).toMatch(stderr);
  return r.stdout.trimEnd().split('\n').filter(Boolean).map((l) => JSON.parse(l) as TapEvent);
}

describe('flight recorder (real sidecar process)', () => {
  it('--recorder-bytes bounds the recorder: oldest exchanges go first, counted, and --last sees the newest', async () => {
    // A live subscriber tells us when every exchange has ended (so the recorder has them all).
    const tap = await openTapCollector(small.tap!);
    const total = 400; // more than 16 KiB holds (the C++ recorder packs a node:http exchange in ~60 B)
    for (let i = 0; i < total; i++) expect(await send(small, `/rec/${i}`)).toBe(200);
    await tap.waitForEnds(total, (e) => e.path.startsWith('/rec/'));
    tap.close();

    const samples = await scrape(small.admin!);
    const held = sumMetric(samples, 'meshtap_recorder_events');
    const evicted = sumMetric(samples, 'meshtap_recorder_evicted_total');
    expect(held).toBeGreaterThan(0);
    expect(held).toBeLessThan(total);
    expect(held + evicted).toBe(total);
    expect(sumMetric(samples, 'meshtap_recorder_bytes')).toBeLessThanOrEqual(BOUND);

    const all = await history(small, ['--last', '1000']);
    expect(all.map((e) => e.path)).toEqual(Array.from({ length: held }, (_, i) => `/rec/${total - held + i}`));
    expect(all.every((e) => e.kind === 'end' && e.status === 200)).toBe(true);
    expect((await history(small, ['--last', '3'])).map((e) => e.path)).toEqual([`/rec/${total - 3}`, `/rec/${total - 2}`, `/rec/${total - 1}`]);
  });

  it('an exchange bigger than the whole bound is not kept (and counted); the recorder keeps what it had', async () => {
    const before = await scrape(small.admin!);
    const lastBefore = (await history(small, ['--last', '1']))[0];
    expect(await send(small, '/too-big-to-keep', { headers: { 'x-huge': 'h'.repeat(BOUND + 1024) } })).toBe(200);
    // The next small exchange is kept: once it shows up, the huge one has been processed.
    const tap = await openTapCollector(small.tap!);
    expect(await send(small, '/small-after')).toBe(200);
    await tap.waitForEnds(1, (e) => e.path === '/small-after');
    tap.close();
    const after = await scrape(small.admin!);
    expect(sumMetric(after, 'meshtap_recorder_evicted_total') - sumMetric(before, 'meshtap_recorder_evicted_total')).toBeGreaterThanOrEqual(1);
    const paths = (await history(small, ['--last', '1000'])).map((e) => e.path);
    expect(paths).not.toContain('/too-big-to-keep');
    expect(paths.at(-1)).toBe('/small-after');
    expect(paths).toContain(lastBefore.path);
    expect(sumMetric(after, 'meshtap_recorder_bytes')).toBeLessThanOrEqual(BOUND);
  });

  it('bodies are kept only with --recorder-bodies, and shown only to a --bodies tap', async () => {
    // Without --recorder-bodies: even while a live tap captures bodies, history has none.
    const live = await openTapCollector(small.tap!, { bodies: true });
    expect(await send(small, '/body-small', { body: 'payload-1' })).toBe(200);
    const [liveEnd] = await live.waitForEnds(1, (e) => e.path === '/body-small');
    live.close();
    expect(liveEnd.requestBody?.data).toBe('payload-1');
    // …and the user is told why, once (issue 11 item 5).
    const [noBody] = await history(small, ['--path', '/body-small', '--last', '1', '--bodies'], /^meshtap: history has no bodies: .*--recorder-bodies.*\n$/);
    expect([noBody.path, noBody.requestBytes, noBody.requestBody, noBody.responseBody]).toEqual(['/body-small', 9, undefined, undefined]);

    // With --recorder-bodies: history keeps them, shown with --bodies only.
    const tap = await openTapCollector(withBodies.tap!);
    expect(await send(withBodies, '/body-kept', { body: 'payload-2' })).toBe(200);
    await tap.waitForEnds(1, (e) => e.path === '/body-kept');
    tap.close();
    const [kept] = await history(withBodies, ['--path', '/body-kept', '--last', '1', '--bodies']);
    expect(kept.requestBody).toEqual({ size: 9, truncated: false, encoding: 'utf8', data: 'payload-2' });
    expect(kept.responseBody).toEqual({ size: 5, truncated: false, encoding: 'utf8', data: 'got 9' });
    const [hidden] = await history(withBodies, ['--path', '/body-kept', '--last', '1']);
    expect([hidden.requestBody, hidden.responseBody]).toEqual([undefined, undefined]);
  });
});
