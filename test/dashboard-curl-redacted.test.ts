/**
 * Regression (session 6, redact): the dashboard's "copy as curl" of a request whose query holds a
 * `[redacted]` value (or an IPv6 host) failed in curl ("bad range in URL": `[` is curl's glob
 * syntax). The command now passes --globoff; run here with the real curl against a real server.
 */
import { execFile } from 'node:child_process';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { curlCommand } from '../dashboard/ui/curl.js';
import type { TapEvent } from '../tap-protocol/index.js';

const run = promisify(execFile);
let server: Server;
const seen: Array<{ url: string; authorization?: string }> = [];

beforeAll(async () => {
  server = createServer((req, res) => {
    seen.push({ url: req.url ?? '', authorization: req.headers.authorization });
    res.end('ok');
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
});
afterAll(() => new Promise<void>((r) => server.close(() => r())));

describe('copy as curl with redacted values', () => {
  it('runs: the [redacted] query value is sent as text, the redacted header as its placeholder', async () => {
    const port = (server.address() as AddressInfo).port;
    const e: TapEvent = {
      kind: 'end', id: '1.1', ts: '2026-12-06T17:00:00.000Z', proxy: 'in', src: '127.0.0.1:1', dst: `127.0.0.1:${port}`, protocol: 'http/1.1',
      method: 'GET', scheme: 'http', authority: `127.0.0.1:${port}`, path: '/cb?access_token=[redacted]&page=2', requestHeaders: [['Authorization', '[redacted]']],
    };
    const cmd = curlCommand(e);
    expect(cmd).toContain('--globoff');
    const r = await run('sh', ['-c', `${cmd} -sS -o /dev/null -w '%{http_code}'`]);
    expect(r.stdout).toBe('200');
    expect(seen).toEqual([{ url: '/cb?access_token=[redacted]&page=2', authorization: '[redacted]' }]);
  });

  it('says a body it cannot send was not captured, and why (not "truncated by the capture limit")', async () => {
    const port = (server.address() as AddressInfo).port;
    const e: TapEvent = {
      kind: 'end', id: '1.2', ts: '2026-12-06T17:00:00.000Z', proxy: 'in', src: '127.0.0.1:1', dst: `127.0.0.1:${port}`, protocol: 'http/1.1',
      method: 'POST', scheme: 'http', authority: `127.0.0.1:${port}`, path: '/upload', requestHeaders: [['Content-Encoding', 'gzip']],
      requestBody: { size: 40, truncated: true, encoding: 'utf8', data: '', omitted: 'encoded' },
    };
    const cmd = curlCommand(e);
    expect(cmd.split('\n')[0]).toBe('# the body was not captured (encoded): this sends none');
    const r = await run('sh', ['-c', `${cmd} -sS -o /dev/null -w '%{http_code}'`]);
    expect(r.stdout).toBe('200');
    expect(seen.at(-1)).toEqual({ url: '/upload', authorization: undefined });
  });
});
