/**
 * Regression (session 8): `meshtap demo` hung when it failed on start. With an addon older than
 * the sources ("engine.tapGated is not a function"), the first sidecar's native workers were
 * started, the next step threw, nothing stopped them, and their thread kept the process alive:
 * the command printed a stack trace and never exited. It must print one line saying what to do,
 * exit 1, and leave nothing behind (its temporary directory with credentials included).
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { isNativeAvailable } from '../native/index.js';
import { MESHTAP_BIN } from './support/meshtap-process.js';

const STALE_ADDON = fileURLToPath(new URL('./fixtures/native/stale-addon.cjs', import.meta.url));
const REAL_ADDON = fileURLToPath(new URL('../native/build/Release/meshtap_native.node', import.meta.url));

const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

describe.skipIf(!isNativeAvailable())('meshtap demo that fails on start', () => {
  it('with a stale native addon: one line naming the rebuild, exit 1, nothing left running or on disk', async () => {
    const tmp = mkdtempSync(join(tmpdir(), 'mt-demo-fail-'));
    dirs.push(tmp);
    const child = spawn(process.execPath, [MESHTAP_BIN, 'demo', '--engine', 'native', '--rps', '5'], {
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { ...process.env, MESHTAP_NATIVE_ADDON: STALE_ADDON, MESHTAP_REAL_ADDON: REAL_ADDON, TMPDIR: tmp },
    });
    let out = '';
    let err = '';
    child.stdout.on('data', (c) => (out += c));
    child.stderr.on('data', (c) => (err += c));
    // Bounded: a demo that hangs is killed, and the test then fails on its exit signal.
    const killer = setTimeout(() => child.kill('SIGKILL'), 30_000);
    const [code, signal] = await new Promise<[number | null, NodeJS.Signals | null]>((resolve) => child.on('exit', (c, s) => resolve([c, s])));
    clearTimeout(killer);
    expect({ code, signal }, err).toEqual({ code: 1, signal: null });
    expect(out).toBe('');
    expect(err).toBe(
      'meshtap: demo: the mesh did not start: the native addon is older than this meshtap (its engine has no tapGated); rebuild it: bash scripts/build-native.sh (or use --engine js)\n',
    );
    // The demo's directory (tokens, grant key, RBAC policy) was made in TMPDIR and removed.
    expect(readdirSync(tmp)).toEqual([]);
  }, 60_000);
});
