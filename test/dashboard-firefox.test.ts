/**
 * The dashboard in Firefox (Debian's firefox-esr, driven by puppeteer-core over WebDriver BiDi;
 * playwright-core drives only its own patched Firefox): the same demo mesh and dashboards as the
 * Chromium tests, a smoke test of what a person does first: the secret URL opens the page (and
 * leaves the address bar), live rows stream in, a row's detail opens with its JSON body.
 * Screenshots land in test-output/dashboard/firefox-*.png.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import puppeteer, { type Browser, type Page } from 'puppeteer-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { browserSkipReason, outputDir, startDashboardRig, type DashboardRig } from './dashboard-rig.js';

const FIREFOX = '/usr/bin/firefox-esr';
const skip = existsSync(FIREFOX) ? browserSkipReason() : `${FIREFOX} is missing (Debian package firefox-esr; scripts/setup.sh installs it)`;
const WAIT = { timeout: 30_000, polling: 200 };

describe.skipIf(skip !== undefined)(`dashboard in Firefox${skip ? ` (skipped: ${skip})` : ''}`, () => {
  let rig: DashboardRig;
  let browser: Browser;
  const pageErrors: string[] = [];
  const shots = outputDir();

  beforeAll(async () => {
    rig = await startDashboardRig({ rps: 10 });
    browser = await puppeteer.launch({ browser: 'firefox', executablePath: FIREFOX, headless: true, protocolTimeout: 60_000 });
  }, 90_000);
  afterAll(async () => {
    await browser?.close();
    await rig?.close();
    expect(pageErrors).toEqual([]);
  }, 60_000);

  async function open(url: string): Promise<Page> {
    const page = await browser.newPage();
    page.on('pageerror', (e) => pageErrors.push(e instanceof Error ? e.message : String(e)));
    await page.setViewport({ width: 1440, height: 860 });
    await page.goto(url);
    return page;
  }

  it('opens with the secret URL (then a cookie), streams live rows, and opens a row with its JSON body', async () => {
    const page = await open(`${rig.admin.url}&q=${encodeURIComponent('--path /api/list')}`);
    expect(new URL(page.url()).searchParams.has('secret')).toBe(false); // traded for the session cookie
    expect(new URL(page.url()).searchParams.get('q')).toBe('--path /api/list');
    // Three finished rows: the newest began after the tap did, so its body was captured.
    await page.waitForFunction(`document.querySelectorAll('.tr[data-dst="deploy/web"] .status').length >= 3`, WAIT);
    await page.screenshot({ path: join(shots, 'firefox-traffic-live.png') });
    expect(await page.$$eval('.tr', (rows) => rows.every((r) => r.getAttribute('data-dst') === 'deploy/web'))).toBe(true);

    // A finished exchange (its row shows a status): open it, then its response.
    await page.click('.tr:has(.status) .td');
    await page.waitForSelector('[role="tab"]::-p-text(Response)', WAIT);
    await page.click('[role="tab"]::-p-text(Response)');
    await page.waitForFunction(`/"shortcode"/.test(document.querySelector('[data-testid="body-response"] pre')?.textContent ?? '')`, WAIT);
    await page.screenshot({ path: join(shots, 'firefox-detail.png') });
    await page.close();
  }, 90_000);
});
