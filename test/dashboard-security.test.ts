/**
 * The dashboard acts as its user, so whoever reaches it must be that user's own page: a request
 * without the per-run secret (or its cookie), from another origin, or naming another Host (DNS
 * rebinding) is refused. Checked with raw HTTP requests (every header chosen) and in Chromium
 * (a rebinding name mapped to 127.0.0.1, and a page of another origin reaching for the API).
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { request } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startDashboardServer, type DashboardServer } from '../dashboard/index.js';
import { browserSkipReason, launchChromium, outputDir } from './dashboard-rig.js';
import { join } from 'node:path';

describe('dashboard security', () => {
  let dash: DashboardServer;
  let origin: string;
  let cookie: string;
  beforeAll(async () => {
    // No tap API behind it: these requests must be refused before anything would reach one.
    dash = await startDashboardServer({ connection: { tapApi: { url: 'http://127.0.0.1:9', token: 't' } }, namespaces: ['shop'], port: 0, version: 'test' });
    origin = `127.0.0.1:${dash.port}`;
    const first = await request(dash.url, { headers: { 'sec-fetch-site': 'none' } });
    await first.body.dump();
    expect(first.statusCode).toBe(303);
    cookie = String(first.headers['set-cookie']).split(';')[0]!;
    expect(String(first.headers['set-cookie'])).toMatch(/HttpOnly; SameSite=Strict/);
    expect(first.headers.location).toBe('/');
  });
  afterAll(async () => dash?.close());

  const get = async (path: string, headers: Record<string, string>) => {
    const r = await request(`http://127.0.0.1:${dash.port}${path}`, { headers });
    return { status: r.statusCode, text: await r.body.text() };
  };

  it('serves the page and the API to the cookie holder, same origin', async () => {
    await expect(get('/api/config', { cookie })).resolves.toMatchObject({ status: 200 });
    await expect(get('/api/config', { cookie, origin: `http://${origin}`, 'sec-fetch-site': 'same-origin' })).resolves.toMatchObject({ status: 200 });
    const page = await request(`http://${origin}/`, { headers: { cookie } });
    expect(page.statusCode).toBe(200);
    expect(page.headers['content-security-policy']).toMatch(/default-src 'none'; script-src 'self'/);
    await page.body.dump();
  });

  it('refuses requests without the secret or with a wrong one', async () => {
    await expect(get('/api/config', {})).resolves.toMatchObject({ status: 401, text: expect.stringMatching(/per-run secret/) });
    await expect(get('/', {})).resolves.toMatchObject({ status: 401 });
    await expect(get('/api/config', { cookie: cookie.replace(/=.*/, '=guess') })).resolves.toMatchObject({ status: 401 });
    await expect(get('/?secret=guess', {})).resolves.toMatchObject({ status: 403, text: expect.stringMatching(/wrong secret/) });
  });

  it('refuses other origins, even with the cookie', async () => {
    await expect(get('/api/config', { cookie, origin: 'http://evil.example' })).resolves.toMatchObject({ status: 403, text: expect.stringMatching(/cross-origin/) });
    await expect(get('/api/config', { cookie, origin: `http://127.0.0.1:${dash.port + 1}` })).resolves.toMatchObject({ status: 403 });
    await expect(get('/api/config', { cookie, origin: 'null' })).resolves.toMatchObject({ status: 403 });
    await expect(get('/api/config', { cookie, 'sec-fetch-site': 'cross-site' })).resolves.toMatchObject({ status: 403 });
    await expect(get('/api/config', { cookie, 'sec-fetch-site': 'same-site' })).resolves.toMatchObject({ status: 403 });
  });

  it('refuses a Host that does not name the dashboard (DNS rebinding)', async () => {
    await expect(get('/api/config', { cookie, host: `rebind.example:${dash.port}` })).resolves.toMatchObject({ status: 421, text: expect.stringMatching(/DNS rebinding/) });
    await expect(get('/api/config', { cookie, host: `127.0.0.1:${dash.port + 1}` })).resolves.toMatchObject({ status: 421 });
    await expect(get(`/?secret=${dash.secret}`, { host: `rebind.example:${dash.port}` })).resolves.toMatchObject({ status: 421 });
    await expect(get('/api/config', { cookie, host: `localhost:${dash.port}` })).resolves.toMatchObject({ status: 200 });
  });

  const skip = browserSkipReason();
  it.skipIf(skip !== undefined)(`in Chromium: a rebinding name and another origin's page are refused${skip ? ` (skipped: ${skip})` : ''}`, async () => {
    // Another site on loopback (same site, other origin: SameSite cookies would ride along).
    const other: Server = createServer((_req, res) => {
      res.setHeader('content-type', 'text/html');
      res.end('<!doctype html><title>other</title>');
    });
    await new Promise<void>((r) => other.listen(0, '127.0.0.1', r));
    const otherUrl = `http://127.0.0.1:${(other.address() as AddressInfo).port}/`;
    const browser = await launchChromium({ args: ['--host-resolver-rules=MAP rebind.test 127.0.0.1'] });
    try {
      const context = await browser.newContext();
      const page = await context.newPage();
      await page.goto(dash.url); // the user's own visit: cookie set
      await expect(page.evaluate(async () => (await fetch('/api/config')).status)).resolves.toBe(200);

      // A page of another origin, in the same browser session, reaches for the API.
      const evil = await context.newPage();
      await evil.goto(otherUrl);
      const statuses: number[] = [];
      evil.on('response', (r) => r.url().includes('/api/config') && statuses.push(r.status()));
      const target = `http://127.0.0.1:${dash.port}/api/config`;
      await evil.evaluate(async (u) => {
        await fetch(u, { mode: 'no-cors', credentials: 'include' }).catch(() => undefined);
      }, target);
      await expect.poll(() => statuses, { timeout: 10_000 }).toEqual([403]);

      // DNS rebinding: a name that now resolves to 127.0.0.1.
      const rebound = await context.newPage();
      const res = await rebound.goto(`http://rebind.test:${dash.port}/?secret=${dash.secret}`);
      expect(res?.status()).toBe(421);
      await rebound.screenshot({ path: join(outputDir(), 'security-rebinding.png') });
    } finally {
      await browser.close();
      await new Promise((r) => other.close(r));
    }
  }, 60_000);
});
