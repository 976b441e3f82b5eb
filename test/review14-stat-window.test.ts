/**
 * review14: `meshtap stat -t 1000h` (scraping the sidecars) waits its window out with a timer, and a
 * Node timer longer than 2^31-1 ms (24.8 days) fires after 1 ms: it printed a TimeoutOverflowWarning
 * and a table over 1 ms as if it covered 1000h. A scraped window is now at most 24h, said as a
 * usage error before anything is contacted (exit 2, one line); --prometheus (a PromQL range, no
 * timer) keeps longer windows. The real CLI against a real sidecar's admin address.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PROJECT_ENGINE } from './support/engines.js';
import { runMeshtap, startSidecarProcess, type SidecarProcess } from './support/meshtap-process.js';

describe('review14: stat --window is bounded where it is waited out', () => {
  let sidecar: SidecarProcess;
  beforeAll(async () => {
    // prettier-ignore
    sidecar = await startSidecarProcess(['--engine', PROJECT_ENGINE, '--admin', '127.0.0.1:0', '--workload', 'deploy/api', '--namespace', 'default', '--pod', 'api-1', '--forward', '127.0.0.1:0=127.0.0.1:9']);
  }, 60_000);
  afterAll(async () => {
    await sidecar?.stop();
  });

  it.each(['1000h', '25h', '9999999999s'])('-t %s is a usage error naming the bound, nothing printed on stdout, no Node warning', async (window) => {
    const r = await runMeshtap(['stat', 'deploy', '--admin', sidecar.admin!, '-t', window, '-o', 'json'], { timeoutMs: 60_000 });
    expect(r.code).toBe(2);
    expect(r.stdout).toBe('');
    expect(r.stderr).toBe(`meshtap: stat: --window ${window} is longer than 24h, the most a scraped window can be (stat waits it out); use --prometheus URL for a longer one\n`);
  }, 90_000);

  it('a short window still answers with the sidecar', async () => {
    const r = await runMeshtap(['stat', 'deploy', '--admin', sidecar.admin!, '-t', '1s', '-o', 'json'], { timeoutMs: 60_000 });
    expect(r.code, r.stderr).toBe(0);
    expect((JSON.parse(r.stdout) as Array<{ name: string }>).map((row) => row.name)).toEqual(['deploy/api']);
  }, 90_000);
});
