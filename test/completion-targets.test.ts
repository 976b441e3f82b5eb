/**
 * Regression (session 8): completion completed resource kinds but never names — `meshtap tap
 * deploy/<TAB>` offered nothing, where kubectl offers the deployments. Now, once a resource word
 * is typed, the scripts ask `meshtap __complete` for the names the tap API knows (its sidecars'
 * workloads or pods in the namespace of the line's `-n`, through the line's or the usual
 * connection), in real bash, zsh and fish against a real tap API; quietly nothing (and promptly:
 * each shell run is bounded) when there is no tap API, it refuses, or it never answers.
 */
import { execFile, execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import * as net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { TapApiServer } from '../tap-api/index.js';
import { MESHTAP_BIN, runMeshtap } from './support/meshtap-process.js';
import { registerSidecar, startFixtureTapApi, TOKENS, writeTapApiFixtures } from './tap-api-fixtures.js';

const run = promisify(execFile);
const has = (shell: string) => {
  try {
    execFileSync('sh', ['-c', `command -v ${shell}`]);
    return true;
  } catch {
    return false;
  }
};

const dir = mkdtempSync(join(tmpdir(), 'mt-complete-targets-'));
const scripts: Record<string, string> = {};
let tapApi: TapApiServer;
let fixturesDir: string;
/** A TCP server that accepts and never answers (a tap API that hangs). */
let silent: net.Server;
const silentSockets: net.Socket[] = [];

const PODS = [
  { workload: 'deploy/web', namespace: 'shop', pod: 'web-1' },
  { workload: 'deploy/web', namespace: 'shop', pod: 'web-2' },
  { workload: 'deploy/api', namespace: 'shop', pod: 'api-1' },
  { workload: 'sts/db', namespace: 'shop', pod: 'db-0' },
  { workload: 'deploy/other', namespace: 'elsewhere', pod: 'other-1' },
];

/** Registers the pods, as their sidecars would. */
async function register(): Promise<void> {
  for (const p of PODS) expect(await registerSidecar(tapApi.url, { ...p, tapAddress: '127.0.0.1:1' })).toBe(200);
}
/** Heartbeats (a registration lives 6 s without one; a shell's TABs can take longer on a loaded machine). */
let heartbeat: NodeJS.Timeout | undefined;

/** An environment with nothing of the user's: no config file, no kubeconfig, only what `more` sets. */
function env(more: Record<string, string> = {}): NodeJS.ProcessEnv {
  return { PATH: process.env.PATH, HOME: dir, MESHTAP_CONFIG: join(dir, 'no-config.yaml'), KUBECONFIG: join(dir, 'no-kubeconfig'), ...more };
}

beforeAll(async () => {
  const f = await writeTapApiFixtures();
  fixturesDir = f.dir;
  tapApi = await startFixtureTapApi(f.rbacDir);
  await register();
  heartbeat = setInterval(() => void register().catch(() => {}), 1500);
  silent = net.createServer((s) => silentSockets.push(s.on('error', () => {})));
  await new Promise<void>((r) => silent.listen(0, '127.0.0.1', r));
  for (const shell of ['bash', 'zsh', 'fish']) {
    const r = await runMeshtap(['completion', shell]);
    expect(r.code, r.stderr).toBe(0);
    scripts[shell] = join(dir, `meshtap.${shell}`);
    writeFileSync(scripts[shell]!, r.stdout);
  }
}, 60_000);

afterAll(async () => {
  clearInterval(heartbeat);
  for (const s of silentSockets) s.destroy();
  await new Promise((r) => silent?.close(r));
  await tapApi?.close();
  rmSync(dir, { recursive: true, force: true });
  rmSync(fixturesDir, { recursive: true, force: true });
});

/** bash: "presses TAB" at the end of each line; one line of COMPREPLY each. */
async function bashComplete(lines: string[][], environment: NodeJS.ProcessEnv): Promise<{ replies: string[]; stderr: string }> {
  const driver = [
    `meshtap() { node ${MESHTAP_BIN} "$@"; }`,
    `source ${scripts.bash}`,
    't() { COMP_WORDS=("$@"); COMP_CWORD=$((${#COMP_WORDS[@]}-1)); COMPREPLY=(); _meshtap; echo "${COMPREPLY[*]}"; }',
    ...lines.map((words) => `t ${words.map((w) => `'${w}'`).join(' ')}`),
  ].join('\n');
  const { stdout, stderr } = await run('bash', ['-c', driver], { timeout: 30_000, env: environment });
  return { replies: stdout.split('\n').slice(0, -1), stderr };
}

describe('completion of workload names (bash, zsh, fish)', () => {
  it('bash: deploy/<TAB> offers the namespace\'s deployments, by the line\'s flags or the environment', async () => {
    const viaEnv = env({ MESHTAP_TAP_API: tapApi.url, MESHTAP_TOKEN: TOKENS.viewer });
    const { replies, stderr } = await bashComplete(
      [
        ['meshtap', 'tap', '-n', 'shop', 'deploy/'],
        ['meshtap', 'tap', '-n', 'shop', 'deploy/w'],
        ['meshtap', 'top', '--namespace', 'shop', 'deployment/a'],
        ['meshtap', 'record', '-n', 'shop', 'pod/'],
        ['meshtap', 'tap', '-n', 'shop', 'sts/'],
        ['meshtap', 'tap', '-n', 'shop', '--to', 'deploy/'],
        ['meshtap', 'tap', '-n', 'shop', 'de'],
      ],
      viaEnv,
    );
    expect(stderr).toBe('');
    expect(replies).toEqual([
      'deploy/api deploy/web',
      'deploy/web',
      'deployment/api',
      'pod/api-1 pod/db-0 pod/web-1 pod/web-2',
      'sts/db',
      'deploy/api deploy/web',
      'deploy/',
    ]);
    // The connection given on the line itself (nothing in the environment).
    const byFlags = await bashComplete([['meshtap', 'tap', '--tap-api', tapApi.url, '--token', TOKENS.viewer, '-n', 'shop', 'deploy/']], env());
    expect(byFlags.replies).toEqual(['deploy/api deploy/web']);
  }, 60_000);

  it('bash: quietly nothing when there is no tap API, it refuses, or it never answers', async () => {
    const closed = await new Promise<number>((resolve) => {
      const s = net.createServer().listen(0, '127.0.0.1', () => {
        const port = (s.address() as net.AddressInfo).port;
        s.close(() => resolve(port));
      });
    });
    const line = ['meshtap', 'tap', '-n', 'shop', 'deploy/'];
    const cases: NodeJS.ProcessEnv[] = [
      env(), // no tap API anywhere, no kubeconfig
      env({ MESHTAP_TAP_API: `http://127.0.0.1:${closed}` }), // nothing listening
      env({ MESHTAP_TAP_API: tapApi.url, MESHTAP_TOKEN: 'not-a-token' }), // 401
      env({ MESHTAP_TAP_API: tapApi.url, MESHTAP_TOKEN: TOKENS.nobody }), // 403
      env({ MESHTAP_TAP_API: `http://127.0.0.1:${(silent.address() as net.AddressInfo).port}` }), // accepts, never answers: the bound ends it
    ];
    for (const e of cases) {
      const { replies, stderr } = await bashComplete([line], e);
      expect({ replies, stderr }, e.MESHTAP_TAP_API ?? 'none').toEqual({ replies: [''], stderr: '' });
    }
  }, 90_000);

  it.skipIf(!has('zsh'))('zsh: deploy/<TAB> offers the deployments', async () => {
    const driver = [
      `meshtap() { node ${MESHTAP_BIN} "$@"; }`,
      `source ${scripts.zsh} 2>/dev/null`, // compdef is absent without compinit: only the registration line fails
      // compadd is zsh's completion builtin (it needs a line editor): stubbed to print what it is handed.
      'compadd() { local a; for a in "$@"; do case $a in -S|""|--) ;; *) print -r -- "$a";; esac; done }',
      't() { words=("$@"); CURRENT=${#words}; _meshtap; print -- --- }',
      't meshtap tap -n shop deploy/',
    ].join('\n');
    const { stdout } = await run('zsh', ['-f', '-c', driver], { timeout: 30_000, env: env({ MESHTAP_TAP_API: tapApi.url, MESHTAP_TOKEN: TOKENS.viewer }) });
    expect(stdout).toBe('deploy/api\ndeploy/web\n---\n');
  }, 60_000);

  it.skipIf(!has('fish'))('fish: deploy/<TAB> offers the deployments', async () => {
    const driver = `function meshtap; node ${MESHTAP_BIN} $argv; end; source ${scripts.fish}; complete -C 'meshtap tap -n shop deploy/'`;
    const { stdout } = await run('fish', ['-c', driver], { timeout: 30_000, env: env({ MESHTAP_TAP_API: tapApi.url, MESHTAP_TOKEN: TOKENS.viewer }) });
    expect(stdout.trim().split('\n').map((l) => l.split('\t')[0])).toEqual(['deploy/api', 'deploy/web']);
  }, 60_000);
});
