/**
 * The addon's TS face: loads lazily, and getOriginalDst answers undefined (not an error)
 * for a connection that was not intercepted, on IPv4 and IPv6 sockets alike.
 */
import { createServer, connect, type AddressInfo, type Server, type Socket } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { getOriginalDst, isNativeAvailable } from './index.js';
import { reportBpfSkip } from '../test/bpf-skip.js';

const available = isNativeAvailable();
if (!available) reportBpfSkip('native/index.test.ts', 'the addon is not built (bash scripts/build-native.sh)');

describe('native addon', () => {
  const closers: (Server | Socket)[] = [];
  afterEach(() => {
    for (const c of closers.splice(0)) (c as Socket).destroy?.() ?? (c as Server).close();
  });

  it.skipIf(!available)('getOriginalDst is undefined for a plain accepted socket', async () => {
    for (const host of ['127.0.0.1', '::1']) {
      const accepted = new Promise<Socket>((resolve) => {
        const srv = createServer(resolve);
        closers.push(srv);
        srv.listen(0, host, () => {
          const c = connect((srv.address() as AddressInfo).port, host);
          c.on('error', () => undefined);
          closers.push(c);
        });
      });
      const sock = await accepted;
      closers.push(sock);
      expect(getOriginalDst(sock)).toBeUndefined();
    }
  });
});
