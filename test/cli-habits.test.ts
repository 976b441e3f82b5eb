/**
 * The CLI habits issue 11 lists (as in kubectl / Linkerd / Hubble), through the real CLI
 * against a real sidecar: usage errors exit 2 with a "did you mean", durations need a unit,
 * RFC 3339 times, --first, --limit counting whole exchanges, -o yaml / jsonpath, --color,
 * `meshtap help tap`, an admin port given to --proxy, a missing MESHTAP_CONFIG file.
 */
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { runMeshtap, startSidecarProcess, type SidecarProcess } from './support/meshtap-process.js';

let origin: http.Server;
let sidecar: SidecarProcess;

function get(path: string): Promise<void> {
  return new Promise((resolve, reject) => {
    http.get({ host: '127.0.0.1', port: sidecar.forwards[0]!.port, path, agent: false }, (res) => res.resume().on('end', resolve)).on('error', reject);
  });
}

beforeAll(async () => {
  origin = http.createServer((_req, res) => res.end('ok'));
  await new Promise<void>((r) => origin.listen(0, '127.0.0.1', r));
  sidecar = await startSidecarProcess(['--forward', `127.0.0.1:0=127.0.0.1:${(origin.address() as AddressInfo).port}`, '--admin', '127.0.0.1:0', '--tap', '127.0.0.1:0', '--pod', 'web-1']);
  for (const p of ['/a', '/b', '/c']) await get(p);
});

afterAll(async () => {
  await sidecar?.stop();
  await new Promise((r) => origin?.close(r));
});

describe('CLI habits', { timeout: 60_000 }, () => {
  it('usage errors exit 2 with one line saying what was meant', async () => {
    const cases: Array<[string[], RegExp]> = [
      [['tpa'], /^meshtap: unknown command 'tpa'; did you mean 'tap'\?/],
      [['tap', 'web', '--tap-api', 'http://127.0.0.1:1'], /^meshtap: tap: 'web' is not TYPE\/NAME; did you mean deploy\/web\?/],
      [['tap', 'svc/web', '--tap-api', 'http://127.0.0.1:1'], /^meshtap: tap: a service is not a tap target; tap the workload behind it, e\.g\. deploy\/web/],
      [['tap', 'deplyo/web', '--tap-api', 'http://127.0.0.1:1'], /did you mean deploy\/web\?/],
      [['tap', '--proxy', sidecar.tap!, '--min-latency', '30'], /^meshtap: --min-latency: '30' has no unit; add one, e\.g\. 30ms or 30s/],
      [['tap', '--proxy', sidecar.tap!, '--since', '2026-13-01T00:00:00Z'], /is not an RFC 3339 time/],
      [['tap', '--proxy', sidecar.tap!, '-o', 'jsonpath={range .x}'], /-o jsonpath: '\{range \.x\}' is not supported/],
      [['top', '--proxy', sidecar.tap!, '--sort', 'speed'], /--sort takes count, worst, best, last, success, path/],
    ];
    for (const [args, re] of cases) {
      const r = await runMeshtap(args);
      expect([r.code, r.stderr.split('\n').length], args.join(' ')).toEqual([2, 2]);
      expect(r.stderr, args.join(' ')).toMatch(re);
    }
  });

  it("'deploy web' reads as deploy/web; 'meshtap help tap' is 'meshtap tap --help'", async () => {
    const r = await runMeshtap(['tap', 'deploy', 'web', '--tap-api', 'http://127.0.0.1:1']);
    expect(r.code).toBe(1); // past the usage check: it tried to reach the tap API
    expect(r.stderr).toMatch(/cannot reach the tap API/);
    const help = await runMeshtap(['help', 'tap']);
    expect(help.code).toBe(0);
    expect(help.stdout).toBe((await runMeshtap(['tap', '--help'])).stdout);
  });

  it('--first N, RFC 3339 --since/--until, -o yaml and -o jsonpath', async () => {
    const first = await runMeshtap(['tap', '--proxy', sidecar.tap!, '--first', '2', '-o', 'jsonpath={.method} {.path}']);
    expect([first.code, first.stdout]).toEqual([0, 'GET /a\nGET /b\n']);
    const since = new Date(Date.now() - 3_600_000).toISOString();
    const until = new Date(Date.now() + 3_600_000).toISOString();
    const y = await runMeshtap(['tap', '--proxy', sidecar.tap!, '--since', since, '--until', until, '--last', '1', '-o', 'yaml']);
    expect(y.code).toBe(0);
    expect(parse(y.stdout.replace(/^---\n/, ''))).toMatchObject({ kind: 'end', method: 'GET', path: '/c', pod: 'web-1' });
    const none = await runMeshtap(['tap', '--proxy', sidecar.tap!, '--until', new Date(Date.now() - 3_600_000).toISOString()]);
    expect([none.code, none.stdout]).toEqual([0, '']);
  });

  it('--limit N prints exactly the N exchanges it counts, whole', async () => {
    const r = await runMeshtap(['tap', '--proxy', sidecar.tap!, '--last', '3', '--limit', '2', '-o', 'json']);
    expect(r.code).toBe(0);
    expect(r.stdout.trim().split('\n').map((l) => (JSON.parse(l) as { path: string }).path)).toEqual(['/a', '/b']);
  });

  it('--color always colours the time and kind only; never/auto on a pipe does not', async () => {
    const c = await runMeshtap(['tap', '--proxy', sidecar.tap!, '--last', '1', '--color', 'always']);
    expect(c.stdout).toMatch(/^\x1b\[2m\w{3} [ \d]\d [\d:.]+\x1b\[0m \x1b\[32mend\x1b\[0m id=web-1\//);
    const plain = await runMeshtap(['tap', '--proxy', sidecar.tap!, '--last', '1']);
    expect(plain.stdout).not.toContain('\x1b');
    expect((await runMeshtap(['tap', '--proxy', sidecar.tap!, '--color', 'sometimes'])).code).toBe(2);
  });

  it('tap --proxy at an admin port says so; a missing MESHTAP_CONFIG file is an error', async () => {
    const r = await runMeshtap(['tap', '--proxy', sidecar.admin!]);
    expect(r.code).toBe(1);
    expect(r.stderr).toBe(`meshtap: ${sidecar.admin} is a meshtap admin port (/metrics, /ready, /live), not a tap port; give --proxy the address the sidecar printed as 'listening tap …' (default port 4190)\n`);
    const cfg = await runMeshtap(['tap', 'deploy/web'], { env: { MESHTAP_CONFIG: '/nonexistent/meshtap.yaml', MESHTAP_TAP_API: '' } });
    expect([cfg.code, cfg.stderr]).toEqual([1, 'meshtap: MESHTAP_CONFIG names /nonexistent/meshtap.yaml, which does not exist; create it or unset MESHTAP_CONFIG\n']);
  });
});
