/** Free loopback ports for peers that cannot listen on port 0 (haproxy, nginx, iperf3). */
import { createServer } from 'node:net';

/**
 * Asks the kernel for a free port on 127.0.0.1 and releases it. The small race (someone
 * else binds it before our peer does) shows up as a clear start failure, never as wrong data.
 */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const addr = srv.address();
      const port = typeof addr === 'object' && addr ? addr.port : 0;
      srv.close(() => resolve(port));
    });
  });
}
