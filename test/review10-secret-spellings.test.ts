/**
 * review10 ("a value hidden in one field is hidden in every field"): a hidden value was scrubbed
 * from other fields only as written or as encodeURIComponent spells it (upper-case hex). Percent-
 * encoding is case-insensitive and clients differ (.NET's HttpUtility.UrlEncode writes `%2f`;
 * others escape only some characters; forms write a space as `+`): `Authorization: Bearer
 * s3cr3tAB+cd/EF==` echoed as `?next=s3cr3tAB%2bcd%2fEF%3d%3d` showed in full in the event's
 * path, `:path` and `Referer`, and a `--path-regex` filter on it confirmed the guess. Real
 * sidecar processes on both engines, curl as the client, the tap read by the tap wire's client.
 */
import { execFile } from 'node:child_process';
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { TapEvent, TapRequest } from '../tap-protocol/index.js';
import { ENGINES } from './support/engines.js';
import { startSidecarProcess, type SidecarProcess } from './support/meshtap-process.js';
import { httpGet } from './support/metrics-scrape.js';
import { sidecarTapEvents } from './support/sidecar-tap-events.js';
import { until } from './support/until.js';

const run = promisify(execFile);
const TOKEN = 's3cr3tAB+cd/EF==';
/** The token in lower-case hex, partly escaped, and upper-case: three spellings a client may use. */
const LOWER = 's3cr3tAB%2bcd%2fEF%3d%3d';
const PARTLY = 's3cr3tAB%2Bcd/EF==';
const BASIC_PASSWORD = 'correct horse battery';

/** With bodies: the spellings are also looked for in bodies. */
const tapEvents = (sidecar: SidecarProcess, request: Partial<TapRequest>, act?: () => Promise<void>): Promise<TapEvent[]> =>
  sidecarTapEvents(sidecar, { bodies: true, ...request }, act);

describe.each(ENGINES)('review10: a hidden value in another percent-encoded spelling (%s engine)', (engine) => {
  let backend: http.Server;
  let sidecar: SidecarProcess;

  beforeAll(async () => {
    backend = http.createServer((req, res) => {
      req.resume();
      req.on('end', () => {
        res.setHeader('content-type', 'application/x-www-form-urlencoded');
        res.setHeader('location', `/done?t=${LOWER}`);
        res.end(`echo=${LOWER}&pw=${BASIC_PASSWORD.replace(/ /g, '+')}`);
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

  const send = async (path: string): Promise<void> => {
    // prettier-ignore
    await run('curl', ['-sS', '-o', '/dev/null', '-H', `Authorization: Bearer ${TOKEN}`, '-H', `Referer: http://app.example/cb?state=${LOWER}`,
      '--data-binary', `token=${PARTLY}&again=${LOWER}`, '-H', 'content-type: application/x-www-form-urlencoded', `http://${sidecar.forwards[0]!.address}${path}`]);
  };

  const visible = (e: TapEvent): string => JSON.stringify(e).toLowerCase();

  it('live and from the flight recorder, no spelling of the token shows in any field (path, headers, bodies)', async () => {
    const live = await tapEvents(sidecar, {}, () => send(`/cb?next=${LOWER}&p=${PARTLY}`));
    expect(live.map((e) => e.kind)).toEqual(['req', 'rsp', 'end']);
    const history = (await tapEvents(sidecar, { last: 10 })).filter((e) => e.path.startsWith('/cb'));
    expect(history).toHaveLength(1);
    for (const e of [...live, ...history]) {
      for (const spelling of [TOKEN, LOWER, PARTLY]) expect(visible(e)).not.toContain(spelling.toLowerCase());
      expect(e.path).toBe('/cb?next=[redacted]&p=[redacted]');
    }
    const end = live.find((e) => e.kind === 'end')!;
    expect(end.requestHeaders).toContainEqual(['Referer', 'http://app.example/cb?state=[redacted]']);
    expect(end.responseHeaders).toContainEqual(['location', '/done?t=[redacted]']);
  }, 60_000);

  it('a Basic password with spaces does not show as a form writes it (+ for a space)', async () => {
    const basic = Buffer.from(`alice:${BASIC_PASSWORD}`).toString('base64');
    const live = await tapEvents(sidecar, {}, async () => {
      await run('curl', ['-sS', '-o', '/dev/null', '-H', `Authorization: Basic ${basic}`, `http://${sidecar.forwards[0]!.address}/basic`]);
    });
    const end = live.find((e) => e.kind === 'end')!;
    expect(end.responseBody?.data).toBe(`echo=${LOWER}&pw=[redacted]`);
  }, 60_000);

  it('a --path-regex filter with the lower-case spelling does not confirm it; one with what the viewer sees matches', async () => {
    const guessed = await tapEvents(sidecar, { last: 20, matches: [[{ field: 'pathRegex', value: 'next=s3cr3tAB%2bcd' }]] });
    expect(guessed).toEqual([]);
    const shown = await tapEvents(sidecar, { last: 20, matches: [[{ field: 'pathRegex', value: 'next=\\[redacted\\]' }]] });
    expect(shown.length).toBeGreaterThan(0);
  }, 60_000);

  // Regression (review10, fixed by sec10): the metric labels scrubbed hidden values as written only
  // (the C++ port lacked scrubSecrets' other-spellings pass); a token spelled in lower-case hex as a
  // path segment (too short to fold into {id}) read in full in route_response_total{route=...}.
  it('metric labels: no spelling of the token in /metrics (route label of a path segment)', async () => {
    const short = 'k3y+9x/Qz';
    const segment = 'k3y%2b9x%2fQz';
    // prettier-ignore
    await run('curl', ['-sS', '-o', '/dev/null', '-H', `Authorization: Bearer ${short}`, `http://${sidecar.forwards[0]!.address}/v1/t/${segment}/items`]);
    let text = '';
    await until('the route series is scraped', async () => {
      text = (await httpGet(sidecar.admin!, '/metrics')).body;
      return /route="\/v1\/t\//.test(text);
    });
    expect(text).toContain('route="/v1/t/[redacted]/items"');
    expect(text.toLowerCase()).not.toContain(segment);
  }, 60_000);
});
