/**
 * Issue 3's goal, the js engine's RSS under load ≤ 80 MB (it was 110 MB, 32 MiB of which V8's young
 * generation grown to Node 20's 2 × 16 MiB): `meshtap proxy` keeps the young generation at its
 * start size under the js engine (bin/young-generation.ts), unless the user sized it themselves.
 * The probe (test/support/young-generation-probe.mjs) runs in the real sidecar process and, on
 * SIGUSR2, allocates as a loaded proxy does, then reports the new space's size: the control
 * (the same probe, the young generation sized by the user to Node's default) shows that this
 * allocation grows an uncapped new space, so the capped figure means the cap is in effect.
 */
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { youngGenerationSetByUser } from '../bin/young-generation.js';
import { startSidecarProcess, type SidecarProcess } from './support/meshtap-process.js';

const PROBE = fileURLToPath(new URL('./support/young-generation-probe.mjs', import.meta.url));
const MiB = 1024 * 1024;

let running: SidecarProcess | undefined;
let dir: string | undefined;
afterEach(async () => {
  await running?.stop();
  running = undefined;
  if (dir) rmSync(dir, { recursive: true, force: true });
  dir = undefined;
});

/** The new space's size in bytes after the probe's allocation, in a `meshtap proxy --engine ENGINE`. */
async function newSpaceAfterLoad(engine: 'js', nodeOptions = ''): Promise<number> {
  dir = mkdtempSync(join(tmpdir(), 'meshtap-young-'));
  const out = join(dir, 'new-space');
  running = await startSidecarProcess(['--engine', engine, '--forward', '127.0.0.1:0=127.0.0.1:9', '--admin', '127.0.0.1:0'], {
    env: { MESHTAP_ENGINE: engine, MESHTAP_YOUNG_PROBE: out, NODE_OPTIONS: `--import ${PROBE} ${nodeOptions}`.trim() },
  });
  running.child.kill('SIGUSR2');
  for (let i = 0; i < 1000 && !existsSync(out); i++) await new Promise((r) => setTimeout(r, 20));
  expect(existsSync(out), 'the probe answered SIGUSR2').toBe(true);
  return Number(readFileSync(out, 'utf8'));
}

describe('the sidecar keeps its young generation small (issue 3, RSS under load)', () => {
  it('js engine: the new space stays at its start size under allocation', async () => {
    const bytes = await newSpaceAfterLoad('js');
    expect(bytes).toBeGreaterThan(0);
    expect(bytes).toBeLessThanOrEqual(4 * MiB);
  });

  it("a user's own young generation size is kept (and the probe's allocation grows an uncapped one)", async () => {
    const bytes = await newSpaceAfterLoad('js', '--max-semi-space-size=16');
    expect(bytes).toBeGreaterThan(8 * MiB);
  });

  it('tells a user-set young generation size from other node options', () => {
    expect(youngGenerationSetByUser([], undefined)).toBe(false);
    expect(youngGenerationSetByUser([], '--import /x/probe.mjs --max-old-space-size=256')).toBe(false);
    expect(youngGenerationSetByUser([], '--max-semi-space-size=16')).toBe(true);
    expect(youngGenerationSetByUser(['--max_semi_space_size=8'], undefined)).toBe(true);
    expect(youngGenerationSetByUser(['--min-semi-space-size', '4'], undefined)).toBe(true);
    expect(youngGenerationSetByUser(['--semi-space-growth-factor=2'], '')).toBe(true);
    expect(youngGenerationSetByUser(['--max-semi-space-sizes=1'], '')).toBe(false);
  });
});
