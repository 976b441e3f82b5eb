/**
 * The set-up of the secret suites: a backend that reads each request to its end and answers `ok`,
 * behind one sidecar process of `engine` with forward, admin and tap ports on loopback. Registers
 * its own beforeAll/afterAll in the calling describe block; the sidecar is `rig.sidecar` inside tests.
 */
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll } from 'vitest';
import type { Engine } from './engines.js';
import { startSidecarProcess, type SidecarProcess } from './meshtap-process.js';

export function useOkSidecar(engine: Engine): { readonly sidecar: SidecarProcess } {
  let backend: http.Server | undefined;
  let sidecar: SidecarProcess | undefined;
  beforeAll(async () => {
    backend = http.createServer((req, res) => {
      req.resume();
      req.on('end', () => res.end('ok'));
    });
    await new Promise<void>((r) => backend!.listen(0, '127.0.0.1', r));
    const port = (backend.address() as AddressInfo).port;
    sidecar = await startSidecarProcess(['--engine', engine, '--forward', `127.0.0.1:0=127.0.0.1:${port}`, '--admin', '127.0.0.1:0', '--tap', '127.0.0.1:0']);
  }, 60_000);
  afterAll(async () => {
    await sidecar?.stop();
    await new Promise((r) => (backend ? backend.close(r) : r(undefined)));
  });
  return {
    get sidecar(): SidecarProcess {
      if (sidecar === undefined) throw new Error('the sidecar is not started (used outside a test?)');
      return sidecar;
    },
  };
}
