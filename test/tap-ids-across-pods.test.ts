/**
 * Regression (session 8): `-o json` ids collided across pods. Each sidecar numbers its own
 * connections (`<connection>.<stream>`), so a tap of deploy/web's two pods printed `"id":"1.1"`
 * for both pods' first exchanges, and `jq` pairing by `.id` (`group_by(.id)`, `select(.id==…)`,
 * the id copied from a text line, which showed `web-1/1.1`) mixed one pod's request with the
 * other's response. The tap API now qualifies each id with its pod, the same id text shows; a
 * recording made through it keeps them, and HAR and replay still pair each exchange with its own
 * connection (record/format.ts connectionKeyOf).
 */
import { readFile, mkdtemp, rm } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { TapApiServer } from '../tap-api/index.js';
import { listSidecars } from '../tap-api/index.js';
import { scrape, sumMetric, waitForMetric } from './support/metrics-scrape.js';
import { runMeshtap, startSidecarProcess, type SidecarProcess } from './support/meshtap-process.js';
import { until } from './support/until.js';
import { REGISTRATION_TOKEN, startFixtureTapApi, TOKENS, writeTapApiFixtures } from './tap-api-fixtures.js';

let backend: Server;
let tapApi: TapApiServer;
let dir: string;
let fixturesDir: string;
const pods: SidecarProcess[] = [];

/** One request on a new connection through `sidecar`. */
async function call(sidecar: SidecarProcess, path: string): Promise<void> {
  const res = await fetch(`http://${sidecar.forwards[0]!.address}${path}`, { headers: { connection: 'close' } });
  expect(res.status).toBe(200);
  await res.text();
}

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'mt-ids-pods-'));
  backend = createServer((req, res) => res.writeHead(200, { 'content-type': 'text/plain' }).end(`answer to ${req.url}`));
  await new Promise<void>((r) => backend.listen(0, '127.0.0.1', r));
  const f = await writeTapApiFixtures();
  fixturesDir = f.dir;
  tapApi = await startFixtureTapApi(f.rbacDir);
  for (const pod of ['web-1', 'web-2']) {
    // prettier-ignore
    pods.push(await startSidecarProcess([
      '--forward', `127.0.0.1:0=127.0.0.1:${(backend.address() as AddressInfo).port}`, '--admin', '127.0.0.1:0', '--tap', '127.0.0.1:0', '--recorder-bodies',
      '--workload', 'deploy/web', '--namespace', 'shop', '--pod', pod, '--tap-api', tapApi.url,
    ], { env: { MESHTAP_TAP_API_TOKEN: REGISTRATION_TOKEN } }));
  }
  await until('both pods registered', async () => (await listSidecars({ url: tapApi.url, token: TOKENS.viewer, namespace: 'shop' })).length === 2, { timeoutMs: 30_000, intervalMs: 100 });
}, 60_000);

afterAll(async () => {
  await Promise.all(pods.map((p) => p.stop()));
  await tapApi?.close();
  await new Promise((r) => backend?.close(r));
  await rm(dir, { recursive: true, force: true });
  await rm(fixturesDir, { recursive: true, force: true });
});

const tapArgs = ['-n', 'shop', '--tap-api', '', '--token', TOKENS.viewer];
const withApi = (args: string[]) => args.map((a) => (a === '' ? tapApi.url : a));
type Event = { kind: string; id: string; pod: string; path: string };
const parse = (stdout: string): Event[] => stdout.trim().split('\n').filter(Boolean).map((l) => JSON.parse(l) as Event);

describe('exchange ids across pods (-o json, record, HAR, replay)', () => {
  it('a live tap of two pods: each exchange has its own id, its req, rsp and end share it, as text shows it', async () => {
    const before = await Promise.all(pods.map(async (p) => sumMetric(await scrape(p.admin!), 'meshtap_tap_subscribers')));
    const tap = runMeshtap(['tap', 'deploy/web', ...withApi(tapArgs), '--path', '/live', '--limit', '2', '-o', 'json'], { timeoutMs: 60_000 });
    for (const [i, p] of pods.entries()) await waitForMetric(p.admin!, 'meshtap_tap_subscribers', {}, (v) => v > before[i]!, 30_000);
    // Each sidecar's first connection since it started: both number it 1 (their exchange `1.1`).
    for (const p of pods) await call(p, '/live');
    const r = await tap;
    expect(r.code, r.stderr).toBe(0);
    const events = parse(r.stdout);
    const ids = [...new Set(events.map((e) => e.id))].sort();
    expect(ids).toEqual(['web-1/1.1', 'web-2/1.1']);
    for (const id of ids) {
      const mine = events.filter((e) => e.id === id);
      expect(mine.map((e) => e.kind), id).toEqual(['req', 'rsp', 'end']);
      expect(new Set(mine.map((e) => e.pod)), id).toEqual(new Set([id.split('/')[0]]));
    }
    // The text output names the same ids.
    const text = await runMeshtap(['tap', 'deploy/web', ...withApi(tapArgs), '--path', '/live', '--last', '2']);
    expect(text.code, text.stderr).toBe(0);
    expect([...text.stdout.matchAll(/ id=(\S+)/g)].map((m) => m[1]).sort()).toEqual(ids);
  }, 90_000);

  it('a recording through the tap API keeps them; HAR and back keep them; replay pairs each with its own connection', async () => {
    for (const p of pods) await call(p, '/rec');
    const file = join(dir, 'web.jsonl');
    let lines: Event[] = [];
    await until('both /rec exchanges in the flight recorders', async () => {
      // bob may see bodies (meshtap-tap-admin), which replay compares.
      const rec = await runMeshtap(['record', 'deploy/web', '-n', 'shop', '--tap-api', tapApi.url, '--token', TOKENS.admin, '--path', '/rec', '--last', '2', '--force', '-o', file]);
      expect(rec.code, rec.stderr).toBe(0);
      lines = parse(await readFile(file, 'utf8')).slice(1);
      return lines.length === 2;
    });
    const recorded = lines.map((e) => e.id).sort();
    expect(recorded).toEqual([expect.stringMatching(/^web-1\/\d+\.1$/), expect.stringMatching(/^web-2\/\d+\.1$/)]);

    const har = join(dir, 'web.har');
    const back = join(dir, 'back.jsonl');
    expect((await runMeshtap(['convert', file, '--format', 'har', '-o', har])).code).toBe(0);
    const toRecording = await runMeshtap(['convert', har, '--format', 'recording', '-o', back]);
    expect(toRecording.code, toRecording.stderr).toBe(0);
    expect(parse(await readFile(back, 'utf8')).slice(1).map((e) => e.id).sort()).toEqual(recorded);

    // Replay: both exchanges, each once, and the report names each by its own id (not `web-1/web-1/…`).
    const replay = await runMeshtap(['replay', back, '--target', `http://127.0.0.1:${(backend.address() as AddressInfo).port}`]);
    expect(replay.code, replay.stdout + replay.stderr).toBe(0);
    expect(replay.stdout).not.toMatch(/web-\d\/web-/);
    expect(replay.stdout).toMatch(/2 exchanges?.*2 match/s);
  }, 90_000);
});
