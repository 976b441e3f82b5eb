/**
 * Regressions for URL credentials (issue 10, items 1 and 2), through the real sidecar process
 * and the real CLI: `user:password@` in an HTTP/1 `Host` header, an h2 `:authority` or `host`,
 * an absolute-form target, a `Referer`, and a password that itself contains `@`. Whatever a
 * viewer can read — `tap -o json`, `-o wide`, the flight recorder (`--last`), a recording made
 * with `--no-bodies`, `/metrics` labels — shows `[redacted]@`, and a `--header host=…` filter
 * cannot confirm a guessed password.
 */
import * as http2 from 'node:http2';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import * as net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { TapEvent } from '../tap-protocol/index.js';
import { httpGet, waitForMetric } from './support/metrics-scrape.js';
import { runMeshtap, spawnMeshtap, startSidecarProcess, type SidecarProcess } from './support/meshtap-process.js';
import { h2Request, rawRequest } from './support/one-request.js';

/** Every secret a request below carries; none may appear in any output. */
const SECRETS = ['hunter2', 'p@ss', 'ss@web', 'h2secret', 'h2hostpw', 'refpw'];

let h1Origin: net.Server;
let h2Origin: http2.Http2Server;
let sidecar: SidecarProcess;
let dir: string;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'meshtap-urlcreds-'));
  // A backend that answers every HTTP/1 request and closes: no client library touches the Host header.
  h1Origin = net.createServer((s) => {
    s.on('data', () => {});
    s.on('error', () => {});
    s.once('data', () => s.end('HTTP/1.1 200 OK\r\ncontent-length: 2\r\nconnection: close\r\n\r\nok'));
  });
  await new Promise<void>((r) => h1Origin.listen(0, '127.0.0.1', r));
  h2Origin = http2.createServer();
  h2Origin.on('stream', (stream) => {
    stream.respond({ ':status': 200 });
    stream.end('ok');
  });
  await new Promise<void>((r) => h2Origin.listen(0, '127.0.0.1', r));
  sidecar = await startSidecarProcess([
    '--forward', `127.0.0.1:0=127.0.0.1:${(h1Origin.address() as net.AddressInfo).port}`,
    '--forward', `127.0.0.1:0=127.0.0.1:${(h2Origin.address() as net.AddressInfo).port}`,
    '--admin', '127.0.0.1:0', '--tap', '127.0.0.1:0', '--workload', 'deploy/web', '--namespace', 'shop',
  ]);
  const h1 = sidecar.forwards[0]!.port;
  const h2 = sidecar.forwards[1]!.port;
  await rawRequest(h1, 'GET /host-creds HTTP/1.1\r\nHost: admin:hunter2@web\r\nReferer: http://me:refpw@site.example/page\r\nConnection: close\r\n\r\n');
  await rawRequest(h1, 'GET http://user:p@ss@web/absolute HTTP/1.1\r\nHost: web\r\nConnection: close\r\n\r\n');
  await rawRequest(h1, 'GET /at-in-password HTTP/1.1\r\nHost: user:p@ss@web\r\nConnection: close\r\n\r\n');
  await h2Request(h2, { ':method': 'GET', ':path': '/h2-authority', ':authority': 'admin:h2secret@web', ':scheme': 'http' });
  await h2Request(h2, { ':method': 'GET', ':path': '/h2-host', host: 'admin:h2hostpw@web', ':scheme': 'http' });
  await waitForMetric(sidecar.admin!, 'meshtap_recorder_events', {}, (v) => v >= 5);
}, 60_000);

afterAll(async () => {
  await sidecar?.stop();
  await new Promise((r) => h1Origin?.close(r));
  await new Promise((r) => h2Origin?.close(r));
  if (dir) await rm(dir, { recursive: true, force: true });
});

function expectNoSecret(text: string): void {
  for (const s of SECRETS) expect(text, `output contains '${s}'`).not.toContain(s);
}

async function history(args: string[]): Promise<string> {
  const r = await runMeshtap(['tap', '--proxy', sidecar.tap!, '--last', '50', ...args]);
  expect([r.code, r.stderr]).toEqual([0, '']);
  return r.stdout;
}

