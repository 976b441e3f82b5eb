/**
 * Regression ("redacted in one field ⇒ redacted in every field", session 6): a request with
 * `Authorization: Bearer T` and `?access_token=T` showed Authorization as [redacted] in
 * `meshtap tap -o json` but T in full in the path. Now, through the real sidecar process and the
 * real CLI: secret-named query parameters (`access_token`, `api_key`, `sig`, `X-Amz-Signature`,
 * …) read [redacted] in the path, `:path`, `Referer` and `Location`; the value of a redacted
 * header (the bearer credential, a cookie's value, an `x-api-key`) is scrubbed from the path,
 * other headers and captured bodies of the same event, and so is a secret body field's value
 * (`"password": …` echoed in a header); in every output format, the flight
 * recorder, recordings (and HAR made from them), `/metrics`. A `--path`, `--path-regex` or
 * `--header` filter cannot confirm a guessed secret. `--reveal-header NAME` reveals that header
 * and its value wherever it is; `--reveal-header '*'` reveals all. Replay never re-sends a
 * redacted parameter; mock matches it whatever its value.
 */
import * as http2 from 'node:http2';
import { createServer, type Server } from 'node:http';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import * as net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { TapEvent } from '../tap-protocol/index.js';
import { httpGet, waitForMetric } from './support/metrics-scrape.js';
import { runMeshtap, spawnMeshtap, startSidecarProcess, type SidecarProcess } from './support/meshtap-process.js';
import { h2Request, rawRequest } from './support/one-request.js';

const BEARER = 'bEaReR-0a1b2c3d4e5f';
const QUERY_TOKEN = 'qUeRy-9z8y7x6w5v';
const COOKIE = 'c00kie-sess-77aa88';
const API_KEY = 'aPiKeY-1234abcd';
const H2_KEY = 'h2-xapikey-5566ff';
const SIG = 'sIgNaTuRe-0f0f0f0f';
const PASSWORD = 'pAsSwOrD-in-body-42';
const SECRETS = [BEARER, QUERY_TOKEN, COOKIE, API_KEY, H2_KEY, SIG, PASSWORD];

/** h1: the bearer credential also as `state=`, the cookie value in a trace header, an API key in the Referer's query. */
const H1_PATH = `/cb?access_token=${QUERY_TOKEN}&state=${BEARER}&page=2`;
const H1_HEAD =
  `GET ${H1_PATH} HTTP/1.1\r\nHost: web\r\nAuthorization: Bearer ${BEARER}\r\nCookie: sid=${COOKIE}; lang=en\r\n` +
  `Referer: http://site.example/p?api_key=${API_KEY}&x=1\r\nX-Trace: ${COOKIE}\r\nConnection: close\r\n\r\n`;
/** h2: a signed URL and an x-api-key whose value is echoed in the path. */
const H2_PATH = `/h2/obj?X-Amz-Signature=${SIG}&echo=${H2_KEY}`;

