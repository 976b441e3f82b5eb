/**
 * Regression (session 7, issue 14 loose end): a malformed flag of `tap`, `top`, `record` (and the
 * other commands sharing these flags) was checked only after the tap API had been looked for, and
 * some only after it had been contacted: `meshtap tap deploy/web --since 5x` with nothing configured
 * said "where is the tap API?", and `meshtap top deploy/web --refresh 5x` opened the tap first.
 * Every such flag must be one line naming the flag, exit 2, before anything is resolved or
 * contacted. Run on the real CLI (dist/) three ways: nothing configured; `--tap-api` naming a
 * listener that counts connections; a kubeconfig whose API server is such a listener.
 */
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import * as net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runMeshtap, type CliResult } from './support/meshtap-process.js';
import { writeKubeconfig } from './support/kubeconfig.js';
import { createTestCa } from './support/test-ca.js';

/** A TCP listener that counts the connections it accepts (and drops each one once it speaks). */
interface CountingListener {
  url: string;
  /** Connections from anyone but `settle()`'s own probe. */
  count(): number;
  /** Resolves once every connection made before this call has been accepted (the accept queue is FIFO). */
  settle(): Promise<void>;
  close(): Promise<void>;
}

async function countingListener(scheme: 'http' | 'https'): Promise<CountingListener> {
  let accepted = 0;
  let probes = 0;
  const waiting: Array<() => void> = [];
  const server = net.createServer((s) => {
    accepted++;
    s.on('error', () => undefined);
    s.once('data', (d) => {
      if (d.toString() === 'probe') {
        probes++;
        waiting.shift()?.();
      }
      // Anything else (an HTTP request, a TLS hello) is refused at once: the client fails, exit 1.
      s.destroy();
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as net.AddressInfo).port;
  return {
    url: `${scheme}://127.0.0.1:${port}`,
    count: () => accepted - probes,
    settle: () =>
      new Promise<void>((resolve, reject) => {
        waiting.push(resolve);
        const c = net.connect(port, '127.0.0.1', () => c.end('probe'));
        c.on('error', reject);
      }),
    close: () => new Promise<void>((r) => server.close(() => r())),
  };
}

let dir: string;
let tapApi: CountingListener;
let apiServer: CountingListener;
let kubeconfig: string;
/**
 * An environment where no tap API or kubeconfig is found, and whose MESHTAP_CONFIG names a missing
 * file: a command that read its config before checking its flags would complain about that instead.
 */
let bareEnv: NodeJS.ProcessEnv;
/** Only a kubeconfig (its API server a counting listener). */
const kubeEnv = (): NodeJS.ProcessEnv => ({ ...bareEnv, MESHTAP_CONFIG: undefined, KUBECONFIG: kubeconfig });

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'meshtap-flags-'));
  tapApi = await countingListener('http');
  apiServer = await countingListener('https');
  kubeconfig = writeKubeconfig(join(dir, 'kubeconfig'), { server: apiServer.url, caPem: (await createTestCa('flags-test-ca')).certPem, user: { token: 'nobody' } });
  bareEnv = { HOME: dir, KUBECONFIG: undefined, MESHTAP_TAP_API: undefined, MESHTAP_TOKEN: undefined, MESHTAP_CONFIG: join(dir, 'no-config.yaml') };
});

afterAll(async () => {
  await tapApi?.close();
  await apiServer?.close();
  rmSync(dir, { recursive: true, force: true });
});

function expectUsageError(r: CliResult, mentions: RegExp, how: string): void {
  expect({ how, code: r.code, stdout: r.stdout }).toEqual({ how, code: 2, stdout: '' });
  const lines = r.stderr.split('\n');
  expect(lines.pop()).toBe('');
  expect({ how, lines }).toEqual({ how, lines: [expect.stringMatching(/^meshtap: /)] });
  expect({ how, line: lines[0] }).toEqual({ how, line: expect.stringMatching(mentions) });
}

const RECORDING = (): string => join(dir, 'out.jsonl');

