/**
 * Regression (session 7 walk-through, screens/small-narrow-1024.png): on a 1024 px window with the
 * detail panel open, the traffic rows kept time, direction, source, method and path and lost
 * STATUS and LATENCY off their right edge. In a real Chromium against the demo mesh: at several
 * widths, with and without the detail, every column header shown lies inside the table and is
 * not cut, and status and latency are among them.
 */
import { join } from 'node:path';
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { browserSkipReason, launchChromium, outputDir, startDashboardRig, type DashboardRig } from './dashboard-rig.js';

const skip = browserSkipReason();
const POLL = { timeout: 20_000, interval: 200 };

describe.skipIf(skip !== undefined)(`dashboard on narrower windows${skip ? ` (skipped: ${skip})` : ''}`, () => {
  let rig: DashboardRig;
  let browser: Browser;
  beforeAll(async () => {
    rig = await startDashboardRig({ rps: 5 });
    browser = await launchChromium();
  }, 60_000);
  afterAll(async () => {
    await browser?.close();
    await rig?.close();
  });

  it.each([1024, 1280, 1366, 1440])('%i px wide: status and latency stay on screen, with the detail open too', async (width) => {
    const page = await browser.newPage({ viewport: { width, height: 760 } });
    await page.goto(rig.admin.url);
    const finished = page.locator('.tr').filter({ has: page.locator('.status') });
    await expect.poll(() => finished.count(), POLL).toBeGreaterThanOrEqual(1);
    for (const detail of [false, true]) {
      if (detail) {
        await finished.first().locator('.td').first().click();
        await page.getByTestId('detail').waitFor();
      }
      const layout = await page.locator('.table').evaluate((table) => {
        const right = table.getBoundingClientRect().right;
        return [...table.querySelectorAll('.thead .th')]
          .filter((th) => th.getClientRects().length > 0) // display: none has no boxes
          .map((th) => ({ name: th.textContent, inside: th.getBoundingClientRect().right <= right + 0.5, cut: th.scrollWidth > th.clientWidth }));
      });
      const names = layout.map((c) => c.name);
      expect({ width, detail, names }).toEqual({ width, detail, names: expect.arrayContaining(['Time', 'Path', 'Status', 'Latency']) });
      expect({ width, detail, wrong: layout.filter((c) => !c.inside || c.cut) }).toEqual({ width, detail, wrong: [] });
    }
    await page.screenshot({ path: join(outputDir(), `narrow-${width}-detail.png`) });
    await page.close();
  }, 60_000);
});
