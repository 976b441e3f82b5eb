/**
 * The tap stream read with node:http2 (TapStream.wire, tap-h2-reader.ts) against a real grpc-js
 * server, as sidecars serve it: the bytes of every batch exactly, whatever the HTTP/2 framing
 * (one batch over many DATA frames, many batches in one read, a reader that falls behind), and
 * failures with the code and details grpc-js's own client reports (the CLI's error lines and
 * isSidecarStopped read them).
 */
import * as grpc from '@grpc/grpc-js';
import { afterEach, describe, expect, it } from 'vitest';
import { batchText, openTapWireStream, SIDECAR_STOPPED_DETAILS, TAP_SERVICE, type TapMessage } from './index.js';

let server: grpc.Server | undefined;

afterEach(() => {
  server?.forceShutdown();
  server = undefined;
});

/** A tap server whose Observe runs `handler`; resolves with its address. */
async function serve(handler: (call: grpc.ServerWritableStream<unknown, string>) => void): Promise<string> {
  server = new grpc.Server();
  server.addService(TAP_SERVICE, { Observe: handler });
  const port = await new Promise<number>((resolve, reject) => server!.bindAsync('127.0.0.1:0', grpc.ServerCredentials.createInsecure(), (e, p) => (e ? reject(e) : resolve(p))));
  return `127.0.0.1:${port}`;
}

const event = (i: number, pad = 0): string => JSON.stringify({ type: 'event', event: { kind: 'req', id: `1.${i}`, path: `/p/${i}`, note: 'é☃'.repeat(pad) } });

async function readWire(address: string, slow = false): Promise<{ messages: string[]; error?: grpc.ServiceError }> {
  const s = openTapWireStream(address, { matches: [], bodies: false });
  const messages: string[] = [];
  try {
    for await (const batch of s.wire!) {
      for (const m of batch) messages.push(m.toString('utf8'));
      if (slow) await new Promise((r) => setTimeout(r, 5));
    }
    return { messages };
  } catch (err) {
    return { messages, error: err as grpc.ServiceError };
  }
}

describe('tap stream over node:http2 (TapStream.wire)', () => {
  it('gives every message of every batch, byte for byte, from a batch of 300 KB to one-message batches, to a reader that falls behind', async () => {
    const batches = [
      Array.from({ length: 400 }, (_, i) => event(i, 250)), // ~300 KB: many DATA frames
      [event(1000)],
      ...Array.from({ length: 200 }, (_, i) => [event(2000 + 2 * i), event(2001 + 2 * i)]), // many per read
    ];
    const address = await serve((call) => {
      for (const b of batches) call.write(batchText(b));
      call.end();
    });
    for (const slow of [false, true]) {
      const got = await readWire(address, slow);
      expect(got.error).toBeUndefined();
      expect(got.messages).toEqual(batches.flat());
    }
  });

  it('a status from trailers: code and percent-decoded details, as grpc-js reports them (a stopped sidecar is told apart)', async () => {
    const address = await serve((call) => {
      call.write(batchText([event(1)]));
      call.emit('error', { code: grpc.status.UNAVAILABLE, details: `${SIDECAR_STOPPED_DETAILS} – 100 % é` });
    });
    const got = await readWire(address);
    expect(got.messages).toEqual([event(1)]);
    expect(got.error?.code).toBe(grpc.status.UNAVAILABLE);
    expect(got.error?.details).toBe(`${SIDECAR_STOPPED_DETAILS} – 100 % é`);
    const refused = await serve((call) => call.emit('error', { code: grpc.status.PERMISSION_DENIED, details: 'MT_GRANT_EXPIRED: grant expired' }));
    expect((await readWire(refused)).error).toMatchObject({ code: grpc.status.PERMISSION_DENIED, details: 'MT_GRANT_EXPIRED: grant expired' });
  });

  it('a server without the tap method (an older sidecar) is MT_TAP_WIRE; nothing listening is UNAVAILABLE', async () => {
    server = new grpc.Server();
    const port = await new Promise<number>((resolve, reject) => server!.bindAsync('127.0.0.1:0', grpc.ServerCredentials.createInsecure(), (e, p) => (e ? reject(e) : resolve(p))));
    const old = await readWire(`127.0.0.1:${port}`);
    expect(old.error?.code).toBe(grpc.status.FAILED_PRECONDITION);
    expect(old.error?.details).toMatch(/^MT_TAP_WIRE: the sidecar at 127\.0\.0\.1:\d+ speaks an older tap wire/);
    server.forceShutdown();
    const gone = await readWire(`127.0.0.1:${port}`);
    expect(gone.error?.code).toBe(grpc.status.UNAVAILABLE);
  });

  it('cancel ends the call on the server too, and the reader with CANCELLED', async () => {
    let serverSawCancel!: () => void;
    const cancelled = new Promise<void>((r) => (serverSawCancel = r));
    const address = await serve((call) => {
      const t = setInterval(() => call.write(batchText([event(1)])), 5);
      call.on('cancelled', () => {
        clearInterval(t);
        serverSawCancel();
      });
    });
    const s = openTapWireStream(address, { matches: [], bodies: false });
    let first = true;
    let error: grpc.ServiceError | undefined;
    try {
      for await (const _batch of s.wire!) {
        if (first) s.cancel();
        first = false;
      }
    } catch (err) {
      error = err as grpc.ServiceError;
    }
    await cancelled;
    expect(error?.code).toBe(grpc.status.CANCELLED);
  });
});