describe('URL credentials never reach a tap viewer (real sidecar, real CLI)', { timeout: 60_000 }, () => {
  it('regression (credentials in the HTTP/1 Host header): requestHeaders read [redacted]@ in -o json, not only authority', async () => {
    const out = await history(['-o', 'json']);
    expectNoSecret(out);
    const events = out.trim().split('\n').map((l) => JSON.parse(l) as TapEvent);
    const hostCreds = events.find((e) => e.path === '/host-creds')!;
    expect(hostCreds.authority).toBe('[redacted]@web');
    expect(hostCreds.requestHeaders).toContainEqual(['Host', '[redacted]@web']);
    // A URL in another header (Referer) loses its userinfo too.
    expect(hostCreds.requestHeaders).toContainEqual(['Referer', 'http://[redacted]@site.example/page']);
  });

  it('regression (password containing @): everything up to the last @ of the authority is redacted', async () => {
    const out = await history(['-o', 'json']);
    expectNoSecret(out);
    const events = out.trim().split('\n').map((l) => JSON.parse(l) as TapEvent);
    expect(events.find((e) => e.path.endsWith('/absolute'))!.path).toBe('http://[redacted]@web/absolute');
    const atHost = events.find((e) => e.path === '/at-in-password')!;
    expect(atHost.authority).toBe('[redacted]@web');
    expect(atHost.requestHeaders).toContainEqual(['Host', '[redacted]@web']);
  });

  it('regression (credentials in h2 :authority and host): redacted in authority and in requestHeaders', async () => {
    const out = await history(['-o', 'json']);
    expectNoSecret(out);
    const events = out.trim().split('\n').map((l) => JSON.parse(l) as TapEvent);
    const viaAuthority = events.find((e) => e.path === '/h2-authority')!;
    expect(viaAuthority.authority).toBe('[redacted]@web');
    expect(viaAuthority.requestHeaders).toContainEqual([':authority', '[redacted]@web']);
    const viaHost = events.find((e) => e.path === '/h2-host')!;
    expect(viaHost.requestHeaders).toContainEqual(['host', '[redacted]@web']);
  });

  it('regression (credentials in -o wide): live header lines show [redacted]@', async () => {
    const cli = spawnMeshtap(['tap', '--proxy', sidecar.tap!, '-o', 'wide', '--limit', '1', '--path', '/wide']);
    await waitForMetric(sidecar.admin!, 'meshtap_tap_subscribers', {}, (v) => v === 1);
    await rawRequest(sidecar.forwards[0]!.port, 'GET /wide HTTP/1.1\r\nHost: admin:hunter2@web\r\nConnection: close\r\n\r\n');
    const r = await cli.done;
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('  > Host: [redacted]@web');
    expectNoSecret(r.stdout);
    expectNoSecret(await history(['-o', 'wide']));
  });

  it('regression (host filter as an oracle): --header host=<guessed credentials> matches nothing', async () => {
    const right = await history(['-o', 'json', '--header', 'host=admin:hunter2@web']);
    expect(right).toBe('');
    const rightH2 = await history(['-o', 'json', '--header', 'host=admin:h2hostpw@web']);
    expect(rightH2).toBe('');
    const rightAuthority = await history(['-o', 'json', '--authority', 'admin:hunter2@web']);
    expect(rightAuthority).toBe('');
    // What the filter does see is the redacted value (so it still finds those exchanges).
    const redacted = await history(['-o', 'json', '--header', 'host=[redacted]@web']);
    expect(redacted.trim().split('\n').map((l) => (JSON.parse(l) as TapEvent).path)).toEqual(expect.arrayContaining(['/at-in-password', '/h2-host', '/host-creds']));
  });

  it('regression (credentials in recordings made with --no-bodies): the file holds [redacted]@ only', async () => {
    const file = join(dir, 'creds.jsonl');
    const r = await runMeshtap(['record', '--proxy', sidecar.tap!, '--last', '50', '--no-bodies', '-o', file]);
    expect(r.code).toBe(0);
    const text = await readFile(file, 'utf8');
    expect(text).toContain('[redacted]@web');
    expectNoSecret(text);
  });

  it('regression (credentials in metric labels): /metrics never shows them', async () => {
    const m = await httpGet(sidecar.admin!, '/metrics');
    expect(m.body).toContain('authority="[redacted]@web"');
    expectNoSecret(m.body);
  });
});