/** [command line, what its one line must name]; `record` writes to RECORDING(). */
const CASES: Array<[string[], RegExp]> = [
  [['tap', 'deploy/web', '--since', '5x'], /--since: '5x' is neither a duration .* nor an RFC 3339 time/],
  [['tap', 'deploy/web', '--until', 'yesterday'], /--until: 'yesterday'/],
  [['tap', 'deploy/web', '--since', '10m', '--until', '20m'], /--until is before --since/],
  [['tap', 'deploy/web', '--last', 'abc'], /--last: 'abc' is not a positive whole number/],
  [['tap', 'deploy/web', '--first', '0'], /--first: '0' is not a positive whole number/],
  [['tap', 'deploy/web', '--max-rps', 'lots'], /--max-rps: 'lots' is not a positive whole number/],
  [['tap', 'deploy/web', '--max-rps', ''], /--max-rps: '' is not a positive whole number/],
  [['tap', 'deploy/web', '--limit', '1.5'], /--limit: '1.5' is not a positive whole number/],
  // node's parseArgs said "Option '--limit' argument is ambiguous." (common/cli.ts now says what to write)
  [['tap', 'deploy/web', '--limit', '-1'], /tap: --limit needs a value; one that starts with '-' is written --limit=VALUE/],
  [['tap', 'deploy/web', '--limit=-1'], /--limit: '-1' is not a positive whole number/],
  [['tap', 'deploy/web', '--status', '9xx'], /--status: '9xx' is not a status/],
  [['tap', 'deploy/web', '--min-latency', '100'], /--min-latency: '100' has no unit/],
  [['tap', '-A', '--since', '5x'], /--since: '5x'/],
  [['tap', '-l', 'app=web', '--last', 'x'], /--last: 'x'/],
  [['top', 'deploy/web', '--max-rps', '0'], /--max-rps: '0' is not a positive whole number/],
  [['top', 'deploy/web', '--limit', 'x'], /--limit: 'x'/],
  [['top', 'deploy/web', '--duration', '5x'], /--duration: '5x' is not a duration/],
  [['top', 'deploy/web', '--refresh', '5x'], /--refresh: '5x' is not a duration/],
  [['top', '-A', '--refresh', '0s'], /--refresh 0s is too fast/],
  [['top', 'deploy/web', '--grpc-status', 'NOPE'], /--grpc-status: 'NOPE'/],
  [['record', 'deploy/web', '-o', '@', '--since', '5x'], /--since: '5x' is not a duration/],
  [['record', 'deploy/web', '-o', '@', '--last', 'x'], /--last: 'x'/],
  [['record', 'deploy/web', '-o', '@', '--max-rps', 'x'], /--max-rps: 'x'/],
  [['record', 'deploy/web', '-o', '@', '--limit', '0'], /--limit: '0'/],
  [['record', 'deploy/web', '-o', '@', '--max-bytes', 'lots'], /--max-bytes: 'lots' is not a size/],
  [['record', 'deploy/web', '-o', '@', '--duration', '5x'], /--duration: '5x'/],
  [['record', 'web', '-o', '@'], /record: 'web' is not TYPE\/NAME; did you mean deploy\/web\?/],
  [['stat', 'deploy', '-t', '5x'], /--window: '5x'/],
  [['edges', 'deploy', '-t', '5x'], /--window: '5x'/],
  [['routes', 'deploy/web', '-t', '2h'], /--window must be whole seconds between 1s and 1h/],
  [['dashboard', '--stat-window', '5x'], /--stat-window: '5x'/],
  // Regression (review10 #8): `--or` with nothing after it was taken, and matched every exchange.
  [['tap', 'deploy/web', '--path', '/a', '--or'], /--or needs filters after it \(alone it would match everything\); e\.g\. --status 5xx --or --min-latency 1s/],
  [['tap', 'deploy/web', '--or'], /--or needs filters before it/],
  [['tap', 'deploy/web', '--or', '--path', '/a'], /--or needs filters before it; --or stands between two groups of filters/],
  [['tap', 'deploy/web', '--path', '/a', '--or', '--or', '--path', '/b'], /--or twice in a row/],
  [['tap', 'deploy/web', '--path', '/a', '--or', '--not'], /--not must be followed by a filter flag/],
  [['tap', 'deploy/web', '--path', '/a', '--not', '--or', '--path', '/b'], /--not must be followed by a filter flag, not --or/],
  [['tap', 'deploy/web', '--not', '--not', '--path', '/a'], /--not twice in a row/],
  [['top', 'deploy/web', '--status', '5xx', '--or'], /--or needs filters after it/],
  [['record', 'deploy/web', '-o', '@', '--or', '--status', '5xx'], /--or needs filters before it/],
  // Regression (review10 #9): a filter on a header every sidecar redacts, without --reveal-header,
  // went to the tap API, which refused it (exit 1); the CLI knows those names.
  [['tap', 'deploy/web', '--header', 'authorization=Basic x'], /^meshtap: tap: --header authorization=… filters on a header the tap shows redacted; add --reveal-header authorization \(needs the tap-bodies permission\)$/],
  [['tap', 'deploy/web', '--header', 'Cookie=a=b'], /tap: --header cookie=… .* add --reveal-header cookie/],
  [['tap', 'deploy/web', '--path', '/a', '--or', '--header', 'x-api-key=k', '--reveal-header', 'authorization'], /add --reveal-header x-api-key/],
  [['top', 'deploy/web', '--header', 'proxy-authorization=x'], /top: --header proxy-authorization=… .* add --reveal-header proxy-authorization/],
  [['record', 'deploy/web', '-o', '@', '--not', '--header', 'set-cookie=x'], /record: --header set-cookie=… .* add --reveal-header set-cookie/],
  // Regression (session 12): `--proxy nonsense` said "cannot reach the sidecar tap service", exit 1, and
  // `--proxy 127.0.0.1:99999` crashed with "unexpected error: TypeError: Invalid URL" and a stack.
  [['tap', '--proxy', 'nonsense'], /^meshtap: --proxy: 'nonsense' is not HOST:PORT/],
  [['tap', '--proxy', '127.0.0.1:99999'], /--proxy: '127\.0\.0\.1:99999' is not HOST:PORT/],
  [['top', '--proxy', 'sidecar'], /--proxy: 'sidecar' is not HOST:PORT/],
  [['record', '--proxy', '127.0.0.1', '-o', '@'], /--proxy: '127\.0\.0\.1' is not HOST:PORT/],
  [['stat', 'deploy', '--admin', 'nonsense'], /--admin: 'nonsense' is not HOST:PORT/],
  // Regression (session 13, review13): a listen-style address with no host (`:PORT`) passed that check,
  // then `tap` and `stat` crashed ("unexpected error: TypeError: Invalid URL" and a stack) and
  // `top`/`record` printed node's DEP0118 warning; port 0 cannot be connected to.
  [['tap', '--proxy', ':4190'], /^meshtap: --proxy: ':4190' is not an address to connect to/],
  [['top', '--proxy', ':4190'], /--proxy: ':4190' is not an address to connect to/],
  [['record', '--proxy', ':4190', '-o', '@'], /--proxy: ':4190' is not an address to connect to/],
  [['stat', 'deploy', '--admin', ':4191'], /--admin: ':4191' is not an address to connect to/],
  [['tap', '--proxy', '127.0.0.1:0'], /--proxy: '127\.0\.0\.1:0' is not an address to connect to/],
];

