/**
 * gRPC transparency beyond the happy path, grpc-js on both ends through the real sidecar process
 * (on the vitest project's engine: js, and native in the `native` project): every status code on
 * 100+ concurrent unary calls multiplexed on one connection (OK answers and trailers-only errors
 * mixed), client streaming and bidi calls that fail (trailers-only, and status in trailers after
 * messages), and all four call kinds with gzip-compressed messages. Tees prove the bytes both
 * ways; the tap must report each call's status, message and counts, and /metrics must classify
 * each status as Linkerd does (DESIGN §6).
 * The happy paths, deadlines and percent-decoding are in transparency-grpc.test.ts.
 */
import * as grpc from '@grpc/grpc-js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { TapEvent } from '../tap-protocol/index.js';
import { ECHO_SERVICE, echoClient, startGrpcEcho, type GrpcEcho } from './support/grpc-echo.js';
import { scrape, sumMetric } from './support/metrics-scrape.js';
import type { Tee } from './support/tee.js';
import { startTeeRig, type TeeRig } from './support/transparency-rig.js';

const PREFIX = 5;
const GZIP = 2; // grpc-js compression algorithm id
/** gRPC codes counted as failures (DESIGN §6). */
const FAILURE_CODES = new Set([2, 4, 7, 13, 14, 15]);
const raw = (b: Buffer) => b;

interface Rig {
  origin: GrpcEcho;
  rig: TeeRig;
}

async function startRig(serverOptions: grpc.ServerOptions = {}): Promise<Rig> {
  const origin = await startGrpcEcho(serverOptions);
  const rig = await startTeeRig(origin.port);
  return { origin, rig };
}

/** Runs `body` with a fresh client (one connection), closes it, and proves both tees saw the same bytes. */
async function withClient<T>(rig: TeeRig, body: (c: grpc.Client) => Promise<T>, options: grpc.ClientOptions = {}): Promise<T> {
  const conn = rig.clientTee.connections.length;
  const client = echoClient(`127.0.0.1:${rig.clientTee.port}`, options);
  try {
    return await body(client);
  } finally {
    client.close();
    await expectSameBytes(rig.clientTee, rig.serverTee, conn);
  }
}

async function expectSameBytes(clientTee: Tee, serverTee: Tee, conn: number): Promise<void> {
  await clientTee.settled(conn + 1);
  await serverTee.settled(conn + 1);
  const a = clientTee.connections[conn]!;
  const b = serverTee.connections[conn]!;
  expect(a.c2s.bytes).toBeGreaterThan(0);
  expect({ bytes: b.c2s.bytes, sha: b.c2s.digest() }).toEqual({ bytes: a.c2s.bytes, sha: a.c2s.digest() });
  expect({ bytes: b.s2c.bytes, sha: b.s2c.digest() }).toEqual({ bytes: a.s2c.bytes, sha: a.s2c.digest() });
}

function grpcEnd(e: TapEvent) {
  const { requestBytes, responseBytes, requestMessages, responseMessages, grpcStatus, grpcMessage, status, error, protocol } = e;
  return { requestBytes, responseBytes, requestMessages, responseMessages, grpcStatus, grpcMessage, status, error, protocol };
}

