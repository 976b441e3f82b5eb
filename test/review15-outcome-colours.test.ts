/**
 * review15: `tap --color` and the dashboard colour an exchange by one rule (tap-protocol/outcome.ts
 * outcomeTone), the series' own: red exactly where /metrics counts a failure, amber for what counts
 * as success yet did not succeed (a gRPC code other than OK that is not a failure: NOT_FOUND,
 * INVALID_ARGUMENT), green for OK. Before, `tap --color` painted every code but OK red while the
 * dashboard showed NOT_FOUND green and `stat` counted it a success.
 *
 * Real grpc-js calls through a real sidecar (both engines), the real `meshtap tap` CLI reading the
 * flight recorder, /metrics, and the events it printed shown by the real dashboard page in Chromium.
 */
import * as grpc from '@grpc/grpc-js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { TapEvent } from '../tap-protocol/index.js';
import { browserSkipReason, startScriptedDashboard } from './dashboard-rig.js';
import { ENGINES, type Engine } from './support/engines.js';
import { ECHO_SERVICE, echoClient, startGrpcEcho, type GrpcEcho } from './support/grpc-echo.js';
import { runMeshtap, startSidecarProcess, type SidecarProcess } from './support/meshtap-process.js';
import { scrape, sumMetric } from './support/metrics-scrape.js';
import { until } from './support/until.js';

/** grpc code → how the series count it and the colour both outputs give it. */
const CODES: Array<[number, 'success' | 'failure', 'green' | 'amber' | 'red']> = [
  [grpc.status.OK, 'success', 'green'],
  [grpc.status.NOT_FOUND, 'success', 'amber'],
  [grpc.status.INVALID_ARGUMENT, 'success', 'amber'],
  [grpc.status.INTERNAL, 'failure', 'red'],
  [grpc.status.UNAVAILABLE, 'failure', 'red'],
];
const SGR_COLOUR: Record<string, string> = { '32': 'green', '33': 'amber', '31': 'red' };
const ROW_COLOUR: Record<string, string> = { 'st-ok': 'green', 'st-warn': 'amber', 'st-fail': 'red' };
const CHIP_COLOUR: Record<string, string> = { 'grpc-ok': 'green', 'grpc-warn': 'amber', 'grpc-fail': 'red' };
const skipBrowser = browserSkipReason();

describe.each(ENGINES)('review15: one colour rule for tap --color, the dashboard and the series (%s engine)', (engine: Engine) => {
  let echo: GrpcEcho;
  let sidecar: SidecarProcess;

  beforeAll(async () => {
    echo = await startGrpcEcho();
    sidecar = await startSidecarProcess(['--engine', engine, '--admin', '127.0.0.1:0', '--tap', '127.0.0.1:0', '--forward', `127.0.0.1:0=127.0.0.1:${echo.port}`]);
  }, 60_000);
  afterAll(async () => {
    await sidecar?.stop();
    await echo?.close();
  });

  it('red lines and rows are the failures /metrics counts; a gRPC code that is not a failure is amber in both', async () => {
    const client = echoClient(sidecar.forwards[0]!.address);
    try {
      for (const [code] of CODES) {
        const text = code === grpc.status.OK ? 'hello' : `fail:${code}:x`;
        const got = await new Promise<number>((resolve) => client.makeUnaryRequest(ECHO_SERVICE.Unary.path, (b: Buffer) => b, (b: Buffer) => b, Buffer.from(text), (err) => resolve(err?.code ?? 0)));
        expect(got).toBe(code);
      }
    } finally {
      client.close();
    }
    let failures = 0;
    await until('every call counted', async () => {
      const samples = await scrape(sidecar.admin!);
      failures = sumMetric(samples, 'response_total', { classification: 'failure' });
      return sumMetric(samples, 'response_total') >= CODES.length;
    });
    expect(failures).toBe(CODES.filter(([, counted]) => counted === 'failure').length);

    const text = await runMeshtap(['tap', '--proxy', sidecar.tap!, '--last', String(CODES.length), '--color', 'always']);
    expect([text.code, text.stderr]).toEqual([0, '']);
    const cli = text.stdout
      .split('\n')
      .filter((l) => / grpc-status=/.test(l))
      .map((l) => [Number(/grpc-status=(\d+)/.exec(l)![1]), SGR_COLOUR[/\x1b\[(\d+)mend\x1b\[0m/.exec(l)?.[1] ?? '']]);
    expect(cli).toEqual(CODES.map(([code, , colour]) => [code, colour]));
    expect(cli.filter(([, c]) => c === 'red').length).toBe(failures);

    if (skipBrowser !== undefined) return;
    const json = await runMeshtap(['tap', '--proxy', sidecar.tap!, '--last', String(CODES.length), '-o', 'json']);
    const events = json.stdout.trim().split('\n').map((l) => JSON.parse(l) as TapEvent);
    const rig = await startScriptedDashboard();
    try {
      const page = await rig.open(events);
      await expect.poll(() => page.locator('.tr').count(), { timeout: 20_000, interval: 100 }).toBe(CODES.length);
      const rows: Array<[number, string]> = [];
      for (const e of events) {
        const row = page.locator(`.tr[data-key="${e.pod ?? ''}|${e.proxy}|${e.id}"]`);
        const cls = await row.getAttribute('class');
        rows.push([e.grpcStatus!, ROW_COLOUR[Object.keys(ROW_COLOUR).find((k) => cls?.split(' ').includes(k)) ?? ''] ?? String(cls)]);
        // The gRPC column's chip says the same (it painted every code but OK red).
        const chip = await row.locator('.c-grpc button, .c-grpc span').first().getAttribute('class');
        rows.push([e.grpcStatus!, CHIP_COLOUR[Object.keys(CHIP_COLOUR).find((k) => chip?.split(' ').includes(k)) ?? ''] ?? String(chip)]);
      }
      expect(rows.sort((a, b) => a[0] - b[0])).toEqual(CODES.flatMap(([code, , colour]) => [[code, colour], [code, colour]]).sort((a, b) => (a[0] as number) - (b[0] as number)));
      // With the detail open the GRPC column is hidden: each row's status cell then names its gRPC
      // code, not HTTP's 200 (a red "200" read as a success; lead, session 15).
      const statusText = async (e: TapEvent) => (await page.locator(`.tr[data-key="${e.pod ?? ''}|${e.proxy}|${e.id}"] .td`).nth(6).innerText()).trim();
      expect(await statusText(events[0]!)).toBe('200');
      await page.locator('.tr').first().locator('.td').first().click(); // the time cell (a chip would filter)
      await page.locator('.traffic.with-detail').waitFor();
      expect(await page.locator('.th.c-grpc').isVisible()).toBe(false);
      const shown = await Promise.all(events.map(async (e) => [e.grpcStatus!, await statusText(e)] as const));
      expect(shown.sort((a, b) => a[0] - b[0])).toEqual(CODES.map(([code]) => [code, grpc.status[code]]).sort((a, b) => (a[0] as number) - (b[0] as number)));
      expect(rig.pageErrors).toEqual([]);
    } finally {
      await rig.close();
    }
  }, 120_000);
});
