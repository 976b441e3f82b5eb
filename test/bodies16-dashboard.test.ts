/**
 * Session 16 (bodies16): the dashboard shows a compressed body decoded, redacted, and says so
 * ("decoded from gzip"), in a real Chromium against the real demo mesh and tap API (demo-admin has
 * the body permission, not the grant that reveals every header); a screenshot in
 * test-output/dashboard/. "Copy as curl" of such an exchange sends the body decoded without its
 * Content-Encoding and asks curl to decode the answer (--compressed), run with the real curl.
 */
import { execFile } from 'node:child_process';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { gzipSync } from 'node:zlib';
import type { Browser, Page } from 'playwright-core';
import { request } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { curlCommand } from '../dashboard/ui/curl.js';
import type { TapEvent } from '../tap-protocol/index.js';
import { browserSkipReason, launchChromium, outputDir, startDashboardRig, type DashboardRig } from './dashboard-rig.js';

const run = promisify(execFile);
const skip = browserSkipReason();
const POLL = { timeout: 20_000, interval: 250 };
const PATH = '/bodies16-probe';
const PASSWORD = 'hunter2-very-secret';

describe.skipIf(skip !== undefined)(`bodies16: a decoded body in the dashboard (Chromium)${skip ? ` (skipped: ${skip})` : ''}`, () => {
  let rig: DashboardRig;
  let browser: Browser;
  const pageErrors: string[] = [];
  const shots = outputDir();

  beforeAll(async () => {
    rig = await startDashboardRig({ rps: 2 });
    browser = await launchChromium();
  }, 60_000);
  afterAll(async () => {
    expect(pageErrors).toEqual([]);
    await browser?.close();
    await rig?.close();
  });

  /** A gzip JSON upload with a password through web's sidecar. */
  async function sendProbe(): Promise<void> {
    const body = gzipSync(JSON.stringify({ user: 'ann', password: PASSWORD, note: 'sent compressed' }));
    const r = await request(`http://${rig.mesh.web.inbound}${PATH}`, { method: 'POST', body, headers: { 'content-type': 'application/json', 'content-encoding': 'gzip' } });
    await r.body.dump();
  }

  it('the request body reads decoded, its password [redacted], and says "decoded from gzip"', async () => {
    const ctx = await browser.newContext({ viewport: { width: 1440, height: 860 } });
    const page: Page = await ctx.newPage();
    page.on('pageerror', (e) => pageErrors.push(e.message));
    await page.goto(`${rig.admin.url}&target=deploy%2Fweb&q=${encodeURIComponent(`--path ${PATH}`)}`);
    const finished = page.locator('.tr').filter({ has: page.locator('.status') });
    await expect.poll(async () => (await sendProbe(), finished.count()), POLL).toBeGreaterThanOrEqual(1);
    await finished.first().locator('.td').first().click();
    await page.getByRole('tab', { name: 'Request' }).click();
    const body = page.getByTestId('body-request');
    await expect(body.getByTestId('body-decoded').textContent()).resolves.toBe('decoded from gzip');
    const shown = (await body.locator('pre').textContent()) ?? '';
    expect(JSON.parse(shown)).toEqual({ user: 'ann', password: '[redacted]', note: 'sent compressed' });
    expect(await page.content()).not.toContain(PASSWORD);
    await page.screenshot({ path: join(shots, 'bodies16-decoded.png') });
    await ctx.close();
  }, 90_000);
});

describe('bodies16: copy as curl of a decoded exchange', () => {
  let server: Server;
  const seen: Array<{ encoding?: string; body: string }> = [];
  beforeAll(async () => {
    server = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        seen.push({ encoding: req.headers['content-encoding'], body: Buffer.concat(chunks).toString() });
        res.writeHead(200, { 'content-type': 'application/json', 'content-encoding': 'gzip' }).end(gzipSync('{"ok":true}'));
      });
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  });
  afterAll(() => new Promise<void>((r) => server.close(() => r())));

  it('sends the decoded body without Content-Encoding and reads the gzip answer decoded', async () => {
    const port = (server.address() as AddressInfo).port;
    const text = '{"user":"ann","password":"[redacted]"}';
    const e: TapEvent = {
      kind: 'end', id: '1.1', ts: '2026-12-08T00:00:00.000Z', proxy: 'in', src: '127.0.0.1:1', dst: `127.0.0.1:${port}`, protocol: 'http/1.1',
      method: 'POST', scheme: 'http', authority: `127.0.0.1:${port}`, path: '/login',
      requestHeaders: [['Content-Type', 'application/json'], ['Content-Encoding', 'gzip']],
      requestBody: { size: 60, truncated: false, encoding: 'utf8', data: text, decoded: 'gzip' },
      responseHeaders: [['content-encoding', 'gzip']],
      responseBody: { size: 31, truncated: false, encoding: 'utf8', data: '{"ok":true}', decoded: 'gzip' },
    };
    const cmd = curlCommand(e);
    expect(cmd.split('\n')[0]).toBe('# the body was sent with Content-Encoding: gzip; this sends it decoded, without it');
    expect(cmd).toContain('--compressed');
    const r = await run('sh', ['-c', `${cmd} -sS`]);
    expect(r.stdout).toBe('{"ok":true}');
    expect(seen).toEqual([{ encoding: undefined, body: text }]);
  });
});
