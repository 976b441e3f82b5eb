/**
 * `meshtap tap --proxy` end to end: the real CLI against the real sidecar process, with real
 * HTTP/1 and gRPC traffic. Filters (--method --path --authority --status --grpc-status),
 * --bodies, --last N, --limit N, -o json (one object per line) and text output, and redaction
 * of sensitive headers unless revealed.
 */
import * as grpc from '@grpc/grpc-js';
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { TapEvent } from '../tap-protocol/index.js';
import { ECHO_SERVICE, echoClient, startGrpcEcho, type GrpcEcho } from './support/grpc-echo.js';
import { waitForMetric, scrape, sumMetric } from './support/metrics-scrape.js';
import { runMeshtap, spawnMeshtap, startSidecarProcess, type CliProcess, type SidecarProcess } from './support/meshtap-process.js';
import { openTapCollector, type TapCollector } from './support/tap-collector.js';

let origin: http.Server;
let grpcOrigin: GrpcEcho;
let sidecar: SidecarProcess;
let httpPort: number;
let grpcPort: number;
const started: CliProcess[] = [];
const exited = new Set<CliProcess>();

beforeAll(async () => {
  origin = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const status = Number(/\/status\/(\d+)/.exec(req.url ?? '')?.[1] ?? 200);
      const headers: Record<string, string> = { 'content-type': 'text/plain' };
      if (req.url?.startsWith('/login')) headers['set-cookie'] = 'session=s3cr3t; HttpOnly';
      res.writeHead(status, headers).end(`echo:${Buffer.concat(chunks).toString()}`);
    });
  });
  await new Promise<void>((resolve) => origin.listen(0, '127.0.0.1', resolve));
  grpcOrigin = await startGrpcEcho();
  sidecar = await startSidecarProcess([
    '--forward', `127.0.0.1:0=127.0.0.1:${(origin.address() as AddressInfo).port}`,
    '--forward', `127.0.0.1:0=127.0.0.1:${grpcOrigin.port}`,
    '--admin', '127.0.0.1:0', '--tap', '127.0.0.1:0',
    '--forward', `out:127.0.0.1:0=127.0.0.1:${(origin.address() as AddressInfo).port}`,
    '--redact-header', 'X-Internal-Token', '--body-limit', '1KiB', '--workload', 'deploy/tapper', '--namespace', 'ns1',
  ]);
  httpPort = sidecar.forwards[0].port;
  grpcPort = sidecar.forwards[1].port;
});

afterEach(async () => {
  // A test that failed early may leave its tap running: stop it so it cannot skew the next one.
  const left = started.splice(0);
  for (const p of left) p.kill('SIGKILL');
  await Promise.all(left.map((p) => p.done));
});

afterAll(async () => {
  await sidecar?.stop();
  await grpcOrigin?.close();
  await new Promise((resolve) => origin?.close(resolve));
});

function send(method: string, path: string, options: { host?: string; headers?: Record<string, string>; body?: string; port?: number } = {}): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = http.request({ host: '127.0.0.1', port: options.port ?? httpPort, method, path, agent: false, headers: { host: options.host ?? 'web.test', ...options.headers } }, (res) => {
      res.resume();
      res.on('end', () => resolve(res.statusCode ?? 0));
    });
    req.on('error', reject);
    req.end(options.body);
  });
}

/**
 * Starts `meshtap tap --proxy TAP ARGS` and resolves once the sidecar counts it as a subscriber.
 * The base count is this file's running taps, once the sidecar agrees (a tap that just exited
 * is forgotten by the sidecar a moment later); a tap that exits before subscribing fails fast.
 */
