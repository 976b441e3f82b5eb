/**
 * `meshtap run` and taps from outside (issue 11 item 6):
 *   (a) with --netns, the sidecar in the namespace could not reach a tap API on the host's
 *       loopback (there 127.0.0.1 is the namespace's own): it never registered, so
 *       `meshtap tap deploy/NAME` found no pods. meshtap run now relays the loopback tap API
 *       into the namespace (the veth's host end); the tap through the tap API shows CMD's exchange.
 *   (b) an external `meshtap tap --proxy` attached when CMD exits printed a raw RST_STREAM error
 *       and exited 1; the sidecar now ends its taps with a reason and the CLI says so, exit 0.
 * The real CLI, real curl, a real tap API process. Needs root, cgroup v2, the built addon and dist/.
 */
import { execFileSync } from 'node:child_process';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createNetns, deleteNetns, type Netns } from '../bpf/index.js';
import { meshtapRunSkipReason, reportBpfSkip } from './bpf-skip.js';
import { listSidecars } from '../tap-api/index.js';
import { spawnMeshtap, type CliProcess } from './support/meshtap-process.js';
import { TOKENS, writeTapApiFixtures } from './tap-api-fixtures.js';

const CLI = fileURLToPath(new URL('../dist/bin/meshtap.js', import.meta.url));
const skip = await meshtapRunSkipReason(CLI);
if (skip) reportBpfSkip('test/bpf-run-external.test.ts', skip);

describe.skipIf(skip !== undefined)('meshtap run, tapped from outside', { timeout: 90_000 }, () => {
  let netns: Netns;
  let server: Server;
  let url = '';
  let fixtures: Awaited<ReturnType<typeof writeTapApiFixtures>>;
  let tapApi: CliProcess;
  let tapApiUrl = '';
  let registrationToken = '';
  const flag = (name: string): string => `/tmp/mt-run-tap-${process.pid}-${name}`;

  beforeAll(async () => {
    netns = await createNetns();
    server = createServer((req, res) => res.end(`hello ${req.url}`));
    await new Promise<void>((r) => server.listen(0, netns.hostAddress, r));
    url = `http://${netns.hostAddress}:${(server.address() as AddressInfo).port}`;
    fixtures = await writeTapApiFixtures();
    tapApi = spawnMeshtap(['tap-api', '--listen', '127.0.0.1:0', '--tokens', fixtures.tokensPath, '--rbac', fixtures.rbacDir, '--key', fixtures.keyPath], { timeoutMs: 300_000 });
    await tapApi.waitForStderr(/ready/);
    tapApiUrl = /listening (http:\/\/\S+)/.exec(tapApi.stderr())![1]!;
    registrationToken = (await readFile(join(fixtures.dir, 'registration.token'), 'utf8')).trim();
  }, 60_000);
  afterAll(async () => {
    server?.close();
    tapApi?.kill('SIGKILL');
    await tapApi?.done;
    if (netns) await deleteNetns(netns);
    if (fixtures) await rm(fixtures.dir, { recursive: true, force: true });
  });

  it('--netns with a tap API on the host loopback: the sidecar registers through the relay; tap deploy/NAME shows CMD', async () => {
    const go = flag('go');
    // CMD calls the server until the test says stop: whenever the tap attaches, an exchange follows.
    const run = spawnMeshtap(
      ['run', '--netns', '--name', 'relayed', '-n', 'shop', '--tap-api', tapApiUrl, '-o', 'none', '--', 'sh', '-c', `while [ ! -e ${go} ]; do curl -sf ${url}/relayed >/dev/null; sleep 0.2; done`],
      { env: { MESHTAP_TAP_API_TOKEN: registrationToken }, timeoutMs: 60_000 },
    );
    try {
      await run.waitForStderr(/meshtap run: the sidecar reaches the tap API \S+ through http:\/\/10\.200\.\d+\.\d+:\d+\/? /);
      const deadline = Date.now() + 20_000;
      while (!(await listSidecars({ url: tapApiUrl, token: TOKENS.viewer, namespace: 'shop' })).some((s) => s.workload === 'deploy/relayed')) {
        if (Date.now() > deadline) throw new Error(`the sidecar never registered; meshtap run said: ${run.stderr()}`);
        await new Promise((r) => setTimeout(r, 100));
      }
      const r = await spawnMeshtap(['tap', 'deploy/relayed', '-n', 'shop', '--tap-api', tapApiUrl, '--token', TOKENS.viewer, '-o', 'json', '--limit', '1'], { timeoutMs: 30_000 }).done;
      expect(r.stderr).toBe('');
      const events = r.stdout.trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);
      expect(events.at(-1)).toMatchObject({ kind: 'end', proxy: 'out', path: '/relayed', status: 200, pod: expect.stringMatching(/^relayed-/) });
      expect(r.code).toBe(0);
      execFileSync('touch', [go]);
      expect((await run.done).code).toBe(0);
    } finally {
      execFileSync('rm', ['-f', go]);
      run.kill('SIGKILL');
    }
  });

  it('an external tap --proxy attached when CMD exits: one line "the sidecar … stopped", exit 0', async () => {
    const go = flag('exit');
    const run = spawnMeshtap(['run', '--name', 'watched', '-o', 'none', '--', 'sh', '-c', `curl -sf ${url}/watched >/dev/null; while [ ! -e ${go} ]; do sleep 0.1; done`], { timeoutMs: 60_000 });
    try {
      const [, tapAddress] = /meshtap run: tap (\S+)/.exec(await run.waitForStderr(/meshtap run: tap \S+\n/))!;
      const tap = spawnMeshtap(['tap', '--proxy', tapAddress!, '--last', '1', '-f', '-o', 'json']);
      await tap.waitForLines(1); // attached: the history is out, live follows
      execFileSync('touch', [go]);
      expect((await run.done).code).toBe(0);
      const r = await tap.done;
      expect(r.stderr).not.toMatch(/RST_STREAM|INTERNAL|failed/);
      expect(r.stderr).toBe(`meshtap: the sidecar at ${tapAddress} stopped; the tap ended\n`);
      expect(r.code).toBe(0);
    } finally {
      execFileSync('rm', ['-f', go]);
      run.kill('SIGKILL');
    }
  });
});
