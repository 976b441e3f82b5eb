/**
 * Regressions (session 8 walk-through), the usual kubeconfig mistakes: `meshtap dashboard
 * --kubeconfig /missing` started, printed its URL and ran on (the error came only from the
 * browser's first tap); a file that is not a kubeconfig said `the context "undefined" names no
 * cluster`. Both are now one line on stderr, exit 1, before anything listens.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { runMeshtap } from './support/meshtap-process.js';

const dir = mkdtempSync(join(tmpdir(), 'mt-kubeconfig-mistakes-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
// Nothing of the user's: no tap API, no config file (an empty HOME), no default kubeconfig.
const env = { HOME: dir, MESHTAP_TAP_API: '', MESHTAP_TOKEN: '', KUBECONFIG: '' };

describe('kubeconfig mistakes', () => {
  it('dashboard --kubeconfig MISSING: one line, exit 1, nothing left listening', async () => {
    const r = await runMeshtap(['dashboard', '--kubeconfig', join(dir, 'missing'), '--address', '127.0.0.1:0'], { env, timeoutMs: 20_000 });
    expect({ code: r.code, signal: r.signal }).toEqual({ code: 1, signal: null });
    expect(r.stderr).toBe(`meshtap: cannot load kubeconfig ${join(dir, 'missing')}: ENOENT: no such file or directory, open '${join(dir, 'missing')}'\n`);
  }, 30_000);

  it('a file that is not a kubeconfig: says so, for tap and the dashboard', async () => {
    const notKubeconfig = join(dir, 'notes.txt');
    writeFileSync(notKubeconfig, 'hello\n');
    const line = `meshtap: kubeconfig ${notKubeconfig} has no current context; is it a kubeconfig? (kubectl config use-context NAME, or --context NAME)\n`;
    for (const args of [['tap', 'deploy/web'], ['dashboard', '--address', '127.0.0.1:0']]) {
      const r = await runMeshtap([...args, '--kubeconfig', notKubeconfig], { env, timeoutMs: 20_000 });
      expect({ code: r.code, stderr: r.stderr }, args[0]).toEqual({ code: 1, stderr: line });
    }
  }, 30_000);
});