async function tapCli(args: string[]): Promise<CliProcess> {
  const running = started.filter((p) => !exited.has(p)).length;
  await waitForMetric(sidecar.admin!, 'meshtap_tap_subscribers', {}, (v) => v === running, 30_000);
  const p = spawnMeshtap(['tap', '--proxy', sidecar.tap!, ...args]);
  started.push(p);
  void p.done.then(() => exited.add(p));
  const subscribed = waitForMetric(sidecar.admin!, 'meshtap_tap_subscribers', {}, (v) => v === running + 1, 30_000);
  const failed = p.done.then((r) => {
    throw new Error(`meshtap tap ${args.join(' ')} exited (${r.code}) before subscribing: ${r.stderr}`);
  });
  await Promise.race([subscribed, failed]);
  void failed.catch(() => {});
  return p;
}

/** Every stdout line must be one JSON object; returns them. */
function jsonLines(stdout: string): TapEvent[] {
  const lines = stdout.split('\n');
  expect(lines.pop()).toBe('');
  return lines.map((l) => {
    expect(l.startsWith('{') && l.endsWith('}')).toBe(true);
    return JSON.parse(l) as TapEvent;
  });
}

const summary = (evs: TapEvent[]) => evs.map((e) => `${e.kind} ${e.method} ${e.path}${e.status ? ' ' + e.status : ''}`);

