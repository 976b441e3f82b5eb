/**
 * `meshtap version` through the real CLI (issue 11, habits: "meshtap version showing client and
 * server", as kubectl version). Before, `meshtap version` printed `meshtap 0.1.0` and asked no
 * server; the tap API had no version endpoint. Now: `Client Version:` then `Server Version:` from
 * the tap API's /version, `--client`, `-o json|yaml`; an unreachable server prints the client
 * version, then one line, exit 1. Each sidecar's admin port tells its build at /version.
 * (Through a kubeconfig: test/tap-api-kube-cli.test.ts.)
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import type { TapApiServer } from '../tap-api/index.js';
import { startFixtureTapApi, TOKENS, writeTapApiFixtures } from './tap-api-fixtures.js';
import { runMeshtap, startSidecarProcess } from './support/meshtap-process.js';

const VERSION = (JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { version: string }).version;
const BUILD = { version: VERSION, nodeVersion: process.version, platform: `${process.platform}/${process.arch}` };
/** No tap API or kubeconfig from the environment of whoever runs the tests. */
const CLEAN_ENV = { MESHTAP_TAP_API: '', MESHTAP_TOKEN: '', KUBECONFIG: '/nonexistent/kubeconfig', HOME: '/nonexistent', MESHTAP_CONFIG: '', XDG_CONFIG_HOME: '' };

let tapApi: TapApiServer;
beforeAll(async () => {
  const f = await writeTapApiFixtures();
  tapApi = await startFixtureTapApi(f.rbacDir);
});
afterAll(async () => {
  await tapApi?.close();
});

describe('meshtap version', () => {
  it('prints Client Version and Server Version (the tap API), as kubectl', async () => {
    const r = await runMeshtap(['version', '--tap-api', tapApi.url], { env: CLEAN_ENV });
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toBe(`Client Version: ${VERSION}\nServer Version: ${VERSION}\n`);
    expect(r.stderr).toBe('');
  });

  it('-o json and -o yaml carry both builds and the server mode; the server needs no token', async () => {
    const json = await runMeshtap(['version', '--tap-api', tapApi.url, '-o', 'json'], { env: CLEAN_ENV });
    expect(json.code, json.stderr).toBe(0);
    expect(JSON.parse(json.stdout)).toEqual({ clientVersion: BUILD, serverVersion: { ...BUILD, mode: 'local' } });
    const yaml = await runMeshtap(['version', '-o', 'yaml'], { env: { ...CLEAN_ENV, MESHTAP_TAP_API: tapApi.url, MESHTAP_TOKEN: TOKENS.viewer } });
    expect(yaml.code, yaml.stderr).toBe(0);
    expect(parse(yaml.stdout)).toEqual({ clientVersion: BUILD, serverVersion: { ...BUILD, mode: 'local' } });
  });

  it('--client asks no server', async () => {
    const r = await runMeshtap(['version', '--client', '--tap-api', 'http://127.0.0.1:9'], { env: CLEAN_ENV });
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toBe(`Client Version: ${VERSION}\n`);
    const json = await runMeshtap(['version', '--client', '-o', 'json'], { env: CLEAN_ENV });
    expect(JSON.parse(json.stdout)).toEqual({ clientVersion: BUILD });
  });

  it('an unreachable or missing server: the client version, then one line saying why, exit 1', async () => {
    const dead = await runMeshtap(['version', '--tap-api', 'http://127.0.0.1:9'], { env: CLEAN_ENV });
    expect(dead.code).toBe(1);
    expect(dead.stdout).toBe(`Client Version: ${VERSION}\n`);
    expect(dead.stderr).toMatch(/^meshtap: cannot reach the tap API at http:\/\/127\.0\.0\.1:9: .*\n$/);
    const deadJson = await runMeshtap(['version', '--tap-api', 'http://127.0.0.1:9', '-o', 'json'], { env: CLEAN_ENV });
    expect(deadJson.code).toBe(1);
    expect(JSON.parse(deadJson.stdout)).toEqual({ clientVersion: BUILD });
    const none = await runMeshtap(['version'], { env: CLEAN_ENV });
    expect(none.code).toBe(1);
    expect(none.stdout).toBe(`Client Version: ${VERSION}\n`);
    expect(none.stderr.trim().split('\n')).toEqual([expect.stringMatching(/no tap API to ask.*--tap-api URL.*--client/)]);
  });

  // Session 6: `--client` imported the whole tap API client (and through it grpc-js and the
  // Kubernetes client) and yaml at start, to print one line. The modules come from the real
  // process (test/support/loaded-modules-probe.mjs); asking a server is the control.
  it('--client loads neither the tap API client nor yaml; asking a server does', async () => {
    const probe = fileURLToPath(new URL('./support/loaded-modules-probe.mjs', import.meta.url));
    const dir = mkdtempSync(join(tmpdir(), 'meshtap-version-modules-'));
    try {
      const loaded = async (args: string[], name: string): Promise<string[]> => {
        const out = join(dir, name);
        await runMeshtap(args, { env: { ...CLEAN_ENV, MESHTAP_MODULES_PROBE: out, NODE_OPTIONS: `--import ${probe}` } });
        return readFileSync(out, 'utf8').split('\n').filter(Boolean).map((u) => u.replace(/^.*?\/(dist|node_modules)\//, '$1/'));
      };
      const client = await loaded(['version', '--client', '-o', 'json'], 'client');
      expect(client).toContain('dist/bin/cmd-version.js');
      expect(client.filter((f) => /^dist\/tap-api\/|^node_modules\/(yaml|@grpc|@kubernetes)\//.test(f))).toEqual([]);
      const server = await loaded(['version', '--tap-api', 'http://127.0.0.1:9', '-o', 'yaml'], 'server');
      expect(server).toContain('dist/tap-api/index.js');
      expect(server.some((f) => f.startsWith('node_modules/yaml/'))).toBe(true);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('a bad -o is a usage error (exit 2)', async () => {
    const r = await runMeshtap(['version', '-o', 'xml'], { env: CLEAN_ENV });
    expect(r.code).toBe(2);
    expect(r.stderr).toBe("meshtap: version: -o takes text, json or yaml, not 'xml'\n");
  });

  it("a sidecar's admin port tells its build at /version", async () => {
    const sidecar = await startSidecarProcess(['--forward', '127.0.0.1:0=127.0.0.1:9', '--admin', '127.0.0.1:0']);
    try {
      const res = await fetch(`http://${sidecar.admin}/version`);
      expect(res.status).toBe(200);
      expect(await res.json()).toEqual(BUILD);
    } finally {
      await sidecar.stop();
    }
  });
});
