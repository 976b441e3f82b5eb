/**
 * review15's walk-through: `tap --until TIME` with TIME still to come and no `-f` reads the flight
 * recorders up to now and ends at once (as Hubble's history read does): exit 0, nothing said, and a
 * user who meant "stream until then" is left wondering. It says so on stderr, one line, and how to
 * wait (-f); stdout stays the events only. With -f, or an --until already past, nothing is added.
 * The real CLI against a real sidecar process.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runMeshtap, startSidecarProcess, type SidecarProcess } from './support/meshtap-process.js';

describe('review15: tap --until in the future without -f says what it does', () => {
  let sidecar: SidecarProcess;
  beforeAll(async () => {
    sidecar = await startSidecarProcess(['--admin', '127.0.0.1:0', '--tap', '127.0.0.1:0', '--forward', '127.0.0.1:0=127.0.0.1:9']);
  }, 60_000);
  afterAll(async () => {
    await sidecar?.stop();
  });

  it('a future --until without -f: exit 0 at once, one line on stderr naming -f', async () => {
    const r = await runMeshtap(['tap', '--proxy', sidecar.tap!, '--until', '2099-01-01T00:00:00Z'], { timeoutMs: 60_000 });
    expect([r.code, r.stdout]).toEqual([0, '']);
    expect(r.stderr).toBe('meshtap: tap: --until 2099-01-01T00:00:00Z is still to come; without -f this reads the flight recorders up to now and ends (add -f to keep streaming until then)\n');
  }, 90_000);

  it('an --until already past: no hint', async () => {
    const r = await runMeshtap(['tap', '--proxy', sidecar.tap!, '--until', '1m'], { timeoutMs: 60_000 });
    expect([r.code, r.stdout, r.stderr]).toEqual([0, '', '']);
  }, 90_000);

  it('a future --until with -f: no hint; it streams until then', async () => {
    const until = new Date(Date.now() + 1500).toISOString();
    const r = await runMeshtap(['tap', '--proxy', sidecar.tap!, '--until', until, '-f'], { timeoutMs: 60_000 });
    expect([r.code, r.stdout, r.stderr]).toEqual([0, '', '']);
  }, 90_000);
});
