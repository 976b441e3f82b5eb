/**
 * The CLI's JSON answers from the tap API are bounded like its stream lines: a server (or a
 * proxy in between) that sends a JSON document past MAX_TAP_LINE_BYTES gets a clear protocol
 * error, not a CLI that buffers it all (regression: `listSidecars` and `getTapApiJson` read
 * the whole body with undici's `.json()`, so an endless answer grew the CLI without bound).
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { getTapApiJson, listSidecars, MAX_TAP_LINE_BYTES } from '../tap-api/cli/client.js';

let server: Server;
let base: string;

beforeAll(async () => {
  // A valid JSON document one MiB past the bound, streamed in 1 MiB pieces.
  server = createServer((req, res) => {
    res.writeHead(200, { 'content-type': 'application/json' });
    res.write('{"items":[],"pad":"');
    const piece = 'x'.repeat(1024 * 1024);
    let left = MAX_TAP_LINE_BYTES / piece.length + 1;
    const more = (): void => {
      while (left > 0) {
        left--;
        if (!res.write(piece)) return void res.once('drain', more);
      }
      res.end('"}');
    };
    res.on('error', () => {});
    more();
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

afterAll(async () => {
  server.closeAllConnections();
  await new Promise((resolve) => server.close(resolve));
});

describe('tap API JSON answers are bounded', () => {
  it('listSidecars refuses an answer past the bound', async () => {
    await expect(listSidecars({ url: base, namespace: 'default' })).rejects.toMatchObject({ code: 'MT_TAP_API_PROTOCOL', message: expect.stringContaining(`more than ${MAX_TAP_LINE_BYTES} bytes`) });
  });

  it('getTapApiJson refuses an answer past the bound', async () => {
    await expect(getTapApiJson(base, '/apis/tap.meshtap.dev/v1alpha1/edges', undefined)).rejects.toMatchObject({ code: 'MT_TAP_API_PROTOCOL' });
  });
});
