/**
 * The js engine's reset: every socket it is given closes ('close' fires, the fd is freed), with an
 * RST wherever one can go. Real sockets on 127.0.0.1 port 0.
 */
import * as net from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { reset } from './sockets.js';

const opened: Array<net.Server | net.Socket> = [];
afterEach(() => {
  for (const o of opened.splice(0)) o instanceof net.Server ? o.close() : o.destroy();
});

/** A connected pair: `ours` (the socket reset() gets) and `peer`, what the other end sees. */
async function pair(): Promise<{ ours: net.Socket; peer: net.Socket; peerSaw: string[] }> {
  const peerSaw: string[] = [];
  let onPeer!: (s: net.Socket) => void;
  const accepted = new Promise<net.Socket>((resolve) => (onPeer = resolve));
  const server = net.createServer({ allowHalfOpen: true }, (s) => {
    s.on('end', () => peerSaw.push('end'));
    s.on('error', (err: NodeJS.ErrnoException) => peerSaw.push(err.code ?? err.message));
    opened.push(s);
    onPeer(s);
  });
  opened.push(server);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const ours = net.connect({ port: (server.address() as net.AddressInfo).port, host: '127.0.0.1', allowHalfOpen: true });
  opened.push(ours);
  await new Promise((resolve) => ours.once('connect', resolve));
  return { ours, peer: await accepted, peerSaw };
}

const until = async (ok: () => boolean, ms = 2_000) => {
  for (const end = Date.now() + ms; !ok() && Date.now() < end; ) await new Promise((r) => setTimeout(r, 5));
};

const closes = (s: net.Socket, ms = 2_000) =>
  new Promise<boolean>((resolve) => {
    const t = setTimeout(() => resolve(false), ms);
    s.once('close', () => {
      clearTimeout(t);
      resolve(true);
    });
  });

describe('reset (js engine)', () => {
  it('sends an RST on an open socket', async () => {
    const { ours, peer, peerSaw } = await pair();
    peer.resume();
    const closed = closes(ours);
    reset(ours);
    expect(await closed).toBe(true);
    await until(() => peerSaw.length > 0);
    expect(peerSaw).toEqual(['ECONNRESET']);
  });

  it('closes a socket whose FIN is still being shut down (Node would leak it: EINVAL, no close)', async () => {
    const { ours, peer, peerSaw } = await pair();
    peer.resume();
    const errors: string[] = [];
    ours.on('error', (err: NodeJS.ErrnoException) => errors.push(`${err.code} ${err.syscall}`));
    const closed = closes(ours);
    ours.end(); // the other side's FIN mirrored: the shutdown is requested, done on a later loop turn
    reset(ours); // then the other side fails, in the same turn
    expect(await closed).toBe(true);
    expect(errors).toEqual([]);
    await until(() => peerSaw.length > 0);
    expect(peerSaw).toEqual(['end']); // the FIN it was sent; nothing invented
  });

  it('resets a socket that ended with bytes still buffered in Node (no shutdown asked yet): it closes', async () => {
    const { ours, peer, peerSaw } = await pair();
    // The peer reads nothing: 16 MiB cannot all reach the kernel, so Node keeps some, and the
    // shutdown waits behind them. The RST can go (it discards them: the stream is cut, not ended).
    ours.write(Buffer.alloc(16 * 1024 * 1024, 1));
    ours.end();
    expect(ours.writableLength).toBeGreaterThan(0);
    const errors: string[] = [];
    ours.on('error', (err: NodeJS.ErrnoException) => errors.push(`${err.code} ${err.syscall}`));
    const closed = closes(ours);
    reset(ours);
    expect(await closed).toBe(true);
    expect(errors).toEqual([]);
    let got = 0;
    peer.on('data', (b: Buffer) => (got += b.length));
    await until(() => peerSaw.length > 0);
    expect(got).toBeLessThan(16 * 1024 * 1024);
  });
});
