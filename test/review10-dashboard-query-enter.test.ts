/**
 * review10 (walk-through): Enter in the dashboard's query bar was judged by the parser's answer
 * for the text before. The bar asks the server's copy of the CLI parser 150 ms after each
 * keystroke; Enter pressed sooner (a paste and Enter, a fast typist) used the previous answer:
 * a valid query typed over an invalid one was silently not applied (the bar then said "Enter
 * applies" to someone who had just pressed it), and an invalid one typed over a valid one was
 * applied and stopped the tap. Enter now waits for the answer for the text it applies.
 */
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { browserSkipReason, launchChromium, startDashboardRig, type DashboardRig } from './dashboard-rig.js';

const skip = browserSkipReason();
const POLL = { timeout: 15_000, interval: 100 };

describe.skipIf(skip !== undefined)(`review10: Enter in the query bar right after typing${skip ? ` (skipped: ${skip})` : ''}`, () => {
  let rig: DashboardRig;
  let browser: Browser;
  const pageErrors: string[] = [];

  beforeAll(async () => {
    rig = await startDashboardRig({ rps: 2 });
    browser = await launchChromium();
  }, 60_000);
  afterAll(async () => {
    expect(pageErrors).toEqual([]);
    await browser?.close();
    await rig?.close();
  });

  async function open(): Promise<Page> {
    const page = await (await browser.newContext({ viewport: { width: 1280, height: 800 } })).newPage();
    page.on('pageerror', (e) => pageErrors.push(e.message));
    await page.goto(rig.admin.url);
    await page.locator('#query').waitFor();
    return page;
  }
  const appliedQuery = (page: Page) => new URL(page.url()).searchParams.get('q') ?? '';

  it('a valid query typed over an invalid one and entered at once is applied', async () => {
    const page = await open();
    await page.locator('#query').fill('--status 6xx');
    await expect.poll(() => page.getByRole('alert').textContent(), POLL).toMatch(/6xx/);
    await page.locator('#query').fill('--path /api/vote');
    await page.locator('#query').press('Enter');
    await expect.poll(() => appliedQuery(page), POLL).toBe('--path /api/vote');
    await page.close();
  }, 60_000);

  it('an invalid query typed over a valid one and entered at once is not applied; the error is shown', async () => {
    const page = await open();
    await page.locator('#query').fill('--path /api');
    await expect.poll(() => page.getByTestId('cli-command').textContent(), POLL).toMatch(/--path \/api$/);
    await page.locator('#query').fill('--status 6xx');
    await page.locator('#query').press('Enter');
    await expect.poll(() => page.getByRole('alert').textContent(), POLL).toMatch(/6xx/);
    await page.waitForTimeout(500);
    expect(appliedQuery(page)).toBe('');
    await page.close();
  }, 60_000);
});
