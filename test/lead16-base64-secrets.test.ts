/**
 * review16: a hidden value echoed base64-encoded in a captured body (an app's `state` blob, a
 * JWT-like cursor, a data: URL) read in full to anyone who decoded it, while the `Authorization`
 * header it came from read `[redacted]`. Real sidecar processes on both engines, curl as the client.
 */
import { execFile } from 'node:child_process';
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ENGINES } from './support/engines.js';
import { startSidecarProcess, type SidecarProcess } from './support/meshtap-process.js';
import { openTapCollector } from './support/tap-collector.js';

const run = promisify(execFile);
const TOKEN = 'wJalrXUtnFEMI/K7MDENG+bPxRfiCY';
const INNOCENT = Buffer.from('an innocent payload that stays as it was').toString('base64');

/** Path → the response body as written. */
const BODIES: Record<string, string> = {
  '/state': `{"state":"${Buffer.from(`v1:${TOKEN}:1733600000`).toString('base64')}","other":"${INNOCENT}"}`,
  '/cursor': `{"next":"${Buffer.from(JSON.stringify({ after: 42, auth: TOKEN })).toString('base64url')}","other":"${INNOCENT}"}`,
  '/data-url': `<img src="data:text/plain;base64,${Buffer.from(`token=${TOKEN}`).toString('base64')}"><p>${INNOCENT}</p>`,
};

/** Whether any base64 run of `text` decodes (at any of its 4 offsets) to bytes holding the token. */
function holdsToken(text: string): boolean {
  for (const r of text.match(/[A-Za-z0-9+/_-]{4,}/g) ?? []) {
    for (let skip = 0; skip < 4; skip++) if (Buffer.from(r.slice(skip).replace(/-/g, '+').replace(/_/g, '/'), 'base64').includes(TOKEN)) return true;
  }
  return false;
}

describe.each(ENGINES)('review16: a hidden value base64-encoded in a body (%s engine)', (engine) => {
  let backend: http.Server;
  let sidecar: SidecarProcess;

  beforeAll(async () => {
    backend = http.createServer((req, res) => {
      req.resume();
      req.on('end', () => res.end(BODIES[req.url ?? ''] ?? ''));
    });
    await new Promise<void>((r) => backend.listen(0, '127.0.0.1', r));
    // prettier-ignore
    sidecar = await startSidecarProcess(['--engine', engine, '--forward', `127.0.0.1:0=127.0.0.1:${(backend.address() as AddressInfo).port}`, '--admin', '127.0.0.1:0', '--tap', '127.0.0.1:0']);
  }, 60_000);
  afterAll(async () => {
    await sidecar?.stop();
    await new Promise((r) => backend?.close(r));
  });

  it('no body decodes to the token any more; the other blobs stay as written', async () => {
    const paths = Object.keys(BODIES);
    const tap = await openTapCollector(sidecar.tap!, { bodies: true });
    let ends;
    try {
      for (const path of paths) {
        const upload = `{"echo":"${Buffer.from(`x${TOKEN}`).toString('base64')}"}`;
        // prettier-ignore
        await run('curl', ['-sS', '-o', '/dev/null', '-H', `Authorization: Bearer ${TOKEN}`, '-H', 'content-type: application/json', '--data-binary', upload, `http://${sidecar.forwards[0]!.address}${path}`]);
      }
      ends = await tap.waitForEnds(paths.length);
    } finally {
      tap.close();
    }
    expect(ends.map((e) => e.path).sort()).toEqual([...paths].sort());
    for (const e of ends) {
      expect(holdsToken(BODIES[e.path!]!)).toBe(true);
      const response = e.responseBody?.data ?? '';
      const request = e.requestBody?.data ?? '';
      expect({ path: e.path, response: holdsToken(response), request: holdsToken(request) }).toEqual({ path: e.path, response: false, request: false });
      expect(response).toContain('[redacted]');
      expect(request).toContain('[redacted]');
      expect(response).toContain(INNOCENT);
    }
  }, 60_000);
});
