/**
 * Kubernetes mode end to end through the built binary: a `meshtap tap-api --kubernetes`
 * process (its flags as an operator passes them: HTTPS pair, requestheader CA file and
 * allowed names, kubeconfig, signing key) behind the stand-in kube-apiserver, real sidecars,
 * and `meshtap tap` finding the cluster through a kubeconfig (no --tap-api): a token user via
 * --kubeconfig, a client-certificate user via KUBECONFIG, and a denied user.
 */
import { mkdtemp, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { TapEvent } from '../tap-protocol/events.js';
import { createTestCa } from './support/test-ca.js';
import { callThrough, startKubeTapCluster, TAP_API_SERVICE, TOKENS, type KubeTapCluster } from './fixtures/kube-tap/cluster.js';
import { runMeshtap, spawnMeshtap, type CliProcess } from './support/meshtap-process.js';
import { actUntil, actUntilSettled } from './support/until.js';

/** A MESHTAP_TAP_API in the environment would win over the kubeconfig. */
const NO_TAP_API = { MESHTAP_TAP_API: '' };
let cluster: KubeTapCluster;
let tapApi: CliProcess;
let dir: string;

beforeAll(async () => {
  cluster = await startKubeTapCluster();
  dir = await mkdtemp(join(tmpdir(), 'meshtap-kube-cli-'));
  const ca = await createTestCa('meshtap-ca.meshtap');
  const pair = await ca.issueServing([TAP_API_SERVICE], 1, ['127.0.0.1']);
  await writeFile(join(dir, 'tls.crt'), pair.certPem);
  await writeFile(join(dir, 'tls.key'), pair.keyPem, { mode: 0o600 });
  await writeFile(join(dir, 'front-proxy-ca.crt'), cluster.api.frontProxyCa.certPem);
  await writeFile(join(dir, 'signing.key'), cluster.keys.privateKey.export({ type: 'pkcs8', format: 'pem' }) as string, { mode: 0o600 });
  // prettier-ignore
  tapApi = spawnMeshtap([
    'tap-api', '--kubernetes', '--listen', '127.0.0.1:0',
    '--kubeconfig', cluster.api.kubeconfig({ token: TOKENS.tapApi }),
    '--tls-cert-file', join(dir, 'tls.crt'), '--tls-private-key-file', join(dir, 'tls.key'),
    '--requestheader-client-ca-file', join(dir, 'front-proxy-ca.crt'), '--requestheader-allowed-names', 'front-proxy-client',
    '--key', join(dir, 'signing.key'),
  ], { timeoutMs: 300_000 });
  await tapApi.waitForStderr(/^ready$/m, 30_000);
  const url = /listening (https:\/\/\S+)/.exec(tapApi.stderr())![1]!;
  cluster.api.aggregate(url, ca.certPem, TAP_API_SERVICE);
}, 120_000);

afterAll(async () => {
  tapApi?.kill('SIGTERM');
  await tapApi?.done;
  await cluster?.close();
}, 60_000);

/** Runs `meshtap tap ARGS` and sends traffic through both web pods until it exits (it has --limit). */
async function tapWithTraffic(args: string[], env: NodeJS.ProcessEnv = {}, path = '/cli', command = 'tap'): Promise<{ code: number | null; events: TapEvent[]; stderr: string; stdout: string }> {
  const cli = spawnMeshtap([command, ...args], { timeoutMs: 60_000, env: { ...NO_TAP_API, ...env } });
  // The CLI has no "live" marker: keep sending until it has printed its --limit exchanges.
  await actUntilSettled(`meshtap ${command} to print its exchanges`, cli.done, async () => {
    await callThrough(cluster.sidecars.webA, path, { method: 'POST', body: 'ping' });
    await callThrough(cluster.sidecars.webB, path, { method: 'POST', body: 'ping' });
  }, { timeoutMs: 60_000, intervalMs: 100 });
  const r = await cli.done;
  const events = command === 'tap' ? r.stdout.split('\n').filter(Boolean).map((l) => JSON.parse(l) as TapEvent) : [];
  return { code: r.code, stderr: r.stderr, stdout: r.stdout, events };
}

describe('meshtap tap through the Kubernetes API server', () => {
  it('finds the cluster through --kubeconfig (token user) and streams the deployment', async () => {
    const r = await tapWithTraffic(['deploy/web', '--kubeconfig', cluster.api.kubeconfig({ token: TOKENS.alice }), '-o', 'json', '--limit', '3', '--path', '/cli']);
    expect(r.code, r.stderr).toBe(0);
    const ends = r.events.filter((e) => e.kind === 'end');
    expect(ends.length).toBe(3);
    for (const e of ends) {
      expect(['web-7d4b9c-a1b2c', 'web-7d4b9c-d3e4f']).toContain(e.pod);
      expect(e).toMatchObject({ method: 'POST', path: '/cli', status: 200 });
      expect(e.requestBody).toBeUndefined();
    }
    // The stand-in saw the user's request at the aggregated path of the context's namespace.
    expect(cluster.api.requests).toContainEqual(expect.objectContaining({ method: 'POST', path: '/apis/tap.meshtap.dev/v1alpha1/watch/namespaces/shop/deployments/web/tap', user: 'alice' }));
  }, 90_000);

  it('uses a client-certificate user from KUBECONFIG, with bodies when allowed', async () => {
    const bobCert = await cluster.api.userCa.issueClient('bob', 'system:authenticated');
    const kubeconfig = cluster.api.kubeconfig({ cert: bobCert });
    // --limit 2: an exchange already in flight when the tap starts has no captured body (capture
    // starts with the subscriber), so the last exchange is the one that must carry it.
    const r = await tapWithTraffic(['deploy/web', '-n', 'shop', '--bodies', '-o', 'json', '--limit', '2', '--path', '/bodies'], { KUBECONFIG: kubeconfig }, '/bodies');
    expect(r.code, r.stderr).toBe(0);
    const end = r.events.filter((e) => e.kind === 'end').at(-1)!;
    expect(end.requestBody?.data).toBe('ping');
    expect(cluster.api.reviews).toContainEqual(expect.objectContaining({ user: 'bob', resourceAttributes: expect.objectContaining({ subresource: 'tap-bodies' }) }));
  }, 90_000);

  it('a denied user gets the missing permission on stderr and exit code 1', async () => {
    const r = await runMeshtap(['tap', 'deploy/web', '--kubeconfig', cluster.api.kubeconfig({ token: TOKENS.carol })], { timeoutMs: 30_000, env: NO_TAP_API });
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('User "carol" cannot watch resource "deployments/tap" in API group "tap.meshtap.dev" in the namespace "shop"');
    const bad = await runMeshtap(['tap', 'deploy/web', '--kubeconfig', cluster.api.kubeconfig({ token: 'not-a-token' })], { timeoutMs: 30_000, env: NO_TAP_API });
    expect(bad.code).toBe(1);
    expect(bad.stderr).toContain('Unauthorized');
  }, 60_000);

  it('regression (issue 11 item 7, "top has no --kubeconfig/--context, so the first top in a cluster fails"): top through the API server', async () => {
    const r = await tapWithTraffic(['deploy/web', '--kubeconfig', cluster.api.kubeconfig({ token: TOKENS.alice }), '--context', 'standin', '--limit', '2', '-o', 'json'], {}, '/top', 'top');
    expect(r.code, r.stderr).toBe(0);
    const rows = JSON.parse(r.stdout) as Array<{ method: string; path: string; count: number }>;
    expect(rows.map((x) => [x.method, x.path])).toEqual([['POST', '/top']]);
    expect(rows[0]!.count).toBeGreaterThanOrEqual(2);
  }, 90_000);

  it('regression (session 7 walk-through, "record has no --kubeconfig": it only took --tap-api): record through the API server', async () => {
    const file = join(dir, 'kube.jsonl');
    const r = await tapWithTraffic(['deploy/web', '--kubeconfig', cluster.api.kubeconfig({ token: TOKENS.alice }), '-o', file, '--limit', '2', '--no-bodies', '--path', '/rec'], {}, '/rec', 'record');
    expect(r.code, r.stderr).toBe(0);
    const [header, ...exchanges] = (await readFile(file, 'utf8')).split('\n').filter(Boolean).map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(header).toMatchObject({ format: 'meshtap-recording', source: { kind: 'workload', target: 'deploy/web' } });
    expect(exchanges.map((e) => [e.method, e.path, e.status])).toEqual([['POST', '/rec', 200], ['POST', '/rec', 200]]);
    expect(cluster.api.requests).toContainEqual(expect.objectContaining({ method: 'POST', path: '/apis/tap.meshtap.dev/v1alpha1/watch/namespaces/shop/deployments/web/tap', user: 'alice' }));
  }, 90_000);

  it('meshtap version asks the tap API through the API server (issue 11 habit: client and server versions)', async () => {
    const r = await runMeshtap(['version', '--kubeconfig', cluster.api.kubeconfig({ token: TOKENS.alice }), '-o', 'json'], { timeoutMs: 30_000, env: NO_TAP_API });
    expect(r.code, r.stderr).toBe(0);
    const v = JSON.parse(r.stdout) as { clientVersion: { version: string }; serverVersion: { version: string; mode: string } };
    expect(v.serverVersion).toMatchObject({ version: v.clientVersion.version, mode: 'kubernetes' });
  }, 60_000);
});

describe('-l/--selector (issue 11 habit)', () => {
  it('tap -l track=canary -n shop: only the pods with that label (the namespace tap, narrowed); a bad selector is exit 2', async () => {
    const cli = spawnMeshtap(['tap', '-n', 'shop', '-l', 'track=canary', '--kubeconfig', cluster.api.kubeconfig({ token: TOKENS.alice }), '-o', 'json', '--limit', '3'], { timeoutMs: 60_000, env: NO_TAP_API });
    await actUntilSettled('the tap to print 3 exchanges', cli.done, async () => {
      await callThrough(cluster.sidecars.webA, '/not-canary');
      await callThrough(cluster.sidecars.stray, '/canary');
    }, { timeoutMs: 60_000, intervalMs: 100 });
    const r = await cli.done;
    expect(r.code, r.stderr).toBe(0);
    const events = r.stdout.split('\n').filter(Boolean).map((l) => JSON.parse(l) as TapEvent);
    expect(events.filter((e) => e.kind === 'end')).toHaveLength(3);
    expect(new Set(events.map((e) => e.pod))).toEqual(new Set(['web-canary-x9y8z']));
    // The namespace tap (alice's 'watch namespaces/tap'), narrowed by the selector.
    expect(cluster.api.requests).toContainEqual(expect.objectContaining({ method: 'POST', path: '/apis/tap.meshtap.dev/v1alpha1/watch/namespaces/shop/tap', user: 'alice' }));
    const bad = await runMeshtap(['tap', 'deploy/web', '-n', 'shop', '-l', '=web', '--kubeconfig', cluster.api.kubeconfig({ token: TOKENS.alice })], { env: NO_TAP_API });
    expect([bad.code, bad.stderr.split('\n').length]).toEqual([2, 2]);
    expect(bad.stderr).toMatch(/^meshtap: tap: -l: label selector term '=web' /);
  }, 90_000);
});

describe('stat through the API server (issue 11 item 7)', () => {
  it('regression ("stat deploy --kubeconfig groups nothing": listed pods had no workload): rows per Deployment, from the pods\' owners', async () => {
    const stat = spawnMeshtap(['stat', 'deploy', '--kubeconfig', cluster.api.kubeconfig({ token: TOKENS.alice }), '-t', '2s', '-o', 'json'], { timeoutMs: 60_000, env: NO_TAP_API });
    await actUntilSettled('stat to finish', stat.done, () => callThrough(cluster.sidecars.webA, '/stat'), { timeoutMs: 60_000, intervalMs: 50 });
    const r = await stat.done;
    expect(r.code, r.stderr).toBe(0);
    const rows = JSON.parse(r.stdout) as Array<{ namespace: string; name: string; meshed: { ok: number; total: number }; rps: number }>;
    // web's two pods (ReplicaSet web-7d4b9c → deploy/web), web-canary's one; the Pending and un-meshed pods are not sidecars.
    expect(rows.map((x) => [x.namespace, x.name, x.meshed])).toEqual([
      ['shop', 'deploy/web', { ok: 2, total: 2 }],
      ['shop', 'deploy/web-canary', { ok: 1, total: 1 }],
    ]);
    expect(rows[0]!.rps).toBeGreaterThan(0);
  }, 90_000);
});

describe('a live tap follows pod watches (issue 11 item 4, Kubernetes mode)', () => {
  it('a pod deleted from the API server is reported gone; the same pod added back is tapped again', async () => {
    const cli = spawnMeshtap(['tap', 'deploy/web', '--kubeconfig', cluster.api.kubeconfig({ token: TOKENS.alice }), '-o', 'json'], { timeoutMs: 80_000, env: NO_TAP_API });
    const pods = (): Set<string | undefined> => new Set(cli.stdout().split('\n').filter(Boolean).map((l) => (JSON.parse(l) as TapEvent).pod));
    /** Sends through a sidecar until the tap printed what `check` looks for. */
    const sendUntil = (what: string, check: () => boolean, send: () => Promise<unknown>) =>
      actUntil(what, check, send, { timeoutMs: 30_000, intervalMs: 100, detail: () => `stderr: ${cli.stderr()}` });
    try {
      await sendUntil('web B traffic', () => pods().has('web-7d4b9c-d3e4f'), () => callThrough(cluster.sidecars.webB, '/watch'));
      const gone = cluster.api.remove('Pod', 'shop', 'web-7d4b9c-d3e4f')!;
      await cli.waitForStderr(/^meshtap: pod web-7d4b9c-d3e4f went away; still tapping 1 pod$/m, 20_000);
      cluster.api.add(gone);
      await cli.waitForStderr(/^meshtap: pod web-7d4b9c-d3e4f joined; tapping 2 pods$/m, 20_000);
      const before = cli.stdout().length;
      await sendUntil('web B traffic again', () => cli.stdout().slice(before).includes('"pod":"web-7d4b9c-d3e4f"'), () => callThrough(cluster.sidecars.webB, '/again'));
    } finally {
      cli.kill('SIGTERM');
      const r = await cli.done;
      expect(r.code).toBe(0);
    }
  }, 90_000);
});
