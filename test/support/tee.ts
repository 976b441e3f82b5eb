/**
 * A recording TCP relay: sits between a real client and the sidecar (or the sidecar and a
 * real server) and records, per connection, what went each way: a SHA-256 and a length, and
 * the bytes themselves when `keepBytes` (off for multi-MiB runs). Putting one tee on each side
 * of the sidecar proves byte equality for any client/server, curl or grpc-js alike.
 * Half-close is mirrored; an error on one side resets the other.
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
    const conn: TeeConnection = { c2s, s2c, closed };
    connections.push(conn);
    for (const s of [client, upstream]) {
      sockets.add(s);
      s.once('close', () => sockets.delete(s));
    }
    upstream.once('connect', () => (conn.upstreamLocalPort = upstream.localPort));
    client.on('error', () => upstream.resetAndDestroy());
    upstream.on('error', () => client.resetAndDestroy());
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
    void closed.then(() => waiters.splice(0).forEach((w) => w()));
    waiters.splice(0).forEach((w) => w());
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as net.AddressInfo).port;
  return {
    port,
    connections,
    settled(n = 1, timeoutMs = 20_000) {
      return new Promise((resolve, reject) => {
        const t = setTimeout(() => reject(new Error(`tee: ${connections.length}/${n} connections, not all closed after ${timeoutMs}ms`)), timeoutMs);
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