describe('malformed flags are refused before anything is resolved or contacted', () => {
  it.each(CASES)('meshtap %j', async (line, mentions) => {
    const args = line.map((w) => (w === '@' ? RECORDING() : w));
    const before = { tapApi: tapApi.count(), apiServer: apiServer.count() };
    const [bare, viaTapApi, viaKube] = await Promise.all([
      runMeshtap(args, { env: bareEnv }),
      runMeshtap([...args, '--tap-api', tapApi.url, '--token', 'nobody'], { env: bareEnv }),
      runMeshtap(args, { env: kubeEnv() }),
    ]);
    expectUsageError(bare, mentions, 'nothing configured');
    expectUsageError(viaTapApi, mentions, '--tap-api URL');
    expectUsageError(viaKube, mentions, 'a kubeconfig');
    await Promise.all([tapApi.settle(), apiServer.settle()]);
    expect({ tapApi: tapApi.count(), apiServer: apiServer.count() }).toEqual(before);
    expect(existsSync(RECORDING())).toBe(false);
  });

  it('the listeners do count a command that gets as far as contacting them (the test can fail)', async () => {
    const before = { tapApi: tapApi.count(), apiServer: apiServer.count() };
    const [viaTapApi, viaKube] = await Promise.all([
      runMeshtap(['tap', 'deploy/web', '--limit', '1', '--tap-api', tapApi.url, '--token', 'nobody'], { env: bareEnv, timeoutMs: 20_000 }),
      runMeshtap(['tap', 'deploy/web', '--limit', '1'], { env: kubeEnv(), timeoutMs: 20_000 }),
    ]);
    expect([viaTapApi.code, viaKube.code]).toEqual([1, 1]);
    await Promise.all([tapApi.settle(), apiServer.settle()]);
    expect(tapApi.count()).toBeGreaterThan(before.tapApi);
    expect(apiServer.count()).toBeGreaterThan(before.apiServer);
  });
});
