/**
 * Regression (session 7 walk-through, screens/small-narrow-1024.png): on a 1024 px window with the
 * detail panel open, the traffic rows kept time, direction, source, method and path and lost
 * STATUS and LATENCY off their right edge. In a real Chromium against the demo mesh: at several
 * widths, with and without the detail, every column header shown lies inside the table and is
 * not cut, and status and latency are among them.
 *
 * Regression (review10 #11, screenshot review10-narrow-700.png): at 700 px the row was wider than
 * the window and LATENCY was cut. At 700 px nothing may stick out of the window, in any view,
 * with the detail open too: every element's visible part (clipped by its scrolling ancestors)
 * lies inside the viewport, and the page does not scroll sideways.
 */
import { join } from 'node:path';
import type { Browser, Page } from 'playwright-core';
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
          .map((th) => {
            // scrollWidth misses text cut inside the padding (ellipsis); the text's own box does not.
            const range = th.ownerDocument.createRange();
            range.selectNodeContents(th);
            const style = th.ownerDocument.defaultView!.getComputedStyle(th);
            const room = th.clientWidth - parseFloat(style.paddingLeft) - parseFloat(style.paddingRight);
            return { name: th.textContent, inside: th.getBoundingClientRect().right <= right + 0.5, cut: range.getBoundingClientRect().width > room + 0.01 };
          });
      });
      const names = layout.map((c) => c.name);
      expect({ width, detail, names }).toEqual({ width, detail, names: expect.arrayContaining(['Time', 'Path', 'Status', 'Latency']) });
      expect({ width, detail, wrong: layout.filter((c) => !c.inside || c.cut) }).toEqual({ width, detail, wrong: [] });
    }
    await page.screenshot({ path: join(outputDir(), `narrow-${width}-detail.png`) });
    await page.close();
  }, 60_000);

  /** Elements whose visible part (clipped by every ancestor that clips) lies right of the viewport or left of 0. */
  const overflowing = (page: Page): Promise<string[]> =>
    page.locator('body').evaluate((body) => {
      const doc = body.ownerDocument;
      const style = (el: typeof body) => doc.defaultView!.getComputedStyle(el);
      const width = doc.documentElement.clientWidth;
      const out: string[] = [];
      if (doc.documentElement.scrollWidth > width) out.push(`the page scrolls sideways (${doc.documentElement.scrollWidth} > ${width})`);
      for (const el of body.querySelectorAll('*')) {
        const r = el.getBoundingClientRect();
        if (r.width === 0 || r.height === 0 || style(el).visibility === 'hidden') continue;
        let left = r.left;
        let right = r.right;
        for (let a = el.parentElement; a && a !== body; a = a.parentElement) {
          if (style(a).overflowX === 'visible') continue;
          const ar = a.getBoundingClientRect();
          left = Math.max(left, ar.left);
          right = Math.min(right, ar.right);
        }
        if (right <= left) continue; // clipped away entirely (scrolled out of its container)
        if (right > width + 0.5 || left < -0.5) out.push(`${el.tagName.toLowerCase()}.${[...el.classList].join('.')} ${Math.round(left)}..${Math.round(right)} "${(el.textContent ?? '').slice(0, 30)}"`);
      }
      return out;
    });

  it('700 px wide: nothing sticks out of the window in any view; traffic keeps time, path, status and latency, with the detail open too', async () => {
    const width = 700;
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
        const right = Math.min(table.getBoundingClientRect().right, table.ownerDocument.documentElement.clientWidth);
        return [...table.querySelectorAll('.thead .th')]
          .filter((th) => th.getClientRects().length > 0)
          .map((th) => {
            // scrollWidth misses text cut inside the padding (ellipsis); the text's own box does not.
            const range = th.ownerDocument.createRange();
            range.selectNodeContents(th);
            const style = th.ownerDocument.defaultView!.getComputedStyle(th);
            const room = th.clientWidth - parseFloat(style.paddingLeft) - parseFloat(style.paddingRight);
            return { name: th.textContent, inside: th.getBoundingClientRect().right <= right + 0.5, cut: range.getBoundingClientRect().width > room + 0.01 };
          });
      });
      expect({ detail, names: layout.map((c) => c.name) }).toEqual({ detail, names: expect.arrayContaining(['Time', 'Path', 'Status', 'Latency']) });
      expect({ detail, wrong: layout.filter((c) => !c.inside || c.cut) }).toEqual({ detail, wrong: [] });
      expect({ detail, overflowing: await overflowing(page) }).toEqual({ detail, overflowing: [] });
      await page.screenshot({ path: join(outputDir(), `narrow-700${detail ? '-detail' : ''}.png`) });
    }
    for (const view of ['workloads', 'map']) {
      // The admin URL carries the dashboard's own query already.
      await page.goto(`${rig.admin.url}&view=${view}`);
      await page.locator(view === 'map' ? '.map' : '[data-testid=workloads]').first().waitFor({ timeout: 20_000 });
      expect({ view, overflowing: await overflowing(page) }).toEqual({ view, overflowing: [] });
      await page.screenshot({ path: join(outputDir(), `narrow-700-${view}.png`) });
    }
    await page.close();
  }, 90_000);
});
