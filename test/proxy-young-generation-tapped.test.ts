/**
 * Issue 14's tapped RSS (≤ 60 MB under load): `meshtap proxy --engine native` caps V8's young
 * generation while a tap is attached and gives V8 its default back when the last tap leaves
 * (bin/young-generation.ts capYoungGenerationWhileTapped). The probe (support/young-generation-probe.mjs)
 * runs in the real sidecar process and, on SIGUSR2, allocates as a tap's event churn does, then writes
 * the new space's size: ≤ 4 MiB while tapped; past 8 MiB untapped (the control: the same allocation
 * grows an uncapped new space) and after the tap left.
 */
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { openTapStream, type TapStream } from '../tap-protocol/index.js';
import { scrape, sumMetric } from './support/metrics-scrape.js';
import { startSidecarProcess, type SidecarProcess } from './support/meshtap-process.js';
import { until } from './support/until.js';

const PROBE = fileURLToPath(new URL('./support/young-generation-probe.mjs', import.meta.url));
const ADDON = fileURLToPath(new URL('../native/build/Release/meshtap_native.node', import.meta.url));
const MiB = 1024 * 1024;

let running: SidecarProcess | undefined;
let tap: TapStream | undefined;
let dir: string | undefined;
afterEach(async () => {
  tap?.cancel();
  tap = undefined;
  await running?.stop();
  running = undefined;
  if (dir) rmSync(dir, { recursive: true, force: true });
  dir = undefined;
});

async function startNative(nodeOptions = ''): Promise<{ sidecar: SidecarProcess; out: string }> {
  dir = mkdtempSync(join(tmpdir(), 'meshtap-young-tapped-'));
  const out = join(dir, 'new-space');
  running = await startSidecarProcess(['--engine', 'native', '--forward', '127.0.0.1:0=127.0.0.1:9', '--admin', '127.0.0.1:0', '--tap', '127.0.0.1:0'], {
    env: { MESHTAP_ENGINE: 'native', MESHTAP_YOUNG_PROBE: out, NODE_OPTIONS: `--import ${PROBE} ${nodeOptions}`.trim() },
  });
  return { sidecar: running, out };
}

/** The new space's size after the probe's allocation in the sidecar's process. */
async function newSpaceAfterLoad(sidecar: SidecarProcess, out: string): Promise<number> {
  rmSync(out, { force: true });
  sidecar.child.kill('SIGUSR2');
  await until('the probe answered SIGUSR2', () => existsSync(out) && readFileSync(out, 'utf8') !== '');
  return Number(readFileSync(out, 'utf8'));
}

const subscribers = async (sidecar: SidecarProcess): Promise<number> => sumMetric(await scrape(sidecar.admin!), 'meshtap_tap_subscribers', {});

describe.skipIf(!existsSync(ADDON))('the native sidecar caps its young generation while tapped (issue 14, tapped RSS)', () => {
  it('untapped, V8 grows the new space as it would (the control)', async () => {
    const { sidecar, out } = await startNative();
    expect(await newSpaceAfterLoad(sidecar, out)).toBeGreaterThan(8 * MiB);
  });

  it('while a tap is attached the new space stays at its start size', async () => {
    const { sidecar, out } = await startNative();
    tap = openTapStream(sidecar.tap!, { matches: [], bodies: true });
    await until('the tap is attached', async () => (await subscribers(sidecar)) === 1);
    const bytes = await newSpaceAfterLoad(sidecar, out);
    expect(bytes).toBeGreaterThan(0);
    expect(bytes).toBeLessThanOrEqual(4 * MiB);
  });

  it('once the last tap left, V8 may grow it again', async () => {
    const { sidecar, out } = await startNative();
    tap = openTapStream(sidecar.tap!, { matches: [], bodies: false });
    await until('the tap is attached', async () => (await subscribers(sidecar)) === 1);
    tap.cancel();
    tap = undefined;
    await until('the tap left', async () => (await subscribers(sidecar)) === 0);
    expect(await newSpaceAfterLoad(sidecar, out)).toBeGreaterThan(8 * MiB);
  });

  it("a user's own young generation size is kept while tapped", async () => {
    const { sidecar, out } = await startNative('--max-semi-space-size=16');
    tap = openTapStream(sidecar.tap!, { matches: [], bodies: false });
    await until('the tap is attached', async () => (await subscribers(sidecar)) === 1);
    expect(await newSpaceAfterLoad(sidecar, out)).toBeGreaterThan(8 * MiB);
  });
});
