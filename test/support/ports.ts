/**
 * Free loopback ports and tool discovery. Everything of ours listens on port 0; `freePort` is
 * only for programs that cannot report the port they got (Prometheus's --web.listen-address).
 */
import { accessSync, constants } from 'node:fs';
import * as net from 'node:net';

/** A TCP port on 127.0.0.1 that was free a moment ago (bind 0, read, close). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address() as net.AddressInfo;
      s.close(() => resolve(port));
    });
  });
}

/** Splits `host:port` (or `[v6]:port`) as the sidecar prints it. */
export function splitAddr(addr: string): { host: string; port: number } {
  const i = addr.lastIndexOf(':');
  return { host: addr.slice(0, i).replace(/^\[|\]$/g, ''), port: Number(addr.slice(i + 1)) };
}

/** Whether an executable is on PATH; tests that need it skip with a reason otherwise. */
export function hasBinary(name: string): boolean {
  for (const dir of (process.env.PATH ?? '').split(':')) {
    try {
      accessSync(`${dir}/${name}`, constants.X_OK);
      return true;
    } catch {
      // not here
    }
  }
  return false;
}
