/**
 * review15: more spellings of a hidden value echoed in a captured body. ESAPI's encodeForJavaScript
 * writes `/` as `\x2F` and `+` as `\x2B` (a token put in a page's script); Go's encoding/json writes
 * the `&#43;` html/template makes of a `+` as `\u0026#43;` (an HTML fragment returned in JSON); a JSON
 * document sent as a string inside another doubles its escapes (PHP's `\/` becomes `\\\/`). Each
 * showed the `Authorization` token in full in the response body while the header read `[redacted]`.
 * Other escapes are left as written. Real sidecar processes on both engines, curl as the client.
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
const INNOCENT = String.raw`"other":"C:\\xampp\\x41 a\/b \u0026amp; \x2F"`;

/** Path → [response body as written, as the tap must show it]. */
const BODIES: Record<string, [string, string]> = {
  '/esapi': [String.raw`<script>var k = 'wJalrXUtnFEMI\x2FK7MDENG\x2BbPxRfiCY';</script>`, `<script>var k = '[redacted]';</script>`],
  '/go': [String.raw`{"html":"\u003cp\u003ewJalrXUtnFEMI/K7MDENG\u0026#43;bPxRfiCY\u003c/p\u003e",${INNOCENT}}`, String.raw`{"html":"\u003cp\u003e[redacted]\u003c/p\u003e",${INNOCENT}}`],
  '/twice': [String.raw`{"payload":"{\"k\":\"wJalrXUtnFEMI\\\/K7MDENG+bPxRfiCY\"}",${INNOCENT}}`, String.raw`{"payload":"{\"k\":\"[redacted]\"}",${INNOCENT}}`],
};

describe.each(ENGINES)('review15: a hidden value escaped by JavaScript encoders or twice, in a body (%s engine)', (engine) => {
  let backend: http.Server;
  let sidecar: SidecarProcess;

  beforeAll(async () => {
    backend = http.createServer((req, res) => {
      req.resume();
      req.on('end', () => res.end(BODIES[req.url ?? '']?.[0] ?? ''));
    });
    await new Promise<void>((r) => backend.listen(0, '127.0.0.1', r));
    // prettier-ignore
    sidecar = await startSidecarProcess(['--engine', engine, '--forward', `127.0.0.1:0=127.0.0.1:${(backend.address() as AddressInfo).port}`, '--admin', '127.0.0.1:0', '--tap', '127.0.0.1:0']);
  }, 60_000);
  afterAll(async () => {
    await sidecar?.stop();
    await new Promise((r) => backend?.close(r));
  });

  it('the response bodies read [redacted] where the token was; the other escapes stay as written', async () => {
    let shown: Record<string, string | undefined> = {};
    const tap = await openTapCollector(sidecar.tap!, { bodies: true });
    try {
      for (const path of Object.keys(BODIES)) await run('curl', ['-sS', '-o', '/dev/null', '-H', `Authorization: Bearer ${TOKEN}`, `http://${sidecar.forwards[0]!.address}${path}`]);
      const ends = await tap.waitForEnds(Object.keys(BODIES).length);
      shown = Object.fromEntries(ends.map((e) => [e.path, e.responseBody?.data]));
    } finally {
      tap.close();
    }
    expect(shown).toEqual(Object.fromEntries(Object.entries(BODIES).map(([path, [, redacted]]) => [path, redacted])));
  }, 60_000);
});
