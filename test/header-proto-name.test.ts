/**
 * Header names are the traffic's, never object keys of ours: a request and a response carrying
 * headers named `__proto__` and `constructor` through a real sidecar keep them as ordinary
 * headers in every output: `tap -o json`, a recording, HAR, what `replay` sends and what `mock`
 * serves. Regression: record/headers.ts's headersToObject (what replay and mock send a header
 * list as) built a plain `{}`, so `__proto__` was silently dropped (assigning a string to it is
 * ignored) and `constructor` picked up Object's constructor function as a first value.
 */
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import * as net from 'node:net';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runMeshtap, spawnMeshtap, startSidecarProcess, type CliProcess, type SidecarProcess } from './support/meshtap-process.js';
import { ENGINES } from './support/engines.js';
import { rawRequest } from './support/one-request.js';
import { until } from './support/until.js';

/** Lower-cased name/value pairs of an HTTP/1 head (request or status line first). */
const headerPairs = (head: string): Array<[string, string]> =>
  head.split('\r\n\r\n')[0]!.split('\r\n').slice(1).map((l): [string, string] => [l.slice(0, l.indexOf(':')).toLowerCase(), l.slice(l.indexOf(':') + 1).trim()]);

const REQUEST_HEADERS: Array<[string, string]> = [['__proto__', 'req-proto'], ['constructor', 'req-ctor']];
const RESPONSE_HEADERS: Array<[string, string]> = [['__proto__', 'rsp-proto'], ['constructor', 'rsp-ctor']];
const RESPONSE = `HTTP/1.1 200 OK\r\ncontent-type: text/plain\r\n${RESPONSE_HEADERS.map(([n, v]) => `${n}: ${v}\r\n`).join('')}content-length: 3\r\nconnection: close\r\n\r\nok\n`;

/**
 * A server on raw sockets (no HTTP library between the test and the bytes): keeps every request
 * head it got and answers each with RESPONSE, which carries `__proto__` and `constructor`.
 */
function startOrigin(): Promise<{ server: net.Server; heads: string[]; url: string }> {
  const heads: string[] = [];
  const server = net.createServer((socket) => {
    let got = '';
    socket.on('error', () => {});
    socket.setEncoding('utf8').on('data', (d: string) => {
      got += d;
      if (!got.includes('\r\n\r\n')) return;
      heads.push(got);
      socket.end(RESPONSE);
    });
  });
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve({ server, heads, url: `http://127.0.0.1:${(server.address() as AddressInfo).port}` })));
}

/** GET `path` on `port` with `headers`, byte for byte; the answer's header pairs. */
async function get(port: number, path: string, headers: Array<[string, string]> = []): Promise<Array<[string, string]>> {
  const head = `GET ${path} HTTP/1.1\r\nhost: 127.0.0.1:${port}\r\n${headers.map(([n, v]) => `${n}: ${v}\r\n`).join('')}connection: close\r\n\r\n`;
  return headerPairs(await rawRequest(port, head));
}

describe.each(ENGINES)('headers named __proto__ and constructor (%s engine)', (engine) => {
  let origin: Awaited<ReturnType<typeof startOrigin>>;
  let replayTarget: Awaited<ReturnType<typeof startOrigin>>;
  let sidecar: SidecarProcess;
  let dir: string;
  let mock: CliProcess | undefined;

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'mt-proto-hdr-'));
    origin = await startOrigin();
    replayTarget = await startOrigin();
    sidecar = await startSidecarProcess(['--forward', `127.0.0.1:0=${origin.url.slice('http://'.length)}`, '--admin', '127.0.0.1:0', '--tap', '127.0.0.1:0', '--recorder-bodies', '--engine', engine]);
    const answered = await get(sidecar.forwards[0]!.port, '/proto?x=1', REQUEST_HEADERS);
    expect(answered).toEqual(expect.arrayContaining(RESPONSE_HEADERS));
  });

  afterAll(async () => {
    mock?.kill('SIGKILL');
    await sidecar?.stop();
    await new Promise((r) => origin?.server.close(r));
    await new Promise((r) => replayTarget?.server.close(r));
    await rm(dir, { recursive: true, force: true });
  });

  it('are in tap -o json, the recording, HAR, what replay sends and what mock serves', async () => {
    // tap -o json (the flight recorder's last exchange; the recorder may need a moment).
    let tapped: { requestHeaders?: Array<[string, string]>; responseHeaders?: Array<[string, string]> } | undefined;
    await until('the exchange in the flight recorder', async () => {
      const r = await runMeshtap(['tap', '--proxy', sidecar.tap!, '--last', '1', '-o', 'json']);
      expect(r.code, r.stderr).toBe(0);
      tapped = r.stdout.split('\n').filter(Boolean).map((l) => JSON.parse(l)).find((e) => e.kind === 'end' && e.path === '/proto?x=1');
      return tapped !== undefined;
    });
    expect(tapped!.requestHeaders).toEqual(expect.arrayContaining(REQUEST_HEADERS));
    expect(tapped!.responseHeaders).toEqual(expect.arrayContaining(RESPONSE_HEADERS));

    const file = join(dir, 'rec.jsonl');
    const rec = await runMeshtap(['record', '--proxy', sidecar.tap!, '--last', '1', '-o', file]);
    expect(rec.code, rec.stderr).toBe(0);
    const lines = (await readFile(file, 'utf8')).split('\n').filter(Boolean).map((l) => JSON.parse(l));
    expect(lines[1].requestHeaders).toEqual(expect.arrayContaining(REQUEST_HEADERS));
    expect(lines[1].responseHeaders).toEqual(expect.arrayContaining(RESPONSE_HEADERS));

    const har = await runMeshtap(['convert', file, '--format', 'har']);
    expect(har.code, har.stderr).toBe(0);
    const entry = JSON.parse(har.stdout).log.entries[0];
    const harPairs = (h: Array<{ name: string; value: string }>) => h.map(({ name, value }) => [name.toLowerCase(), value]);
    expect(harPairs(entry.request.headers)).toEqual(expect.arrayContaining(REQUEST_HEADERS));
    expect(harPairs(entry.response.headers)).toEqual(expect.arrayContaining(RESPONSE_HEADERS));

    // replay sends the recorded request headers, these two as they were (one value each).
    const replay = await runMeshtap(['replay', file, '--target', replayTarget.url]);
    expect(replay.code, replay.stdout + replay.stderr).toBe(0);
    expect(replayTarget.heads).toHaveLength(1);
    const replayed = headerPairs(replayTarget.heads[0]!);
    for (const [name, value] of REQUEST_HEADERS) expect(replayed.filter(([n]) => n === name)).toEqual([[name, value]]);

    // mock serves the recorded response headers, these two as they were.
    mock = spawnMeshtap(['mock', file, '--listen', '127.0.0.1:0']);
    const address = /listening (\S+)/.exec(await mock.waitForStderr(/listening \S+/))![1];
    const served = await get(Number(address!.slice(address!.lastIndexOf(':') + 1)), '/proto?x=1');
    for (const [name, value] of RESPONSE_HEADERS) expect(served.filter(([n]) => n === name)).toEqual([[name, value]]);
  }, 60_000);
});
