/**
 * Session 13 (lead): the dashboard's detail panel says why a stream is not counted as a response
 * (unproc13's `unprocessed`: REFUSED_STREAM before any answer, or past a GOAWAY's last stream):
 * its badge reads `not processed (refused)`, not the bare error, and the overview names the
 * reason. Real Chromium (Debian's, playwright-core), the real page from a real dashboard server;
 * only its tap stream is scripted.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { TapEvent } from '../tap-protocol/index.js';
import { browserSkipReason, startScriptedDashboard } from './dashboard-rig.js';

const skip = browserSkipReason();
const POLL = { timeout: 20_000, interval: 100 };

function call(n: number, over: Partial<TapEvent>): TapEvent {
  return {
    kind: 'end',
    id: `1.${n}`,
    ts: new Date(Date.parse('2026-12-07T15:00:00.000Z') + n).toISOString(),
    proxy: 'out',
    src: '10.0.0.1:40000',
    dst: '10.0.0.2:8080',
    pod: 'web-a',
    protocol: 'grpc',
    method: 'POST',
    scheme: 'http',
    authority: 'voting',
    path: `/v.S/M${n}`,
    latencyMs: 1,
    durationMs: 1,
    requestBytes: 5,
    responseBytes: 0,
    requestMessages: 1,
    responseMessages: 0,
    ...over,
  };
}

const EVENTS: TapEvent[] = [
  call(1, { grpcStatus: 14, error: 'reset', unprocessed: 'refused' }),
  call(2, { grpcStatus: 14, error: 'goaway', unprocessed: 'goaway' }),
  call(3, { grpcStatus: 14, error: 'reset' }),
  // Session 14: the observer gave up on the connection before this call's response ended.
  call(4, { error: 'observer-gave-up', latencyMs: undefined }),
];

describe.skipIf(skip !== undefined)(`the dashboard's detail panel names an unprocessed stream${skip ? ` (skipped: ${skip})` : ''}`, () => {
  let rig: Awaited<ReturnType<typeof startScriptedDashboard>>;
  beforeAll(async () => {
    rig = await startScriptedDashboard();
  }, 60_000);
  afterAll(async () => {
    expect(rig?.pageErrors).toEqual([]);
    await rig?.close();
  });

  it('refused, past a GOAWAY, an outcome not seen (observer gave up), and (for contrast) a plain reset', async () => {
    const page = await rig.open(EVENTS);
    await expect.poll(() => page.locator('.tr').count(), POLL).toBe(EVENTS.length);
    const detailOf = async (path: string): Promise<{ badge: string; overview: string }> => {
      await page.locator('.tr', { has: page.locator('.path', { hasText: new RegExp(`^${path.replace(/\./g, '\\.')}$`) }) }).locator('.td').first().dispatchEvent('pointerdown', { button: 0 });
      await expect.poll(() => page.locator('.tr.selected .path').textContent(), POLL).toBe(path);
      const detail = page.getByTestId('detail');
      return { badge: (await detail.locator('.badge').first().textContent()) ?? '', overview: (await detail.locator('dl.kv').first().textContent()) ?? '' };
    };
    const refused = await detailOf('/v.S/M1');
    expect(refused.badge).toBe('not processed (refused)');
    expect(refused.overview).toContain('Not processed');
    expect(refused.overview).toContain('REFUSED_STREAM');
    const goaway = await detailOf('/v.S/M2');
    expect(goaway.badge).toBe('not processed (goaway)');
    expect(goaway.overview).toContain("GOAWAY said it did not process this stream");
    const reset = await detailOf('/v.S/M3');
    expect(reset.badge).toBe('reset');
    expect(reset.overview).not.toContain('Not processed');
    // Started is the exchange's start (the row's TIME: ts − durationMs), not the end event's ts (review14).
    expect(reset.overview).toContain('Started2026-12-07T15:00:00.002Z');
    expect(reset.overview).toContain('Ended2026-12-07T15:00:00.003Z');
    const unseen = await detailOf('/v.S/M4');
    expect(unseen.badge).toBe('outcome not seen (observer gave up)');
    expect(unseen.overview).toContain('Outcome not seen');
    expect(unseen.overview).toContain('not counted as a response');
    expect(await page.locator('.tr.selected').getAttribute('class')).toContain('st-warn');
    expect(reset.overview).not.toContain('Outcome not seen');
    await page.close();
  }, 60_000);
});
