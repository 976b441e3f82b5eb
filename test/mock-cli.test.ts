/**
 * `meshtap mock` through the real CLI and real curl (HTTP/1.1 and h2c). Regression (issue 11,
 * habits): the mock served the recorded `Date` header, so every response claimed to come from
 * the day of the recording (clients and caches then misjudge freshness and clock skew). A real
 * server dates each response: the mock now serves the time of serving in the recorded header's
 * place, and `--keep-date` serves the recorded headers unchanged for byte-exact replays.
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { spawnMeshtap, type CliProcess } from './support/meshtap-process.js';

const run = promisify(execFile);
const RECORDED_DATE = 'Sat, 01 Mar 2025 10:00:01 GMT';
const dir = mkdtempSync(join(tmpdir(), 'mt-mock-cli-'));
const recording = join(dir, 'web.jsonl');
const exchange = (id: string, path: string, responseHeaders: Array<[string, string]>) => ({
  kind: 'end', id, ts: '2025-03-01T10:00:01.250Z', proxy: 'in', src: '127.0.0.1:51234', dst: '127.0.0.1:8080',
  protocol: 'http/1.1', method: 'GET', scheme: 'http', authority: 'web:8080', path,
  requestHeaders: [['Host', 'web:8080']], status: 200, responseHeaders, trailers: [],
  durationMs: 3.4, requestBytes: 0, responseBytes: 2, responseBody: { size: 2, truncated: false, encoding: 'utf8', data: 'ok' },
});
writeFileSync(
  recording,
  [
    { format: 'meshtap-recording', version: 1, created: '2025-03-01T10:00:00.000Z', source: { kind: 'proxy', address: '127.0.0.1:4190' }, meshtap: '0.1.0' },
    exchange('1.1', '/dated', [['Date', RECORDED_DATE], ['Content-Type', 'text/plain'], ['Cache-Control', 'max-age=60']]),
    exchange('2.1', '/undated', [['Content-Type', 'text/plain']]),
  ].map((l) => JSON.stringify(l)).join('\n') + '\n',
);
afterAll(() => rmSync(dir, { recursive: true, force: true }));

let mock: CliProcess | undefined;
afterEach(async () => {
  mock?.kill('SIGTERM');
  await mock?.done;
  mock = undefined;
});

async function startMock(...flags: string[]): Promise<string> {
  mock = spawnMeshtap(['mock', recording, '--listen', '127.0.0.1:0', ...flags]);
  return /listening (\S+)/.exec(await mock.waitForStderr(/listening \S+\n/))![1]!;
}

/** Response header lines (name: value) as curl received them, in order. */
async function headersOf(url: string, http2 = false): Promise<string[]> {
  const { stdout } = await run('curl', ['-sS', '-D', '-', '-o', '/dev/null', ...(http2 ? ['--http2-prior-knowledge'] : []), url]);
  return stdout.split('\r\n').slice(1).filter((l) => l.includes(':'));
}

const dateOf = (headers: string[]) => headers.filter((h) => /^date:/i.test(h)).map((h) => h.slice(h.indexOf(':') + 1).trim());
/** Whole seconds, as the Date header has them. */
const secondsNow = () => Math.floor(Date.now() / 1000) * 1000;

describe('meshtap mock: the Date header', () => {
  it('serves the time of serving in place of the recorded Date (HTTP/1.1 and h2c), and adds one where none was recorded', async () => {
    const address = await startMock();
    for (const http2 of [false, true]) {
      const before = secondsNow();
      const dated = await headersOf(`http://${address}/dated`, http2);
      const undated = await headersOf(`http://${address}/undated`, http2);
      const after = secondsNow();
      for (const headers of [dated, undated]) {
        const dates = dateOf(headers);
        expect(dates, headers.join('\n')).toHaveLength(1);
        expect(dates[0]).not.toBe(RECORDED_DATE);
        const served = Date.parse(dates[0]!);
        expect(served).toBeGreaterThanOrEqual(before);
        expect(served).toBeLessThanOrEqual(after);
      }
      // The other recorded headers are served as recorded.
      expect(dated.map((h) => h.toLowerCase())).toContain('cache-control: max-age=60');
    }
    // On HTTP/1.1 the Date keeps the recorded header's place (first) and case.
    expect((await headersOf(`http://${address}/dated`))[0]).toMatch(/^Date: /);
  });

  it('with --keep-date serves the recorded Date unchanged, and none where none was recorded', async () => {
    const address = await startMock('--keep-date');
    for (const http2 of [false, true]) {
      expect(dateOf(await headersOf(`http://${address}/dated`, http2))).toEqual([RECORDED_DATE]);
      expect(dateOf(await headersOf(`http://${address}/undated`, http2))).toEqual([]);
    }
  });

  it('says so in mock --help', async () => {
    const help = spawnMeshtap(['mock', '--help']);
    const r = await help.done;
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/current Date header/);
    expect(r.stdout).toMatch(/--keep-date/);
  });
});
