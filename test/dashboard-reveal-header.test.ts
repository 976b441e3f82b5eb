/**
 * `--reveal-header NAME` from the dashboard's query bar (issue 14 loose end: the dashboard could
 * not ask for a revealed header at all; the query bar said "Unknown option '--reveal-header'").
 * In a real Chromium against the real demo mesh and tap API: a user with the body permission
 * (demo-admin) sees the header asked for, and only that one; without it in the query the value
 * reads redacted and the detail panel offers to ask for it; a user without the permission
 * (demo-viewer) asking for it gets the tap API's refusal, clearly, and never the value.
 */
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { request } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { browserSkipReason, launchChromium, outputDir, startDashboardRig, type DashboardRig } from './dashboard-rig.js';

const skip = browserSkipReason();
const POLL = { timeout: 20_000, interval: 250 };
const PATH = '/reveal-probe';

describe.skipIf(skip !== undefined)(`dashboard --reveal-header in Chromium${skip ? ` (skipped: ${skip})` : ''}`, () => {
  let rig: DashboardRig;
  let browser: Browser;
  const pageErrors: string[] = [];
  const shots = outputDir();
  const bearer = `Bearer s7-${randomBytes(12).toString('hex')}`;
  const apiKey = `key-${randomBytes(12).toString('hex')}`;

  beforeAll(async () => {
    rig = await startDashboardRig({ rps: 2 });
    browser = await launchChromium();
  }, 60_000);
  afterAll(async () => {
    expect(pageErrors).toEqual([]);
    await browser?.close();
    await rig?.close();
  });

  /** One request with both secrets, through web's sidecar (what the tap sees). */
  async function sendProbe(): Promise<void> {
    const r = await request(`http://${rig.mesh.web.inbound}${PATH}`, { headers: { authorization: bearer, 'x-api-key': apiKey } });
    await r.body.dump();
  }

  async function open(url: string): Promise<Page> {
    const ctx = await browser.newContext({ viewport: { width: 1440, height: 860 } });
    const page = await ctx.newPage();
    page.on('pageerror', (e) => pageErrors.push(e.message));
    await page.goto(url);
    return page;
  }

  const withQuery = (base: string, q: string): string => `${base}&target=deploy%2Fweb&q=${encodeURIComponent(q)}`;

  /** Sends probes until a finished row is on screen, then opens its request headers. */
  async function openFinishedRequest(page: Page): Promise<void> {
    const finished = page.locator('.tr').filter({ has: page.locator('.status') });
    await expect.poll(async () => (await sendProbe(), finished.count()), POLL).toBeGreaterThanOrEqual(1);
    await finished.first().locator('.td').first().click();
    await page.getByRole('tab', { name: 'Request' }).click();
  }

  const headerCell = (page: Page, name: string) =>
    page.getByTestId('detail').locator('table.headers tr').filter({ has: page.locator('th', { hasText: new RegExp(`^${name}$`, 'i') }) }).locator('td');

  it('an allowed --reveal-header shows that header, and only it', async () => {
    const page = await open(withQuery(rig.admin.url, `--path ${PATH} --reveal-header authorization`));
    await openFinishedRequest(page);
    await expect(headerCell(page, 'authorization').textContent()).resolves.toBe(bearer);
    await expect(headerCell(page, 'x-api-key').textContent()).resolves.toMatch(/^redacted/);
    expect(await page.content()).not.toContain(apiKey);
    await expect(page.getByTestId('cli-command').textContent()).resolves.toBe(`meshtap tap deploy/web -n emojivoto --path ${PATH} --reveal-header authorization`);
    await page.screenshot({ path: join(shots, 'reveal-header-admin.png') });
    await page.close();
  }, 60_000);

  it('without it the value is redacted; the detail panel adds it to the query, and then shows it', async () => {
    const page = await open(withQuery(rig.admin.url, `--path ${PATH}`));
    await openFinishedRequest(page);
    await expect(headerCell(page, 'authorization').textContent()).resolves.toMatch(/^redacted/);
    expect(await page.content()).not.toContain(bearer.slice('Bearer '.length));
    await headerCell(page, 'authorization').getByRole('button', { name: 'reveal' }).click();
    await page.waitForURL((u) => u.searchParams.get('q') === `--path ${PATH} --reveal-header authorization`);
    await openFinishedRequest(page);
    await expect(headerCell(page, 'authorization').textContent()).resolves.toBe(bearer);
    await page.close();
  }, 60_000);

  it('a user without the body permission gets the tap API refusal, never the value', async () => {
    const page = await open(withQuery(rig.viewer.url, `--path ${PATH} --reveal-header authorization`));
    const banner = page.getByTestId('feed-error');
    await expect.poll(async () => (await sendProbe(), banner.count()), POLL).toBe(1);
    await expect(banner.textContent()).resolves.toMatch(/--reveal-header authorization was refused: .*tap-bodies.*drop it from the query/);
    await expect(page.locator('.feed-status').textContent()).resolves.toMatch(/^stopped/);
    expect(await page.locator('.tr').count()).toBe(0);
    expect(await page.content()).not.toContain(bearer.slice('Bearer '.length));
    await page.screenshot({ path: join(shots, 'reveal-header-viewer-refused.png') });

    // The same user without --reveal-header: the tap runs, the header reads redacted.
    await page.goto(withQuery(new URL(page.url()).origin + '/?', `--path ${PATH}`));
    await openFinishedRequest(page);
    await expect(headerCell(page, 'authorization').textContent()).resolves.toMatch(/^redacted/);
    expect(await page.content()).not.toContain(bearer.slice('Bearer '.length));
    await page.close();
  }, 60_000);
});
