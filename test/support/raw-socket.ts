/**
 * Raw TCP endpoints that record every byte: a client that writes exactly the bytes a test
 * crafted, and a scripted server whose connections the test drives by hand. Both sides'
 * records let a test assert that the sidecar changed nothing, byte for byte.
 */
import * as net from 'node:net';

/** One recorded socket: what it received, whether the peer half-closed or reset, and waits on those. */
export class RecordedSocket {
  private readonly chunks: Buffer[] = [];
  private length = 0;
  private readonly waiters: Array<() => void> = [];
  /** The peer sent FIN. */
  peerEnded = false;
  /** Error code if the socket failed (`ECONNRESET` when the peer reset). */
  errorCode?: string;
  isClosed = false;
  readonly closed: Promise<void>;

  constructor(readonly socket: net.Socket) {
    socket.setNoDelay(true);
    socket.on('data', (b: Buffer) => {
      this.chunks.push(b);
      this.length += b.length;
      this.wake();
    });
    socket.on('end', () => {
      this.peerEnded = true;
      this.wake();
    });
    socket.on('error', (err: NodeJS.ErrnoException) => {
      this.errorCode ??= err.code ?? err.message;
      this.wake();
    });
    this.closed = new Promise((resolve) =>
      socket.once('close', () => {
        this.isClosed = true;
        this.wake();
        resolve();
      }),
    );
  }

  private wake(): void {
    for (const w of this.waiters.splice(0)) w();
  }

  /** Everything received so far. */
  received(): Buffer {
    if (this.chunks.length > 1) this.chunks.splice(0, this.chunks.length, Buffer.concat(this.chunks, this.length));
    return this.chunks[0] ?? Buffer.alloc(0);
  }

  write(data: Buffer | string): Promise<void> {
    return new Promise((resolve, reject) => this.socket.write(data, (err) => (err ? reject(err) : resolve())));
  }

  /** Half-closes our side (FIN). */
  end(data?: Buffer | string): void {
    if (data === undefined) this.socket.end();
    else this.socket.end(data);
  }

  /** Resolves when `ready(received)` holds; rejects on timeout or when the socket closed first. */
  waitFor(ready: (received: Buffer) => boolean, what: string, timeoutMs = 15_000): Promise<Buffer> {
    return new Promise((resolve, reject) => {
      const t = setTimeout(() => reject(new Error(`timed out after ${timeoutMs}ms waiting for ${what}; got ${JSON.stringify(this.received().toString('latin1').slice(0, 400))}`)), timeoutMs);
      const check = () => {
        const r = this.received();
        if (ready(r)) {
          clearTimeout(t);
          resolve(r);
        } else if (this.isClosed) {
          clearTimeout(t);
          reject(new Error(`socket closed while waiting for ${what}; got ${JSON.stringify(r.toString('latin1').slice(0, 400))}`));
        } else this.waiters.push(check);
      };
      check();
    });
  }

  /** Waits until `n` bytes arrived. */
  waitForBytes(n: number, timeoutMs?: number): Promise<Buffer> {
    return this.waitFor((r) => r.length >= n, `${n} bytes`, timeoutMs);
  }

  /** Waits until the received bytes include `text`. */
  waitForText(text: string | Buffer, timeoutMs?: number): Promise<Buffer> {
    return this.waitFor((r) => r.includes(text), JSON.stringify(String(text)), timeoutMs);
  }

  /** Waits until the peer half-closed (or the socket closed). */
  waitForEnd(timeoutMs = 15_000): Promise<void> {
    return new Promise((resolve, reject) => {
      const t = setTimeout(() => reject(new Error(`no FIN after ${timeoutMs}ms`)), timeoutMs);
      const check = () => {
        if (this.peerEnded || this.isClosed) {
          clearTimeout(t);
          resolve();
        } else this.waiters.push(check);
      };
      check();
    });
  }

  /** Waits until the socket closed. */
  waitForClose(timeoutMs = 15_000): Promise<void> {
    return Promise.race([
      this.closed,
      new Promise<void>((_, reject) => setTimeout(() => reject(new Error(`socket still open after ${timeoutMs}ms`)), timeoutMs).unref()),
    ]);
  }

  destroy(): void {
    this.socket.destroy();
  }
}

/** Connects to 127.0.0.1:`port` with half-close allowed. */
export function connectRaw(port: number, host = '127.0.0.1'): Promise<RecordedSocket> {
  return new Promise((resolve, reject) => {
    const s = net.connect({ port, host, allowHalfOpen: true, noDelay: true });
    const rec = new RecordedSocket(s);
    s.once('connect', () => resolve(rec));
    s.once('error', reject);
  });
}

export interface ScriptedServer {
  readonly port: number;
  readonly connections: RecordedSocket[];
  /** Resolves with the `i`-th accepted connection (0-based), once it exists. */
  connection(i: number, timeoutMs?: number): Promise<RecordedSocket>;
  close(): Promise<void>;
}

/** A TCP server on 127.0.0.1:0 whose connections the test drives; `onConnection` may script replies. */
export async function startScriptedServer(onConnection?: (conn: RecordedSocket) => void): Promise<ScriptedServer> {
  const connections: RecordedSocket[] = [];
  const waiters: Array<() => void> = [];
  const server = net.createServer({ allowHalfOpen: true, noDelay: true }, (s) => {
    const rec = new RecordedSocket(s);
    connections.push(rec);
    for (const w of waiters.splice(0)) w();
    onConnection?.(rec);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    port: (server.address() as net.AddressInfo).port,
    connections,
    connection(i, timeoutMs = 15_000) {
      return new Promise((resolve, reject) => {
        const t = setTimeout(() => reject(new Error(`server: connection #${i} never arrived`)), timeoutMs);
        const check = () => {
          if (connections[i]) {
            clearTimeout(t);
            resolve(connections[i]);
          } else waiters.push(check);
        };
        check();
      });
    },
    close() {
      for (const c of connections) c.destroy();
      return new Promise((resolve) => server.close(() => resolve()));
    },
  };
}
