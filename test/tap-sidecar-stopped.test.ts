/**
 * Issue 11 item 6 (b): a `meshtap tap --proxy` attached to a sidecar that stops (CMD of a
 * `meshtap run` exited, or the sidecar got SIGTERM) printed a raw gRPC error
 * ("13 INTERNAL: Received RST_STREAM with code 2 …", exit 1). The sidecar now ends its taps with
 * a reason before it shuts down, and the CLI says so in one line and exits 0.
 */
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { spawnMeshtap, startSidecarProcess, type SidecarProcess } from './support/meshtap-process.js';
import { waitForMetric } from './support/metrics-scrape.js';
import { actUntil } from './support/until.js';

let origin: http.Server | undefined;
let sidecar: SidecarProcess | undefined;

afterEach(async () => {
  await sidecar?.stop();
  await new Promise((r) => (origin ? origin.close(r) : r(undefined)));
  sidecar = undefined;
  origin = undefined;
});

async function startMesh(): Promise<SidecarProcess> {
  origin = http.createServer((_req, res) => res.end('ok'));
  await new Promise<void>((r) => origin!.listen(0, '127.0.0.1', r));
  sidecar = await startSidecarProcess(['--forward', `127.0.0.1:0=127.0.0.1:${(origin.address() as AddressInfo).port}`, '--tap', '127.0.0.1:0', '--admin', '127.0.0.1:0', '--pod', 'web-1']);
  return sidecar;
}

function get(s: SidecarProcess, path: string): Promise<void> {
  return new Promise((resolve, reject) => {
    http.get({ host: '127.0.0.1', port: s.forwards[0]!.port, path, agent: false }, (res) => res.resume().on('end', resolve)).on('error', reject);
  });
}

describe('a tap whose sidecar stops', { timeout: 60_000 }, () => {
  for (const cmd of ['tap', 'top'] as const) {
    it(`${cmd} --proxy: one line saying the sidecar stopped, exit 0, no RST_STREAM`, async () => {
      const s = await startMesh();
      const tap = spawnMeshtap(cmd === 'tap' ? ['tap', '--proxy', s.tap!, '-o', 'json'] : ['top', '--proxy', s.tap!, '-o', 'json']);
      // The tap is attached once an exchange made now shows up (tap) / once the sidecar counts its subscriber (top prints at the end).
      if (cmd === 'tap') {
        let i = 0;
        await actUntil('the tap prints an exchange made now', () => tap.stdout() !== '', () => get(s, `/ping-${i++}`), { timeoutMs: 5_000, intervalMs: 100 });
        expect(tap.stdout()).toContain('"path":"/ping-');
      } else {
        await waitForMetric(s.admin!, 'meshtap_tap_subscribers', {}, (v) => v > 0);
        await get(s, '/ping');
      }
      await s.stop();
      const r = await tap.done;
      expect(r.stderr).not.toMatch(/RST_STREAM|INTERNAL/);
      expect(r.stderr).toBe(`meshtap: the sidecar at ${s.tap} stopped; the tap ended\n`);
      expect(r.code).toBe(0);
    });
  }
});
