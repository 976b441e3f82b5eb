/**
 * The tap wire, version 2 (tap-protocol/tap-wire.ts): a sidecar sends what queued up for a
 * subscriber as one gRPC message (a JSON array of tap messages) instead of one message per event,
 * and a mix of versions fails with a line that says what to upgrade (MT_TAP_WIRE) instead of a
 * bare UNIMPLEMENTED or garbage. Real `meshtap proxy` processes and real grpc-js callers.
 */
import * as grpc from '@grpc/grpc-js';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openTapBatchStream, openTapStream, type TapMessage } from '../tap-protocol/index.js';
import { runMeshtap, startSidecarProcess, type SidecarProcess } from './support/meshtap-process.js';

let backend: Server;
let sidecar: SidecarProcess;

beforeAll(async () => {
  backend = createServer((req, res) => res.end(`ok ${req.url}`));
  await new Promise<void>((r) => backend.listen(0, '127.0.0.1', r));
  const port = (backend.address() as AddressInfo).port;
  sidecar = await startSidecarProcess(['--forward', `127.0.0.1:0=127.0.0.1:${port}`, '--tap', '127.0.0.1:0']);
});

afterAll(async () => {
  await sidecar?.stop();
  await new Promise((r) => backend?.close(r));
});

describe('tap wire v2', () => {
  it('sends what is queued as one batch: a --last 12 history and its end arrive in one gRPC message, in order', async () => {
    for (let i = 0; i < 12; i++) await (await fetch(`http://${sidecar.forwards[0]!.address}/batch/${i}`)).text();
    const s = openTapBatchStream(sidecar.tap!, { matches: [[{ field: 'pathPrefix', value: '/batch/' }]], bodies: false, last: 12 }, { deadlineMs: 15_000 });
    const batches: TapMessage[][] = [];
    for await (const b of s.batches) batches.push(b);
    expect(batches.length).toBe(1);
    const [batch] = batches;
    expect(batch!.map((m) => (m.type === 'event' ? m.event.path : m.type))).toEqual([...Array.from({ length: 12 }, (_, i) => `/batch/${i}`), 'history-end']);
    // openTapStream reads the same stream message by message
    const flat: TapMessage[] = [];
    for await (const m of openTapStream(sidecar.tap!, { matches: [[{ field: 'pathPrefix', value: '/batch/' }]], bodies: false, last: 12 }, { deadlineMs: 15_000 }).messages) flat.push(m);
    expect(flat).toEqual(batch);
  });

  it('refuses a version 1 caller with MT_TAP_WIRE (FAILED_PRECONDITION), not a bare UNIMPLEMENTED', async () => {
    const client = new grpc.Client(sidecar.tap!, grpc.credentials.createInsecure());
    const call = client.makeServerStreamRequest(
      '/meshtap.tap.v1.Tap/Observe',
      (v: unknown) => Buffer.from(JSON.stringify(v)),
      (b: Buffer) => JSON.parse(b.toString()) as unknown,
      { matches: [], bodies: false },
      new grpc.Metadata(),
      { deadline: Date.now() + 15_000 },
    );
    const err = await new Promise<grpc.ServiceError>((resolve) => {
      call.on('data', () => undefined);
      call.on('error', resolve);
    });
    client.close();
    expect(err.code).toBe(grpc.status.FAILED_PRECONDITION);
    expect(err.details).toMatch(/^MT_TAP_WIRE: this sidecar speaks tap wire v2/);
  });

  it('a v2 client tapping something that does not serve v2 (a v1 sidecar) says MT_TAP_WIRE: the CLI prints one line and exits 1', async () => {
    // A gRPC server without the v2 method answers UNIMPLEMENTED, as a v1 sidecar does.
    const old = new grpc.Server();
    const port = await new Promise<number>((resolve, reject) => old.bindAsync('127.0.0.1:0', grpc.ServerCredentials.createInsecure(), (e, p) => (e ? reject(e) : resolve(p))));
    try {
      let caught: unknown;
      try {
        for await (const _m of openTapStream(`127.0.0.1:${port}`, { matches: [], bodies: false }, { deadlineMs: 15_000 }).messages) break;
      } catch (err) {
        caught = err;
      }
      expect((caught as grpc.ServiceError).code).toBe(grpc.status.FAILED_PRECONDITION);
      expect((caught as grpc.ServiceError).details).toMatch(/^MT_TAP_WIRE: the sidecar at 127\.0\.0\.1:\d+ speaks an older tap wire/);
      const cli = await runMeshtap(['tap', '--proxy', `127.0.0.1:${port}`, '-o', 'json'], { timeoutMs: 20_000 });
      expect(cli.code).toBe(1);
      expect(cli.stdout).toBe('');
      expect(cli.stderr.trim().split('\n')).toHaveLength(1);
      expect(cli.stderr).toMatch(/MT_TAP_WIRE: the sidecar at .* speaks an older tap wire .* run the same meshtap version on both ends/);
    } finally {
      old.forceShutdown();
    }
  });
});