let h1Origin: net.Server;
let h2Origin: http2.Http2Server;
let sidecar: SidecarProcess;
let dir: string;
/** Request targets the replay target received. */
const replayed: string[] = [];
let replayTarget: Server;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'meshtap-querysecrets-'));
  // Answers with the secrets echoed in a Location and a JSON body (a server that reflects its input).
  h1Origin = net.createServer((s) => {
    s.on('error', () => {});
    s.once('data', (d: Buffer) => {
      // Only the exchange that carried the secrets gets them back (the rule is per exchange).
      const body = d.toString('latin1').startsWith('GET /cb') ? JSON.stringify({ seen: BEARER, note: `cookie ${COOKIE}` }) : '{"ok":true}';
      s.end(`HTTP/1.1 302 Found\r\nLocation: /next?token=${QUERY_TOKEN}\r\ncontent-type: application/json\r\ncontent-length: ${body.length}\r\nconnection: close\r\n\r\n${body}`);
    });
  });
  await new Promise<void>((r) => h1Origin.listen(0, '127.0.0.1', r));
  h2Origin = http2.createServer();
  h2Origin.on('stream', (stream) => {
    stream.respond({ ':status': 200, 'content-type': 'text/plain' });
    stream.end(`signed by ${SIG}`);
  });
  await new Promise<void>((r) => h2Origin.listen(0, '127.0.0.1', r));
  replayTarget = createServer((req, res) => {
    replayed.push(req.url ?? '');
    req.resume();
    res.end('ok');
  });
  await new Promise<void>((r) => replayTarget.listen(0, '127.0.0.1', r));
  sidecar = await startSidecarProcess([
    '--forward', `127.0.0.1:0=127.0.0.1:${(h1Origin.address() as net.AddressInfo).port}`,
    '--forward', `127.0.0.1:0=127.0.0.1:${(h2Origin.address() as net.AddressInfo).port}`,
    '--admin', '127.0.0.1:0', '--tap', '127.0.0.1:0', '--recorder-bodies', '--workload', 'deploy/web', '--namespace', 'shop',
  ]);
  await rawRequest(sidecar.forwards[0]!.port, H1_HEAD);
  // A secret body field whose value a client also put in a header.
  const login = JSON.stringify({ user: 'ann', password: PASSWORD });
  await rawRequest(
    sidecar.forwards[0]!.port,
    `POST /login HTTP/1.1\r\nHost: web\r\nContent-Type: application/json\r\nX-Debug-Echo: ${PASSWORD}\r\nContent-Length: ${login.length}\r\nConnection: close\r\n\r\n${login}`,
  );
  await h2Request(sidecar.forwards[1]!.port, { ':method': 'GET', ':path': H2_PATH, ':authority': 'web', ':scheme': 'http', 'x-api-key': H2_KEY });
  await waitForMetric(sidecar.admin!, 'meshtap_recorder_events', {}, (v) => v >= 3);
}, 60_000);

afterAll(async () => {
  await sidecar?.stop();
  await Promise.all([h1Origin, h2Origin, replayTarget].map((s) => new Promise((r) => s?.close(r))));
  if (dir) await rm(dir, { recursive: true, force: true });
});

function expectNoSecret(text: string, except: string[] = []): void {
  for (const s of SECRETS) if (!except.includes(s)) expect(text.split('\n').filter((l) => l.includes(s)), `output contains '${s}'`).toEqual([]);
}

const events = (stdout: string): TapEvent[] => stdout.trim().split('\n').filter(Boolean).map((l) => JSON.parse(l) as TapEvent);

async function history(args: string[]): Promise<string> {
  const r = await runMeshtap(['tap', '--proxy', sidecar.tap!, '--last', '50', ...args]);
  expect([r.code, r.stderr]).toEqual([0, '']);
  return r.stdout;
}

