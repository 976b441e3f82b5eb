/**
 * HTTP/2 transparency under real concurrency, through the real sidecar process (on the engine
 * of the vitest project: js, and native in the `native` project): nghttp (many URIs, uploads)
 * and h2load drive 100+ concurrent streams on one connection, curl 100+ concurrent connections
 * (see its test), with multi-MiB bodies among them, against a real node:http2 origin. Tees on both sides of the
 * sidecar prove both directions' bytes are identical; the tap (or, for h2load's volume, the
 * metrics, which cannot drop) must account for every stream exactly.
 * node:http2 with 100 concurrent streams and multi-MiB bodies is in transparency-h2.test.ts.
 */
import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { TapEvent } from '../tap-protocol/index.js';
import { patternBytes, startH2Origin, type H2Origin } from './support/h2-origin.js';
import { scrape, sumMetric, waitForMetric } from './support/metrics-scrape.js';
import { hasBinary } from './support/ports.js';
import type { TeeConnection } from './support/tee.js';
import { startTeeRig, type TeeRig } from './support/transparency-rig.js';

const run = promisify(execFile);
const MiB = 1024 * 1024;

let origin: H2Origin;
let rig: TeeRig;
let dir: string;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'meshtap-h2-clients-'));
  origin = await startH2Origin();
  rig = await startTeeRig(origin.port);
});

afterAll(async () => {
  await rig?.close();
  await origin?.close();
  if (dir) await rm(dir, { recursive: true, force: true });
});

const base = () => `http://127.0.0.1:${rig.clientTee.port}`;

/**
 * Waits for connections [from, to) to close on both tees, then compares both directions of each.
 * Connections opened at once reach the server tee in any order: they are matched as a set.
 */
async function expectSameBytes(from: number, to: number): Promise<void> {
  await rig.clientTee.settled(to);
  await rig.serverTee.settled(to);
  const shape = (c: TeeConnection) => JSON.stringify([c.c2s.bytes, c.c2s.digest(), c.c2s.ended, c.s2c.bytes, c.s2c.digest(), c.s2c.ended]);
  const client = rig.clientTee.connections.slice(from, to).map(shape).sort();
  const server = rig.serverTee.connections.slice(from, to).map(shape).sort();
  expect(server).toEqual(client);
  expect(client).toHaveLength(to - from);
}

/** Ends per connection number, for streams that must share one connection. */
function byConnection(ends: TapEvent[]): Map<string, TapEvent[]> {
  const out = new Map<string, TapEvent[]>();
  for (const e of ends) {
    const conn = e.id.split('.')[0]!;
    out.set(conn, [...(out.get(conn) ?? []), e]);
  }
  return out;
}

/** The sizes of `n` downloads: mostly small and distinct, two of them past 3 MiB. */
function downloadSizes(n: number, tag: number): number[] {
  return Array.from({ length: n }, (_, i) => (i === 7 || i === n - 3 ? 3 * MiB + i + tag : 1000 + i * 613 + tag));
}

describe('HTTP/2 transparency with 100+ concurrent streams (curl, nghttp, h2load; real sidecar process)', () => {
  // curl 7.88.1 (Debian 12) cannot run a second stream on a prior-knowledge h2c connection ("Error
  // in the HTTP2 framing layer", node:http2 directly, no sidecar), so its concurrency comes from
  // 110 connections at once (one host name each, all routed to the sidecar by --connect-to).
  it.skipIf(!hasBinary('curl'))('curl --parallel: 110 concurrent h2 connections (two downloads past 3 MiB), every byte and every exchange exact', async () => {
    const conn = rig.clientTee.connections.length;
    const sizes = downloadSizes(110, 1);
    const args = ['--http2-prior-knowledge', '--parallel', '--parallel-max', '200', '--connect-to', `::127.0.0.1:${rig.clientTee.port}`, '-sS', '--fail', '-w', '%{http_version}\n'];
    sizes.forEach((n, i) => args.push('-o', join(dir, `curl-${i}`), `http://h${i}.test/big/${n}`));
    const { stdout } = await run('curl', args, { maxBuffer: 16 * MiB });
    expect(stdout.trim().split('\n')).toEqual(sizes.map(() => '2'));
    for (const [i, n] of sizes.entries()) expect((await readFile(join(dir, `curl-${i}`))).equals(patternBytes(n)), `download ${i}`).toBe(true);
    expect(rig.clientTee.connections.length - conn).toBe(sizes.length);
    await expectSameBytes(conn, conn + sizes.length);

    const paths = new Set(sizes.map((n) => `/big/${n}`));
    const ends = await rig.tap.waitForEnds(sizes.length, (e) => paths.has(e.path));
    expect(ends.map((e) => [e.authority, e.path, e.protocol, e.status, e.requestBytes, e.responseBytes, e.error]).sort()).toEqual(sizes.map((n, i) => [`h${i}.test`, `/big/${n}`, 'h2', 200, 0, n, undefined]).sort());
    expect(byConnection(ends).size).toBe(sizes.length);
  }, 120_000);

  it.skipIf(!hasBinary('nghttp'))('nghttp: 111 streams on one connection, each uploading 20 KiB, one downloading 3 MiB: every byte and every exchange exact', async () => {
    const conn = rig.clientTee.connections.length;
    const upload = patternBytes(20 * 1024, 5);
    await writeFile(join(dir, 'ngh-up.bin'), upload);
    const sizes = downloadSizes(111, 2);
    const { stdout } = await run('nghttp', ['-d', join(dir, 'ngh-up.bin'), ...sizes.map((n) => `${base()}/big/${n}`)], { encoding: 'buffer', maxBuffer: 64 * MiB });
    expect(stdout.length).toBe(sizes.reduce((a, b) => a + b, 0));
    await expectSameBytes(conn, rig.clientTee.connections.length);
    expect(rig.clientTee.connections.length - conn).toBe(1);

    const paths = new Set(sizes.map((n) => `/big/${n}`));
    const ends = await rig.tap.waitForEnds(sizes.length, (e) => paths.has(e.path));
    expect(byConnection(ends).size).toBe(1);
    expect(ends.map((e) => [e.path, e.method, e.status, e.requestBytes, e.responseBytes, e.error]).sort()).toEqual(sizes.map((n) => [`/big/${n}`, 'POST', 200, upload.length, n, undefined]).sort());
    for (const n of sizes) expect(origin.seen.get(`/big/${n}`)!.bodyBytes).toBe(upload.length);
  }, 120_000);

  it.skipIf(!hasBinary('h2load'))('h2load: 400 requests, 100 concurrent streams on each of 2 connections: all relayed, all counted, nothing given up', async () => {
    const admin = rig.sidecar.admin!;
    const before = await scrape(admin);
    const conn = rig.clientTee.connections.length;
    const { stdout } = await run('h2load', ['-n', '400', '-c', '2', '-m', '100', `${base()}/hello`]);
    expect(stdout).toMatch(/400 succeeded, 0 failed, 0 errored/);
    await expectSameBytes(conn, conn + 2);
    const was = sumMetric(before, 'response_total', { status_code: '200' });
    await waitForMetric(admin, 'response_total', { status_code: '200' }, (v) => v >= was + 400);
    const after = await scrape(admin);
    expect(sumMetric(after, 'response_total', { status_code: '200' }) - was).toBe(400);
    expect(sumMetric(after, 'request_total') - sumMetric(before, 'request_total')).toBe(400);
    expect(after.filter((s) => s.name === 'meshtap_observer_errors_total' && s.value > 0)).toEqual([]);
  }, 120_000);
});
