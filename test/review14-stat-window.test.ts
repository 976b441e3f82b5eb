/**
 * review14: `meshtap stat -t 1000h` (scraping the sidecars) waits its window out with a timer, and a
 * Node timer longer than 2^31-1 ms (24.8 days) fires after 1 ms: it printed a TimeoutOverflowWarning
 * and a table over about 1 ms as if it covered 1000h. It now waits as review10 made `--duration` and
 * `--until` wait (common/long-timeout.ts): until the window or Ctrl-C. The dashboard's workloads view
 * scrapes through the same function (`--stat-window`). The real CLI against a real sidecar.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PROJECT_ENGINE } from './support/engines.js';
import { runMeshtap, spawnMeshtap, startSidecarProcess, type SidecarProcess } from './support/meshtap-process.js';

describe('review14: stat waits out a window past 24.8 days', () => {
  let sidecar: SidecarProcess;
  beforeAll(async () => {
    // prettier-ignore
    sidecar = await startSidecarProcess(['--engine', PROJECT_ENGINE, '--admin', '127.0.0.1:0', '--workload', 'deploy/api', '--namespace', 'default', '--pod', 'api-1', '--forward', '127.0.0.1:0=127.0.0.1:9']);
  }, 60_000);
  afterAll(async () => {
    await sidecar?.stop();
  });

  it('-t 1000h is still collecting seconds later: no table, no Node warning; Ctrl-C ends it', async () => {
    const stat = spawnMeshtap(['stat', 'deploy', '--admin', sidecar.admin!, '-t', '1000h', '-o', 'json'], { timeoutMs: 60_000 });
    let ended = false;
    void stat.done.then(() => (ended = true));
    await new Promise((r) => setTimeout(r, 4_000));
    expect(ended).toBe(false);
    stat.kill('SIGINT');
    const r = await stat.done;
    expect(r.stdout).toBe('');
    expect(r.stderr).not.toMatch(/TimeoutOverflowWarning/);
  }, 90_000);

  it('a short window still answers with the sidecar', async () => {
    const r = await runMeshtap(['stat', 'deploy', '--admin', sidecar.admin!, '-t', '1s', '-o', 'json'], { timeoutMs: 60_000 });
    expect(r.code, r.stderr).toBe(0);
    expect((JSON.parse(r.stdout) as Array<{ name: string }>).map((row) => row.name)).toEqual(['deploy/api']);
  }, 90_000);
});
