/**
 * A recording TCP relay: sits between a real client and the sidecar (or the sidecar and a
 * real server) and records, per connection, what went each way: a SHA-256 and a length, and
 * the bytes themselves when `keepBytes` (off for multi-MiB runs). Putting one tee on each side
 * of the sidecar proves byte equality for any client/server, curl or grpc-js alike.
 * Half-close is mirrored; an error on one side resets the other (see `resetSocket`).
 */
import { createHash, type Hash } from 'node:crypto';
import * as net from 'node:net';

export interface TeeDirection {
  bytes: number;
  /** Hex SHA-256 of everything that went this way (final once the connection closed). */
  digest(): string;
  /** The bytes, when the tee keeps them. */
  data(): Buffer;
  /** Whether a FIN travelled this way. */
  ended: boolean;
}

export interface TeeConnection {
  /** client -> server */
  readonly c2s: TeeDirection;
  /** server -> client */
  readonly s2c: TeeDirection;
  /** Local port of the tee's upstream socket (the `src` the next hop sees). */
  upstreamLocalPort?: number;
  readonly closed: Promise<void>;
  /** Whether both of the tee's sockets closed (`closed` resolved). */
  isClosed(): boolean;
  /** What each of the tee's two sockets saw so far (FIN, error, close), for a failure message. */
  state(): string;
}

export interface Tee {
  readonly port: number;
  readonly connections: TeeConnection[];
  /** Resolves when `n` connections were accepted and all of them closed on both sides. */
  settled(n?: number, timeoutMs?: number): Promise<void>;
  close(): Promise<void>;
}

function direction(keepBytes: boolean): TeeDirection & { add(b: Buffer): void } {
  const hash: Hash = createHash('sha256');
  const chunks: Buffer[] = [];
  return {
    bytes: 0,
    ended: false,
    add(b: Buffer) {
      this.bytes += b.length;
      hash.update(b);
      if (keepBytes) chunks.push(Buffer.from(b));
    },
    digest() {
      return hash.copy().digest('hex');
    },
    data() {
      if (!keepBytes) throw new Error('tee started without keepBytes');
      return Buffer.concat(chunks);
    },
  };
}

/**
 * An RST on `socket`, which closes in every case. Node cannot send one while the socket's own FIN
 * (`end()`, mirrored from the other side) waits to be shut down: libuv refuses (EINVAL) and Node
 * never closes the socket then — no 'close', so the connection would never count as closed
 * (session 14: the "not all closed" flake of bad-input-h2). That socket is closed instead: its
 * peer already has every byte and the FIN. The js engine's proxy/sockets.ts does the same.
 */
function resetSocket(socket: net.Socket): void {
  if (socket.destroyed) return;
  if (socket.writableEnded && !socket.writableFinished && socket.writableLength === 0) socket.destroy();
  else socket.resetAndDestroy();
}

/** One socket's story for a failure message: `FIN in`, `FIN out`, errors, `closed`. */
function socketState(s: net.Socket, seen: string[]): string {
  const parts = [...seen];
  if (s.readableEnded) parts.push('FIN in');
  if (s.writableFinished) parts.push('FIN out');
  else if (s.writableEnded) parts.push(`FIN out pending (${s.writableLength} B buffered)`);
  if (s.isPaused()) parts.push('paused');
  parts.push(s.destroyed ? 'destroyed' : 'open');
  return parts.join(', ');
}

/** Starts a relay on 127.0.0.1:0 to `target` on 127.0.0.1. */
export async function startTee(targetPort: number, options: { keepBytes?: boolean } = {}): Promise<Tee> {
  const keepBytes = options.keepBytes ?? true;
  const sockets = new Set<net.Socket>();
  const connections: TeeConnection[] = [];
  const waiters: Array<() => void> = [];
  const server = net.createServer({ allowHalfOpen: true, noDelay: true }, (client) => {
    const upstream = net.connect({ port: targetPort, host: '127.0.0.1', allowHalfOpen: true, noDelay: true });
    const c2s = direction(keepBytes);
    const s2c = direction(keepBytes);
    const closed = Promise.all([client, upstream].map((s) => new Promise<void>((resolve) => s.once('close', () => resolve())))).then(() => undefined);
    const seen = { client: [] as string[], upstream: [] as string[] };
    for (const [side, s] of [['client', client], ['upstream', upstream]] as const) {
      s.on('error', (err: NodeJS.ErrnoException) => seen[side].push(`error ${err.code ?? err.message}`));
      s.once('close', () => seen[side].push('close'));
    }
    const state = () => `client side [${socketState(client, seen.client)}], upstream side [${socketState(upstream, seen.upstream)}]`;
    let isClosed = false;
    const conn: TeeConnection = { c2s, s2c, closed, state, isClosed: () => isClosed };
    connections.push(conn);
    for (const s of [client, upstream]) {
      sockets.add(s);
      s.once('close', () => sockets.delete(s));
    }
    upstream.once('connect', () => (conn.upstreamLocalPort = upstream.localPort));
    client.on('error', () => resetSocket(upstream));
    upstream.on('error', () => resetSocket(client));
    client.on('data', (b: Buffer) => {
      c2s.add(b);
      if (!upstream.write(b)) client.pause();
    });
    upstream.on('drain', () => client.resume());
    upstream.on('data', (b: Buffer) => {
      s2c.add(b);
      if (!client.write(b)) upstream.pause();
    });
    client.on('drain', () => upstream.resume());
    client.on('end', () => {
      c2s.ended = true;
      upstream.end();
    });
    upstream.on('end', () => {
      s2c.ended = true;
      client.end();
    });
    client.on('close', () => upstream.destroyed || upstream.destroySoon());
    upstream.on('close', () => client.destroyed || client.destroySoon());
    void closed.then(() => {
      isClosed = true;
      waiters.splice(0).forEach((w) => w());
    });
    waiters.splice(0).forEach((w) => w());
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as net.AddressInfo).port;
  return {
    port,
    connections,
    settled(n = 1, timeoutMs = 20_000) {
      return new Promise((resolve, reject) => {
        const t = setTimeout(() => {
          // Name each connection still open and what its two sockets saw: which side never ended.
          const open = connections
            .map((c, i) => ({ c, i }))
            .filter(({ c }) => !c.isClosed())
            .map(({ c, i }) => `#${i} (c2s ${c.c2s.bytes} B${c.c2s.ended ? ' + FIN' : ''}, s2c ${c.s2c.bytes} B${c.s2c.ended ? ' + FIN' : ''}): ${c.state()}`);
          reject(new Error(`tee: ${connections.length}/${n} connections, not all closed after ${timeoutMs}ms; open: ${open.join('; ') || 'none'}`));
        }, timeoutMs);
        const check = () => {
          if (connections.length >= n) {
            void Promise.all(connections.map((c) => c.closed)).then(() => {
              clearTimeout(t);
              resolve();
            });
          } else waiters.push(check);
        };
        check();
      });
    },
    close() {
      for (const s of sockets) s.destroy();
      return new Promise((resolve) => server.close(() => resolve()));
    },
  };
}
