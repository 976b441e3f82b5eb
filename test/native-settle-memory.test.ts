/**
 * Issue 14's RSS under load (≤ 60 MB, untapped too): `meshtap proxy --engine native` gives back what
 * loading and starting left resident just after 'ready', and what a tap left once the last one is
 * gone (bin/young-generation.ts settleNativeMemory: V8's low-memory notification, then malloc_trim).
 * The probes (support/new-space-probe.mjs, support/young-generation-probe.mjs) run in the real sidecar
 * process: one reports the young generation's resident bytes, the other allocates as a busy JS thread
 * does. Start-up grows it to ~3 MiB resident, which V8's own memory reducer gives back only 8–25 s
 * later; settled, it is V8's smallest (a few hundred KiB).
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

const PROBE = fileURLToPath(new URL('./support/new-space-probe.mjs', import.meta.url));
const GROW = fileURLToPath(new URL('./support/young-generation-probe.mjs', import.meta.url));
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

async function startNative(): Promise<{ sidecar: SidecarProcess; out: string }> {
  dir = mkdtempSync(join(tmpdir(), 'meshtap-settle-'));
  const out = join(dir, 'new-space');
  running = await startSidecarProcess(['--engine', 'native', '--forward', '127.0.0.1:0=127.0.0.1:9', '--admin', '127.0.0.1:0', '--tap', '127.0.0.1:0'], {
    env: { MESHTAP_ENGINE: 'native', MESHTAP_NEW_SPACE_PROBE: out, MESHTAP_YOUNG_PROBE: `${out}-grown`, NODE_OPTIONS: `--import ${PROBE} --import ${GROW}` },
  });
  return { sidecar: running, out };
}

/** The new space's size (capacity) after the young-generation probe allocated as a tap's churn does. */
async function grownBytes(sidecar: SidecarProcess, out: string): Promise<number> {
  rmSync(`${out}-grown`, { force: true });
  sidecar.child.kill('SIGUSR2');
  await until('the probe answered SIGUSR2', () => existsSync(`${out}-grown`) && readFileSync(`${out}-grown`, 'utf8') !== '');
  return Number(readFileSync(`${out}-grown`, 'utf8'));
}

async function newSpaceBytes(sidecar: SidecarProcess, out: string): Promise<number> {
  rmSync(out, { force: true });
  sidecar.child.kill('SIGWINCH');
  await until('the probe answered SIGWINCH', () => existsSync(out) && readFileSync(out, 'utf8') !== '');
  return Number(readFileSync(out, 'utf8'));
}

const subscribers = async (sidecar: SidecarProcess): Promise<number> => sumMetric(await scrape(sidecar.admin!), 'meshtap_tap_subscribers', {});

describe.skipIf(!existsSync(ADDON))('the native sidecar settles its memory (issue 14, RSS under load)', () => {
  it("gives back the young generation start-up grew, just after 'ready'", async () => {
    const { sidecar, out } = await startNative();
    await until('the young generation is back to its smallest', async () => (await newSpaceBytes(sidecar, out)) <= 1 * MiB, { timeoutMs: 5000 });
  });

  it('gives back what grew while it was tapped once the last tap left', async () => {
    const { sidecar, out } = await startNative();
    await until('settled after start', async () => (await newSpaceBytes(sidecar, out)) <= 1 * MiB, { timeoutMs: 5000 });
    // Churn as a busy sidecar's JS thread makes grows the young generation (V8's default growth) …
    expect(await grownBytes(sidecar, out)).toBeGreaterThan(2 * MiB);
    expect(await newSpaceBytes(sidecar, out)).toBeGreaterThan(1 * MiB);
    // … a tap comes (capped where it is) and goes …
    tap = openTapStream(sidecar.tap!, { matches: [], bodies: true });
    await until('the tap is attached', async () => (await subscribers(sidecar)) === 1);
    tap.cancel();
    tap = undefined;
    await until('the tap left', async () => (await subscribers(sidecar)) === 0);
    // … and once it has been gone a second, the young generation is given back (V8 alone: 8–25 s).
    await until('settled after the tap', async () => (await newSpaceBytes(sidecar, out)) <= 1 * MiB, { timeoutMs: 5000 });
  });
});
