/**
 * `meshtap proxy --pod-label KEY=VALUE` (issue 15): in local mode the labels a sidecar registers
 * are the ones `meshtap advise network-policy` selects its pods by; without them the draft falls
 * back to a guessed `app.kubernetes.io/name`. Real sidecar processes, a real tap API, the CLI.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { rm } from 'node:fs/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseAllDocuments } from 'yaml';
import type { TapApiServer } from '../tap-api/index.js';
import { REGISTRATION_TOKEN, startFixtureTapApi, TOKENS, writeTapApiFixtures } from './tap-api-fixtures.js';
import { runMeshtap, startSidecarProcess, type SidecarProcess } from './support/meshtap-process.js';
import { until } from './support/until.js';

let dir: string;
let tapApi: TapApiServer;
let backend: http.Server;
const sidecars: SidecarProcess[] = [];

beforeAll(async () => {
  const f = await writeTapApiFixtures();
  dir = f.dir;
  tapApi = await startFixtureTapApi(f.rbacDir);
  backend = http.createServer((_req, res) => res.end('ok'));
  await new Promise<void>((r) => backend.listen(0, '127.0.0.1', r));
  const env = { MESHTAP_TAP_API_TOKEN: REGISTRATION_TOKEN };
  const common = ['--admin', '127.0.0.1:0', '--tap', '127.0.0.1:0', '--namespace', 'shop', '--tap-api', tapApi.url];
  const api = await startSidecarProcess(
    ['--forward', `in:127.0.0.1:0=127.0.0.1:${(backend.address() as AddressInfo).port}`, '--workload', 'deploy/api', '--pod', 'api-0', '--pod-label', 'app=api', '--pod-label', 'tier=backend', ...common],
    { env },
  );
  sidecars.push(api);
  const web = await startSidecarProcess(['--forward', `out:127.0.0.1:0=${api.forwards[0]!.address}`, '--workload', 'deploy/web', '--pod', 'web-0', '--pod-label', 'app.kubernetes.io/name=web', ...common], { env });
  sidecars.push(web);
  await until('two sidecars registered', () => tapApi.registry.list().length >= 2, 10_000);
  for (let i = 0; i < 3; i++) await (await fetch(`http://${web.forwards[0]!.address}/orders/${i}`)).text();
}, 90_000);

afterAll(async () => {
  await Promise.all(sidecars.map((s) => s.stop()));
  await tapApi?.close();
  await new Promise<void>((r) => (backend ? backend.close(() => r()) : r()));
  if (dir) await rm(dir, { recursive: true, force: true });
}, 60_000);

type Policy = { metadata: { name: string }; spec: { podSelector: { matchLabels: Record<string, string> }; ingress?: Array<{ from?: Array<{ podSelector?: { matchLabels: Record<string, string> } }> }> } };

describe('meshtap proxy --pod-label', () => {
  it('registers the labels, and the NetworkPolicy draft selects the pods by them (no guess)', async () => {
    const r = await runMeshtap(['advise', 'network-policy', 'deploy/api', '-n', 'shop', '-t', '10m', '--tap-api', tapApi.url, '--token', TOKENS.viewer]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).not.toMatch(/guess/);
    const [policy] = parseAllDocuments(r.stdout).map((d) => d.toJS() as Policy);
    expect(policy!.spec.podSelector.matchLabels).toEqual({ app: 'api', tier: 'backend' });
    expect(policy!.spec.ingress?.flatMap((i) => i.from ?? []).map((f) => f.podSelector?.matchLabels)).toContainEqual({ 'app.kubernetes.io/name': 'web' });
  }, 60_000);

  it('a malformed label is a usage error (exit 2, one line saying the form)', async () => {
    for (const bad of ['app', 'bad key=x', 'app=-x-', `app=${'v'.repeat(64)}`, 'Not_A.Prefix/app=x']) {
      const r = await runMeshtap(['proxy', '--forward', '127.0.0.1:0=127.0.0.1:9', '--pod-label', bad]);
      expect(r.code, bad).toBe(2);
      expect(r.stderr.trim().split('\n'), bad).toEqual([`meshtap: proxy: --pod-label '${bad}' is not KEY=VALUE with a Kubernetes label key and value (e.g. --pod-label app=web)`]);
    }
  }, 60_000);
});
