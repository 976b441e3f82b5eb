/**
 * review14: a hidden value echoed in a captured body inside a JSON string, spelled with JSON
 * escapes, showed in full. PHP's json_encode writes `/` as `\/` by default, .NET's
 * System.Text.Json `+` as `\u002B`, Python's json.dumps non-ASCII characters as `\u00e4`: a
 * base64 key (`…/…+…`) sent as `Authorization: Bearer` and echoed by such a server read in the
 * response body while the header read `[redacted]`. Real sidecar processes on both engines,
 * curl as the client, the tap read live and from the flight recorder.
 */
import { execFile } from 'node:child_process';
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { TapEvent, TapRequest } from '../tap-protocol/index.js';
import { ENGINES } from './support/engines.js';
import { startSidecarProcess, type SidecarProcess } from './support/meshtap-process.js';
import { sidecarTapEvents } from './support/sidecar-tap-events.js';

const run = promisify(execFile);
const TOKEN = 'wJalrXUtnFEMI/K7MDENG+bPxRfiCY';
const KEY = 'pässwörd-1234';

/** How servers' JSON writers spell the two values (the JSON text as it goes on the wire). */
const PHP = 'wJalrXUtnFEMI\\/K7MDENG+bPxRfiCY';
const DOTNET = 'wJalrXUtnFEMI/K7MDENG\\u002BbPxRfiCY';
/** A URL holding the key with `+` percent-encoded, then written by PHP's json_encode. */
const NESTED = 'https:\\/\\/app\\/cb?t=wJalrXUtnFEMI\\/K7MDENG%2BbPxRfiCY';
const PYTHON = 'p\\u00e4ssw\\u00f6rd-1234';
/** An HTML page (OWASP's encoder: `/` as `&#x2F;`, `+` as `&#x2B;`; decimal references for `ä`, `ö`). */
const PAGE = '<input type="hidden" name="k" value="wJalrXUtnFEMI&#x2F;K7MDENG&#x2B;bPxRfiCY"><p>p&#228;ssw&#246;rd-1234</p><p>a &amp; b &lt;c&gt;</p>';
const RESPONSE = `{"php":"${PHP}","net":"${DOTNET}","next":"${NESTED}","py":"${PYTHON}","other":"a\\/b \\u00e9 ok"}`;

const tapEvents = (sidecar: SidecarProcess, request: Partial<TapRequest>, act?: () => Promise<void>): Promise<TapEvent[]> =>
  sidecarTapEvents(sidecar, { bodies: true, ...request }, act);

describe.each(ENGINES)('review14: a hidden value in a JSON-escaped spelling in a body (%s engine)', (engine) => {
  let backend: http.Server;
  let sidecar: SidecarProcess;

  beforeAll(async () => {
    backend = http.createServer((req, res) => {
      req.resume();
      req.on('end', () => {
        const isPage = req.url === '/page';
        res.setHeader('content-type', isPage ? 'text/html' : 'application/json');
        res.end(isPage ? PAGE : RESPONSE);
      });
    });
    await new Promise<void>((r) => backend.listen(0, '127.0.0.1', r));
    // prettier-ignore
    sidecar = await startSidecarProcess([
      '--engine', engine, '--forward', `127.0.0.1:0=127.0.0.1:${(backend.address() as AddressInfo).port}`, '--admin', '127.0.0.1:0', '--tap', '127.0.0.1:0', '--recorder-bodies',
    ]);
  }, 60_000);
  afterAll(async () => {
    await sidecar?.stop();
    await new Promise((r) => backend?.close(r));
  });

  const send = async (path = '/echo'): Promise<void> => {
    // prettier-ignore
    await run('curl', ['-sS', '-o', '/dev/null', '-H', `Authorization: Bearer ${TOKEN}`, '-H', `X-Api-Key: ${KEY}`,
      '-H', 'content-type: application/json', '--data-binary', `{"echo":"${PHP}"}`, `http://${sidecar.forwards[0]!.address}${path}`]);
  };

  it('live and from the flight recorder, the bodies read [redacted] where a JSON writer escaped the values; other escapes are left as written', async () => {
    const live = await tapEvents(sidecar, {}, send);
    const history = (await tapEvents(sidecar, { last: 10 })).filter((e) => e.path === '/echo');
    expect(history).toHaveLength(1);
    for (const end of [live.find((e) => e.kind === 'end')!, history[0]!]) {
      expect(end.requestBody?.data).toBe('{"echo":"[redacted]"}');
      expect(end.responseBody?.data).toBe('{"php":"[redacted]","net":"[redacted]","next":"https:\\/\\/app\\/cb?t=[redacted]","py":"[redacted]","other":"a\\/b \\u00e9 ok"}');
      // What any JSON reader (the dashboard, jq) makes of the bodies holds neither value.
      const parsed = JSON.stringify([JSON.parse(end.requestBody!.data), JSON.parse(end.responseBody!.data)]);
      expect(parsed).not.toContain(TOKEN);
      expect(parsed).not.toContain(KEY);
      expect(parsed).not.toContain('bPxRfiCY');
    }
  }, 60_000);

  it('an HTML page spelling them with character references reads [redacted] there; other references are left as written', async () => {
    const live = await tapEvents(sidecar, {}, () => send('/page'));
    const end = live.find((e) => e.kind === 'end')!;
    expect(end.responseBody?.data).toBe('<input type="hidden" name="k" value="[redacted]"><p>[redacted]</p><p>a &amp; b &lt;c&gt;</p>');
  }, 60_000);
});