describe('gRPC errors and compression through the real sidecar process (grpc-js both ends)', () => {
  let plain: Rig;
  let gzip: Rig;
  beforeAll(async () => {
    plain = await startRig();
    gzip = await startRig({ 'grpc.default_compression_algorithm': GZIP });
  }, 60_000);
  afterAll(async () => {
    for (const r of [plain, gzip]) {
      await r?.rig.close();
      await r?.origin.close();
    }
  });

  it('128 concurrent unary calls on one connection, every status code 0–16 (errors trailers-only): each reported and classified', async () => {
    const { rig } = plain;
    const before = await scrape(rig.sidecar.admin!);
    const from = rig.tap.events.length;
    const calls = Array.from({ length: 128 }, (_, i) => ({ i, code: i % 17, text: i % 17 === 0 ? `ok-${i}` : `fail:${i % 17}:code ${i % 17} call ${i}` }));
    const results = await withClient(rig, (c) =>
      Promise.all(
        calls.map(
          ({ text }) =>
            new Promise<{ code: number; details: string; reply?: string }>((resolve) =>
              c.makeUnaryRequest(ECHO_SERVICE.Unary.path, raw, raw, Buffer.from(text), (err, v) => resolve(err ? { code: err.code, details: err.details } : { code: 0, details: '', reply: v!.toString() })),
            ),
        ),
      ),
    );
    expect(results.map((r) => r.code)).toEqual(calls.map((c) => c.code));

    const ends = await rig.tap.waitForEnds(calls.length, (e) => e.path === ECHO_SERVICE.Unary.path && rig.tap.events.indexOf(e) >= from);
    expect(new Set(ends.map((e) => e.id.split('.')[0])).size).toBe(1); // multiplexed on one connection
    const seen = ends.map((e) => grpcEnd(e)).sort((a, b) => (a.requestBytes ?? 0) - (b.requestBytes ?? 0) || (a.grpcStatus ?? 0) - (b.grpcStatus ?? 0));
    const expected = calls
      .map(({ code, text }) => ({
        requestBytes: text.length + PREFIX,
        responseBytes: code === 0 ? text.length + PREFIX : 0,
        requestMessages: 1,
        responseMessages: code === 0 ? 1 : 0,
        grpcStatus: code,
        grpcMessage: code === 0 ? 'OK' : text.slice(`fail:${code}:`.length),
        status: 200,
        error: undefined,
        protocol: 'grpc',
      }))
      .sort((a, b) => a.requestBytes - b.requestBytes || a.grpcStatus - b.grpcStatus);
    expect(seen).toEqual(expected);

    const after = await scrape(rig.sidecar.admin!);
    for (let code = 0; code <= 16; code++) {
      const n = calls.filter((c) => c.code === code).length;
      const classification = FAILURE_CODES.has(code) ? 'failure' : 'success';
      const delta = (s: typeof after) => sumMetric(s, 'response_total', { grpc_status: String(code), classification });
      expect(delta(after) - delta(before), `response_total{grpc_status="${code}",classification="${classification}"}`).toBe(n);
    }
  }, 60_000);

  it('client streaming that fails after 12 messages (PERMISSION_DENIED, trailers-only)', async () => {
    const { rig } = plain;
    const from = rig.tap.events.length;
    const msgs = [...Array.from({ length: 11 }, (_, i) => `part-${i}`), 'fail:7:not yours'];
    const err = await withClient(rig, (c) =>
      new Promise<grpc.ServiceError>((resolve) => {
        const call = c.makeClientStreamRequest(ECHO_SERVICE.Client.path, raw, raw, (e) => resolve(e!));
        for (const m of msgs) call.write(Buffer.from(m));
        call.end();
      }),
    );
    expect([err.code, err.details]).toEqual([grpc.status.PERMISSION_DENIED, 'not yours']);
    const [end] = await rig.tap.waitForEnds(1, (e) => e.path === ECHO_SERVICE.Client.path && rig.tap.events.indexOf(e) >= from);
    expect(rig.tap.exchange(end.id).map((e) => e.kind)).toEqual(['req', 'rsp', 'end']);
    expect(end.responseHeaders).toContainEqual(['grpc-status', '7']);
    expect(grpcEnd(end)).toEqual({
      requestBytes: msgs.reduce((n, m) => n + m.length + PREFIX, 0), responseBytes: 0, requestMessages: 12, responseMessages: 0,
      grpcStatus: 7, grpcMessage: 'not yours', status: 200, error: undefined, protocol: 'grpc',
    });
  });

  it('bidi that fails after 5 echoes (RESOURCE_EXHAUSTED in the trailers after the messages)', async () => {
    const { rig } = plain;
    const from = rig.tap.events.length;
    const sizes = [10, 2000, 70_000, 1, 300];
    const err = await withClient(rig, (c) =>
      new Promise<grpc.ServiceError>((resolve) => {
        const call = c.makeBidiStreamRequest(ECHO_SERVICE.Bidi.path, raw, raw);
        let echoed = 0;
        call.on('data', () => {
          if (++echoed === sizes.length) call.write(Buffer.from('fail:8:slow down, caf\u00e9'));
        });
        call.on('error', (e: grpc.ServiceError) => resolve(e));
        for (const [i, n] of sizes.entries()) call.write(Buffer.alloc(n, i + 1));
      }),
    );
    expect([err.code, err.details]).toEqual([grpc.status.RESOURCE_EXHAUSTED, 'slow down, caf\u00e9']);
    const [end] = await rig.tap.waitForEnds(1, (e) => e.path === ECHO_SERVICE.Bidi.path && rig.tap.events.indexOf(e) >= from);
    expect(end.trailers).toContainEqual(['grpc-status', '8']);
    const echoedBytes = sizes.reduce((n, s) => n + s + PREFIX, 0);
    const failBytes = Buffer.byteLength('fail:8:slow down, caf\u00e9') + PREFIX;
    // grpc-js's client resets the stream after the status arrives, or half-closes: either way the
    // call passed through complete, status and all.
    expect(grpcEnd(end)).toEqual({
      requestBytes: echoedBytes + failBytes, responseBytes: echoedBytes, requestMessages: 6, responseMessages: 5,
      grpcStatus: 8, grpcMessage: 'slow down, caf\u00e9', status: 200, error: undefined, protocol: 'grpc',
    });
  });

  it('gzip-compressed messages, all four call kinds: counted per message, bytes as on the wire', async () => {
    const { rig } = gzip;
    const options = { 'grpc.default_compression_algorithm': GZIP };
    const big = (n: number, i: number) => Buffer.from(`${i}:`.padEnd(n, 'z'));
    const from = rig.tap.events.length;
    await withClient(
      rig,
      async (c) => {
        await new Promise<void>((resolve, reject) => c.makeUnaryRequest(ECHO_SERVICE.Unary.path, raw, raw, big(50_000, 0), (e) => (e ? reject(e) : resolve())));
        await new Promise<void>((resolve, reject) => {
          const call = c.makeServerStreamRequest(ECHO_SERVICE.Server.path, raw, raw, Buffer.from('7'));
          call.on('data', () => {});
          call.on('error', reject);
          call.on('end', () => resolve());
        });
        await new Promise<void>((resolve, reject) => {
          const call = c.makeClientStreamRequest(ECHO_SERVICE.Client.path, raw, raw, (e) => (e ? reject(e) : resolve()));
          for (let i = 0; i < 9; i++) call.write(big(20_000, i));
          call.end();
        });
        await new Promise<void>((resolve, reject) => {
          const call = c.makeBidiStreamRequest(ECHO_SERVICE.Bidi.path, raw, raw);
          call.on('data', () => {});
          call.on('error', reject);
          call.on('end', () => resolve());
          for (let i = 0; i < 4; i++) call.write(big(30_000, i));
          call.end();
        });
      },
      options,
    );
    const ends = await rig.tap.waitForEnds(4, (e) => rig.tap.events.indexOf(e) >= from);
    const byPath = new Map(ends.map((e) => [e.path, e]));
    const counts = (path: string) => {
      const e = byPath.get(path)!;
      return [e.requestMessages, e.responseMessages, e.grpcStatus, e.error, e.protocol];
    };
    expect(counts(ECHO_SERVICE.Unary.path)).toEqual([1, 1, 0, undefined, 'grpc']);
    expect(counts(ECHO_SERVICE.Server.path)).toEqual([1, 7, 0, undefined, 'grpc']);
    expect(counts(ECHO_SERVICE.Client.path)).toEqual([9, 1, 0, undefined, 'grpc']);
    expect(counts(ECHO_SERVICE.Bidi.path)).toEqual([4, 4, 0, undefined, 'grpc']);
    // Compressed on the wire: far fewer bytes than the messages' own sizes.
    expect(byPath.get(ECHO_SERVICE.Unary.path)!.requestBytes).toBeLessThan(5000);
    expect(byPath.get(ECHO_SERVICE.Client.path)!.requestBytes).toBeLessThan(9 * 5000);
    expect(byPath.get(ECHO_SERVICE.Unary.path)!.requestHeaders).toContainEqual(['grpc-encoding', 'gzip']);
  });

  it('followed every connection above without giving up on any', async () => {
    for (const { rig } of [plain, gzip]) {
      const samples = await scrape(rig.sidecar.admin!);
      expect(samples.filter((x) => x.name === 'meshtap_observer_errors_total' && x.value > 0)).toEqual([]);
    }
  });
});