describe('meshtap tap --proxy (real CLI, real sidecar)', { timeout: 90_000 }, () => {
  it('--method POST --path /api --limit 2 -o json: only matching exchanges, req/rsp/end each, one JSON object per line, then exit 0', async () => {
    const cli = await tapCli(['--method', 'POST', '--path', '/api', '--limit', '2', '-o', 'json']);
    await send('GET', '/api/get');
    await send('POST', '/other');
    await send('POST', '/api/one', { body: 'x' });
    await send('POST', '/api/two');
    const r = await cli.done;
    expect([r.code, r.stderr]).toEqual([0, '']);
    expect(summary(jsonLines(r.stdout))).toEqual(['req POST /api/one', 'rsp POST /api/one 200', 'end POST /api/one 200', 'req POST /api/two', 'rsp POST /api/two 200', 'end POST /api/two 200']);
  });

  it('--status 5xx --authority: decided at the response, earlier request events held back and delivered with it', async () => {
    const cli = await tapCli(['--status', '5xx', '--authority', 'api.test', '--limit', '1', '-o', 'json']);
    await send('GET', '/status/503', { host: 'other.test' });
    await send('GET', '/status/404', { host: 'api.test' });
    await send('GET', '/status/502', { host: 'api.test' });
    const r = await cli.done;
    expect(r.code).toBe(0);
    const evs = jsonLines(r.stdout);
    expect(summary(evs)).toEqual(['req GET /status/502', 'rsp GET /status/502 502', 'end GET /status/502 502']);
    expect(evs.every((e) => e.authority === 'api.test')).toBe(true);
  });

  it('--grpc-status UNAVAILABLE: only the failing call, decided at its end', async () => {
    const cli = await tapCli(['--grpc-status', 'UNAVAILABLE', '--limit', '1', '-o', 'json']);
    const client = echoClient(`127.0.0.1:${grpcPort}`);
    const call = (text: string) =>
      new Promise<number>((resolve) => client.makeUnaryRequest(ECHO_SERVICE.Unary.path, (b: Buffer) => b, (b: Buffer) => b, Buffer.from(text), (err) => resolve(err?.code ?? 0)));
    expect(await call('fine')).toBe(grpc.status.OK);
    expect(await call('fail:5:missing')).toBe(grpc.status.NOT_FOUND);
    expect(await call('fail:14:down')).toBe(grpc.status.UNAVAILABLE);
    client.close();
    const r = await cli.done;
    expect(r.code).toBe(0);
    const evs = jsonLines(r.stdout);
    expect(evs.map((e) => e.kind)).toEqual(['req', 'rsp', 'end']);
    expect(evs.every((e) => e.protocol === 'grpc' && e.path === ECHO_SERVICE.Unary.path)).toBe(true);
    expect([evs[2].grpcStatus, evs[2].grpcMessage]).toEqual([14, 'down']);
  });

  it('--bodies: request and response bodies on the end event; absent without it', async () => {
    const withBodies = await tapCli(['--path', '/bodies', '--bodies', '--limit', '1', '-o', 'json']);
    const without = await tapCli(['--path', '/bodies', '--limit', '1', '-o', 'json']);
    await send('POST', '/bodies', { body: 'hello body' });
    const [a, b] = await Promise.all([withBodies.done, without.done]);
    const endA = jsonLines(a.stdout).find((e) => e.kind === 'end')!;
    expect(endA.requestBody).toEqual({ size: 10, truncated: false, encoding: 'utf8', data: 'hello body' });
    expect(endA.responseBody).toEqual({ size: 15, truncated: false, encoding: 'utf8', data: 'echo:hello body' });
    const endB = jsonLines(b.stdout).find((e) => e.kind === 'end')!;
    expect(endB.requestBody).toBeUndefined();
    expect(endB.responseBody).toBeUndefined();
    expect(endB.requestBytes).toBe(10);
  });

  it('redacts authorization, cookie, set-cookie and x-api-key unless --reveal-header names them, live and in history', async () => {
    const plain = await tapCli(['--path', '/login', '--limit', '1', '-o', 'json']);
    const revealing = await tapCli(['--path', '/login', '--limit', '1', '-o', 'json', '--reveal-header', 'authorization', '--reveal-header', 'Set-Cookie']);
    const secret = { Authorization: 'Bearer tok-123', Cookie: 'sid=abc', 'X-Api-Key': 'key-456', 'X-Public': 'visible' };
    await send('GET', '/login', { headers: secret });
    const [p, r] = await Promise.all([plain.done, revealing.done]);
    const endP = jsonLines(p.stdout).find((e) => e.kind === 'end')!;
    const value = (list: Array<[string, string]> | undefined, name: string) => list?.find(([k]) => k.toLowerCase() === name)?.[1];
    expect(['authorization', 'cookie', 'x-api-key', 'x-public'].map((h) => value(endP.requestHeaders, h))).toEqual(['[redacted]', '[redacted]', '[redacted]', 'visible']);
    expect(value(endP.responseHeaders, 'set-cookie')).toBe('[redacted]');
    expect(p.stdout).not.toMatch(/tok-123|sid=abc|key-456|s3cr3t/);
    const endR = jsonLines(r.stdout).find((e) => e.kind === 'end')!;
    expect(['authorization', 'cookie', 'x-api-key'].map((h) => value(endR.requestHeaders, h))).toEqual(['Bearer tok-123', '[redacted]', '[redacted]']);
    expect(value(endR.responseHeaders, 'set-cookie')).toBe('session=s3cr3t; HttpOnly');

    const history = await runMeshtap(['tap', '--proxy', sidecar.tap!, '--path', '/login', '--last', '1', '-o', 'json']);
    expect(history.code).toBe(0);
    const [h] = jsonLines(history.stdout);
    expect(value(h.requestHeaders, 'authorization')).toBe('[redacted]');
    expect(history.stdout).not.toMatch(/tok-123|sid=abc|key-456|s3cr3t/);
  });

  it('--redact-header adds to the redaction list (any case); reveal still works for it', async () => {
    const plain = await tapCli(['--path', '/internal', '--limit', '1', '-o', 'json']);
    const revealing = await tapCli(['--path', '/internal', '--limit', '1', '-o', 'json', '--reveal-header', 'x-internal-token']);
    await send('GET', '/internal', { headers: { 'x-internal-TOKEN': 'itk-789', 'X-Public': 'visible' } });
    const [p, r] = await Promise.all([plain.done, revealing.done]);
    // req and end carry the request headers; rsp does not (DESIGN §5).
    const headerOf = (e: TapEvent) => e.requestHeaders?.find(([k]) => k.toLowerCase() === 'x-internal-token')?.[1];
    expect(jsonLines(p.stdout).map(headerOf)).toEqual(['[redacted]', undefined, '[redacted]']);
    expect(p.stdout).not.toMatch(/itk-789/);
    expect(jsonLines(r.stdout).map(headerOf)).toEqual(['itk-789', undefined, 'itk-789']);
  });

  it('--bodies beyond --body-limit are truncated (size says the whole), binary bodies come as base64', async () => {
    const cli = await tapCli(['--path', '/limits', '--bodies', '--limit', '2', '-o', 'json']);
    const big = 'a'.repeat(3000);
    await send('POST', '/limits/text', { body: big });
    const binary = Buffer.from([0xff, 0xfe, 0x00, 0x80, 0x81]);
    await new Promise<void>((resolve, reject) => {
      const req = http.request({ host: '127.0.0.1', port: httpPort, method: 'POST', path: '/limits/bin', agent: false }, (res) => {
        res.resume();
        res.on('end', () => resolve());
      });
      req.on('error', reject);
      req.end(binary);
    });
    const r = await cli.done;
    const ends = jsonLines(r.stdout).filter((e) => e.kind === 'end');
    expect(ends.map((e) => e.path)).toEqual(['/limits/text', '/limits/bin']);
    expect(ends[0].requestBody).toEqual({ size: 3000, truncated: true, encoding: 'utf8', data: 'a'.repeat(1024) });
    expect(ends[0].requestBytes).toBe(3000);
    expect(ends[1].requestBody).toEqual({ size: 5, truncated: false, encoding: 'base64', data: binary.toString('base64') });
  });

  it('--last N prints the last N finished exchanges from the flight recorder and exits', async () => {
    for (const i of [1, 2, 3, 4]) await send('GET', `/history/${i}`);
    const r = await runMeshtap(['tap', '--proxy', sidecar.tap!, '--path', '/history/', '--last', '2', '-o', 'json']);
    expect([r.code, r.stderr]).toEqual([0, '']);
    expect(summary(jsonLines(r.stdout))).toEqual(['end GET /history/3 200', 'end GET /history/4 200']);
  });

  it('--last N --follow: history first, then live exchanges on the same stream', async () => {
    await send('GET', '/follow/old-1');
    await send('GET', '/follow/old-2');
    // History is answered from the recorder: once the tap is subscribed it has both old ones.
    const cli = await tapCli(['--path', '/follow/', '--last', '1', '--follow', '--limit', '2', '-o', 'json']);
    await send('GET', '/follow/new');
    const r = await cli.done;
    expect(r.code).toBe(0);
    expect(summary(jsonLines(r.stdout))).toEqual(['end GET /follow/old-2 200', 'req GET /follow/new', 'rsp GET /follow/new 200', 'end GET /follow/new 200']);
  });

  it('--max-rps drops the excess, tells the user on stderr and counts it', async () => {
    const before = sumMetric(await scrape(sidecar.admin!), 'meshtap_tap_dropped_events_total', { reason: 'rate-limit' });
    const cli = await tapCli(['--path', '/rps/', '--max-rps', '1', '-o', 'json']);
    for (let i = 0; i < 5; i++) await send('GET', `/rps/${i}`);
    await waitForMetric(sidecar.admin!, 'meshtap_tap_dropped_events_total', { reason: 'rate-limit' }, (v) => v > before);
    // The subscriber is told what it lost (DESIGN §7), coalesced: here the CLI's stderr notice.
    await cli.waitForStderr(/exchanges dropped by --max-rps 1 \(raise it to see more\)/);
    cli.kill('SIGINT');
    const r = await cli.done;
    const ends = jsonLines(r.stdout).filter((e) => e.kind === 'end');
    expect(ends.length).toBeGreaterThanOrEqual(1);
    expect(ends.length).toBeLessThan(5);
    expect(r.stderr).toMatch(/^meshtap: \d+ exchanges dropped by --max-rps 1 \(raise it to see more\)$/m);
  });

  it('--since: recent exchanges from the recorder, then exit', async () => {
    await send('GET', '/since/a');
    await send('GET', '/since/b');
    const r = await runMeshtap(['tap', '--proxy', sidecar.tap!, '--path', '/since/', '--since', '1h', '-o', 'json']);
    expect(r.code).toBe(0);
    // The sidecar started less than 1h ago: say where its history begins (issue 11 item 5).
    expect(r.stderr).toMatch(/^meshtap: history begins at \w{3} [ \d]\d \d\d:\d\d:\d\d\.\d{3}: the flight recorders hold nothing older than that\n$/);
    expect(summary(jsonLines(r.stdout))).toEqual(['end GET /since/a 200', 'end GET /since/b 200']);
  });

  it('an out: forward reports proxy=out with this workload as the source, and outbound metrics', async () => {
    const cli = await tapCli(['--path', '/outbound', '--limit', '1', '-o', 'json']);
    await send('GET', '/outbound', { port: sidecar.forwards[2].port, host: 'payments.svc' });
    const r = await cli.done;
    const evs = jsonLines(r.stdout);
    expect(evs.map((e) => [e.kind, e.proxy, e.srcWorkload, e.srcNamespace, e.dstWorkload, e.dstNamespace])).toEqual(
      ['req', 'rsp', 'end'].map((k) => [k, 'out', 'deploy/tapper', 'ns1', undefined, undefined]),
    );
    const samples = await scrape(sidecar.admin!);
    expect(sumMetric(samples, 'response_total', { direction: 'outbound', authority: 'payments.svc', status_code: '200' })).toBe(1);
    expect(sumMetric(samples, 'response_total', { direction: 'inbound', authority: 'payments.svc' })).toBe(0);
  });

  it('text output: one line per event, Linkerd tap style', async () => {
    const cli = await tapCli(['--path', '/text', '--limit', '1']);
    await send('GET', '/text?q=1', { host: 'txt.test' });
    const r = await cli.done;
    expect(r.code).toBe(0);
    const lines = r.stdout.trimEnd().split('\n');
    expect(lines).toHaveLength(3);
    // A timestamp first (as Hubble), ids prefixed with the pod (unique across pods).
    const clock = '\\w{3} [ \\d]\\d \\d\\d:\\d\\d:\\d\\d\\.\\d{3}';
    expect(lines[0]).toMatch(new RegExp(`^${clock} req id=[\\w.-]+/\\d+\\.1 proxy=in src=127\\.0\\.0\\.1:\\d+ dst=127\\.0\\.0\\.1:\\d+ :method=GET :authority=txt\\.test :path=/text\\?q=1$`));
    expect(lines[1]).toMatch(new RegExp(`^${clock} rsp id=\\S+ .* :status=200 latency=`));
    expect(lines[2]).toMatch(new RegExp(`^${clock} end id=\\S+ .* :method=GET :authority=txt\\.test :path=/text\\?q=1 :status=200 latency=\\S+ duration=\\S+ request-length=0 response-length=5$`));
  });

  it('past 64 subscribers the sidecar refuses the next tap: one-line failure, exit 1, bound counted', async () => {
    const taps: TapCollector[] = [];
    try {
      for (let i = 0; i < 64; i++) taps.push(await openTapCollector(sidecar.tap!));
      const r = await runMeshtap(['tap', '--proxy', sidecar.tap!, '-o', 'json']);
      expect(r.code).toBe(1);
      expect(r.stdout).toBe('');
      expect(r.stderr.trimEnd().split('\n')).toHaveLength(1);
      expect(r.stderr).toMatch(/MT_TAP_BUSY.*64/);
      expect(sumMetric(await scrape(sidecar.admin!), 'meshtap_bound_hit_total', { bound: 'tap-subscribers' })).toBe(1);
    } finally {
      for (const t of taps) t.close();
    }
    await waitForMetric(sidecar.admin!, 'meshtap_tap_subscribers', {}, (v) => v === 0, 30_000);
  });

  it('a bad filter is a one-line usage error (exit 2) before anything is opened', async () => {
    const r = await runMeshtap(['tap', '--proxy', sidecar.tap!, '--status', '7xx']);
    expect(r.code).toBe(2);
    expect(r.stdout).toBe('');
    expect(r.stderr.trimEnd().split('\n')).toHaveLength(1);
    expect(r.stderr).toMatch(/--status/);
  });
});
