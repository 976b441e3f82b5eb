/**
 * review16's walk-through: with the detail panel open (and under 900 px) a gRPC row's status cell
 * names its gRPC code (session 15), but the cell was 112 px (70 px under 900 px) and the code was
 * cut: UNAVAILABLE read "UNAVAIL…", RESOURCE_EXHAUSTED worse. The name is shown whole, at each
 * layout the cell appears in. The real page in Chromium, fed gRPC end events as the demo's sidecars
 * send them.
 */
import { describe, expect, it } from 'vitest';
import type { TapEvent } from '../tap-protocol/index.js';
import { browserSkipReason, startScriptedDashboard } from './dashboard-rig.js';

const skip = browserSkipReason();

/** The longest gRPC code names, and a short one. */
const CODES: Array<[number, string]> = [
  [8, 'RESOURCE_EXHAUSTED'],
  [9, 'FAILED_PRECONDITION'],
  [4, 'DEADLINE_EXCEEDED'],
  [14, 'UNAVAILABLE'],
  [0, 'OK'],
];

function grpcEnd(code: number, i: number): TapEvent {
  return {
    kind: 'end',
    id: `voting-demo-0/1.${i + 1}`,
    ts: new Date(Date.now() - 1000 + i).toISOString(),
    proxy: 'in',
    src: '127.0.0.1:49470',
    dst: '127.0.0.1:40715',
    protocol: 'grpc',
    method: 'POST',
    scheme: 'http',
    authority: '127.0.0.1:46431',
    path: '/emojivoto.v1.VotingService/Vote',
    dstWorkload: 'deploy/voting',
    dstNamespace: 'demo',
    srcWorkload: 'deploy/web',
    srcNamespace: 'demo',
    pod: 'voting-demo-0',
    status: 200,
    latencyMs: 1.5,
    durationMs: 1.5,
    grpcStatus: code,
    requestBytes: 17,
    responseBytes: 0,
    requestMessages: 1,
    responseMessages: 0,
  } as TapEvent;
}

describe.skipIf(skip !== undefined)('review16: the gRPC code in the status cell is shown whole', () => {
  it.each([
    ['1440 px, detail open', 1440, 860, true],
    ['1280 px, detail open', 1280, 800, true],
    ['1024 px, detail open', 1024, 768, true],
    ['800 px, no detail', 800, 700, false],
    ['800 px, detail open', 800, 700, true],
  ] as Array<[string, number, number, boolean]>)('%s', async (_name, width, height, detail) => {
    const events = CODES.map(([code], i) => grpcEnd(code, i));
    const rig = await startScriptedDashboard();
    try {
      const page = await rig.open(events);
      await page.setViewportSize({ width, height });
      await expect.poll(() => page.locator('.tr').count(), { timeout: 20_000, interval: 100 }).toBe(CODES.length);
      if (detail) {
        await page.locator('.tr').first().locator('.td').first().click(); // the time cell (a chip would filter)
        await page.locator('.traffic.with-detail').waitFor();
      }
      const shown: Array<[string, string, boolean]> = [];
      for (const [i, e] of events.entries()) {
        const chip = page.locator(`.tr[data-key="${e.pod}|${e.proxy}|${e.id}"] .chip.grpc-inline`);
        expect(await chip.isVisible()).toBe(true);
        // Cut by its cell (text-overflow: ellipsis) when its text is wider than its box.
        const cut = await chip.evaluate((el) => el.scrollWidth > el.clientWidth);
        shown.push([CODES[i]![1], (await chip.innerText()).trim(), cut]);
      }
      expect(shown).toEqual(CODES.map(([, name]) => [name, name, false]));
      // And the row still fits its table: the latency cell ends inside it (review10's 700 px cut).
      const table = (await page.locator('.table').boundingBox())!;
      const latency = (await page.locator('.tr').first().locator('.td:visible').last().boundingBox())!;
      const fits = latency.x + latency.width <= table.x + table.width + 0.5;
      expect(fits, `the row ends at ${latency.x + latency.width - table.x} px of a ${table.width} px table`).toBe(true);
      expect(rig.pageErrors).toEqual([]);
    } finally {
      await rig.close();
    }
  }, 120_000);
});