describe('secrets in query strings and echoed secret values (real sidecar, real CLI)', { timeout: 90_000 }, () => {
  it('regression (token in the query string): -o json shows [redacted] in path, :path, Referer, Location and bodies, not only in Authorization', async () => {
    const out = await history(['-o', 'json', '--bodies']);
    expectNoSecret(out);
    const [h1, login, h2] = events(out);
    expect(JSON.parse(login!.requestBody!.data)).toEqual({ user: 'ann', password: '[redacted]' });
    expect(login!.requestHeaders).toContainEqual(['X-Debug-Echo', '[redacted]']);
    // A viewer without bodies does not see the body, nor its secret field's value in a header.
    expectNoSecret(await history(['-o', 'json']));
    expect(h1!.path).toBe('/cb?access_token=[redacted]&state=[redacted]&page=2');
    expect(h1!.requestHeaders).toEqual(expect.arrayContaining([
      ['Authorization', '[redacted]'], ['Cookie', '[redacted]'], ['Referer', 'http://site.example/p?api_key=[redacted]&x=1'], ['X-Trace', '[redacted]'],
    ]));
    expect(h1!.responseHeaders).toContainEqual(['Location', '/next?token=[redacted]']);
    expect(JSON.parse(h1!.responseBody!.data)).toEqual({ seen: '[redacted]', note: 'cookie [redacted]' });
    expect(h2!.path).toBe('/h2/obj?X-Amz-Signature=[redacted]&echo=[redacted]');
    expect(h2!.requestHeaders).toEqual(expect.arrayContaining([[':path', '/h2/obj?X-Amz-Signature=[redacted]&echo=[redacted]'], ['x-api-key', '[redacted]']]));
    expect(h2!.responseBody!.data).toBe('signed by [redacted]');
  });

  it('every output format, live and from the flight recorder, hides them', async () => {
    for (const o of [['-o', 'text'], ['-o', 'wide'], ['-o', 'yaml'], ['-o', 'jsonpath={.path} {.requestHeaders}']]) expectNoSecret(await history([...o, '--bodies']));
    const live = spawnMeshtap(['tap', '--proxy', sidecar.tap!, '-o', 'wide', '--bodies', '--limit', '1', '--path', '/cb']);
    await waitForMetric(sidecar.admin!, 'meshtap_tap_subscribers', {}, (v) => v === 1);
    await rawRequest(sidecar.forwards[0]!.port, H1_HEAD);
    const r = await live.done;
    expect(r.code).toBe(0);
    expect(r.stdout).toContain(':path=/cb?access_token=[redacted]&state=[redacted]&page=2');
    expectNoSecret(r.stdout);
  });

  it('regression (filters as an oracle): --path, --path-regex and --header with a guessed secret match nothing; the redacted form matches', async () => {
    for (const filter of [
      ['--path', `/cb?access_token=${QUERY_TOKEN}`],
      ['--path-regex', `.*${BEARER}.*`],
      ['--path-regex', `.*${H2_KEY}.*`],
      ['--header', `referer=http://site.example/p?api_key=${API_KEY}&x=1`],
      ['--header', `x-trace=${COOKIE}`],
    ]) expect(await history(['-o', 'json', ...filter]), filter.join(' ')).toBe('');
    const seen = events(await history(['-o', 'json', '--path', '/cb?access_token=[redacted]']));
    expect(seen.length).toBeGreaterThan(0);
  });

  it('--reveal-header NAME reveals that header and its value everywhere; --reveal-header * reveals everything', async () => {
    const one = events(await history(['-o', 'json', '--bodies', '--reveal-header', 'authorization']))[0]!;
    expect(one.requestHeaders).toContainEqual(['Authorization', `Bearer ${BEARER}`]);
    expect(one.path).toBe(`/cb?access_token=[redacted]&state=${BEARER}&page=2`);
    expect(JSON.parse(one.responseBody!.data).seen).toBe(BEARER);
    expectNoSecret(JSON.stringify(one), [BEARER]);
    // A filter may then use what the grant shows.
    expect(await history(['-o', 'json', '--reveal-header', 'authorization', '--path-regex', `.*state=${BEARER}.*`])).not.toBe('');
    const all = events(await history(['-o', 'json', '--bodies', '--reveal-header', '*']));
    expect(all[0]!.path).toBe(H1_PATH);
    expect(all[0]!.requestHeaders).toContainEqual(['X-Trace', COOKIE]);
    expect(all.find((e) => e.protocol === 'h2')!.path).toBe(H2_PATH);
  });

  it('recordings and HAR hold only [redacted]; replay does not re-send a redacted parameter, mock matches any value for it', async () => {
    const file = join(dir, 'rec.jsonl');
    const rec = await runMeshtap(['record', '--proxy', sidecar.tap!, '--last', '3', '-o', file]);
    expect([rec.code, rec.stderr]).toEqual([0, expect.any(String)]);
    const text = await readFile(file, 'utf8');
    expect(text).toContain('access_token=[redacted]');
    expectNoSecret(text);
    const har = await runMeshtap(['convert', file, '--format', 'har']);
    expect(har.code).toBe(0);
    expectNoSecret(har.stdout);

    const replay = await runMeshtap(['replay', file, '--target', `http://127.0.0.1:${(replayTarget.address() as net.AddressInfo).port}`, '--speed', 'max', '--path', '/cb']);
    expect(replayed, replay.stderr).toContain('/cb?page=2');
    for (const u of replayed) expect(u).not.toContain('redacted');

    const mock = spawnMeshtap(['mock', file, '--listen', '127.0.0.1:0']);
    try {
      const address = /listening (\S+)/.exec(await mock.waitForStderr(/listening \S+\n/))![1]!;
      const res = await fetch(`http://${address}/cb?access_token=any-other-value&state=whatever-else&page=2`, { redirect: 'manual' });
      expect(res.status).toBe(302);
      await res.text();
    } finally {
      mock.kill('SIGTERM');
      await mock.done;
    }
  });

  it('/metrics (route labels included) never carries them', async () => {
    const m = await httpGet(sidecar.admin!, '/metrics');
    expect(m.body).toContain('request_total');
    expectNoSecret(m.body);
  });
});
