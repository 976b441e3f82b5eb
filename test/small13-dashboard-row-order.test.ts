/**
 * small13 (session 13): the dashboard's live table lists exchanges by when they started, newest
 * first, as its TIME column reads, the way Chrome DevTools' network list and Hubble order theirs.
 * The dashboard taps `end` events only, which come in the order the exchanges ended and, from
 * several sidecars, in each one's batches: rows were in arrival order (review12: rows a few ms
 * apart looked out of order), and an exchange without its `req` event showed its end time under
 * TIME. A press still selects the row under the pointer (docs/decisions.md, session 9 small3).
 * Real Chromium (Debian's, playwright-core), the real page from a real dashboard server; only its
 * tap stream is scripted, so the events arrive in a known order.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { TapEvent } from '../tap-protocol/index.js';
import { browserSkipReason, startScriptedDashboard } from './dashboard-rig.js';

const skip = browserSkipReason();
const POLL = { timeout: 20_000, interval: 100 };
const T0 = Date.parse('2026-12-07T15:00:00.000Z');

/** An `end` event of exchange `n` that started at T0 + `startAt` ms and took `durationMs`. */
function end(n: number, pod: string, startAt: number, durationMs: number): TapEvent {
  return {
    kind: 'end',
    id: `1.${n}`,
    ts: new Date(T0 + startAt + durationMs).toISOString(),
    proxy: 'in',
    src: '10.0.0.1:40000',
    dst: '10.0.0.2:8080',
    pod,
    protocol: 'http/1.1',
    method: 'GET',
    scheme: 'http',
    authority: 'web',
    path: `/x${n}`,
    status: 200,
    latencyMs: durationMs,
    durationMs,
    requestBytes: 0,
    responseBytes: 2,
  };
}

// In the order they arrive: each pod's in the order they ended, the pods' batches one after the other.
const ARRIVING: TapEvent[] = [
  end(1, 'web-a', 0, 5), // ends at 5
  end(2, 'web-a', 40, 10), // ends at 50
  end(3, 'web-a', 10, 300), // a slow one: started early, ended at 310
  end(4, 'web-b', 20, 2), // another sidecar's batch, after web-a's
  end(5, 'web-b', 60, 1),
];
/** Newest start first. */
const BY_START = ['/x5', '/x2', '/x4', '/x3', '/x1'];

describe.skipIf(skip !== undefined)(`small13: the dashboard's rows by start time${skip ? ` (skipped: ${skip})` : ''}`, () => {
  let rig: Awaited<ReturnType<typeof startScriptedDashboard>>;
  beforeAll(async () => {
    // No tap API behind it: the page's tap stream is answered by the test (page.route).
    rig = await startScriptedDashboard();
  }, 60_000);
  afterAll(async () => {
    expect(rig?.pageErrors).toEqual([]);
    await rig?.close();
  });

  it('rows read newest start first whatever order their events came in; TIME is the start; a press selects the row', async () => {
    const page = await rig.open(ARRIVING);
    await expect.poll(() => page.locator('.tr').count(), POLL).toBe(ARRIVING.length);
    const rows = () => page.locator('.tr').evaluateAll((trs) => trs.map((r) => ({ path: r.querySelector('.path')?.textContent ?? '', ts: r.getAttribute('data-ts') ?? '' })));
    const shown = await rows();
    expect(shown.map((r) => r.path)).toEqual(BY_START);
    const startOf = (path: string) => {
      const e = ARRIVING.find((x) => x.path === path)!;
      return new Date(Date.parse(e.ts) - e.durationMs!).toISOString();
    };
    expect(shown.map((r) => r.ts)).toEqual(BY_START.map(startOf));
    // The TIME cell says the same instant, in the page's local time.
    const times = await page.locator('.tr .td:first-child').allTextContents();
    const expectedTimes = await page.evaluate((isos) => isos.map((iso) => {
      const d = new Date(iso);
      const p = (n: number, w = 2) => String(n).padStart(w, '0');
      return `${p(d.getHours())}:${p(d.getMinutes())}:${p(d.getSeconds())}.${p(d.getMilliseconds(), 3)}`;
    }), BY_START.map(startOf));
    expect(times).toEqual(expectedTimes);

    // A press on the slow exchange's row (placed by its start, not its end) selects that exchange.
    await page.locator('.tr', { has: page.locator('.path', { hasText: /^\/x3$/ }) }).locator('.td').first().dispatchEvent('pointerdown', { button: 0 });
    await expect.poll(() => page.locator('.tr.selected .path').textContent(), POLL).toBe('/x3');
    await page.close();
  }, 60_000);
});
