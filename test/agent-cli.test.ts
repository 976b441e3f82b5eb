/**
 * `meshtap agent` usage errors through the built CLI: exit 2 and a one-line message that
 * says what to pass; --help exits 0. Needs dist/ (npx tsc -p .), not root.
 */
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const CLI = fileURLToPath(new URL('../dist/bin/meshtap.js', import.meta.url));
const agent = (args: string[], env: NodeJS.ProcessEnv = {}) => {
  const r = spawnSync(process.execPath, [CLI, 'agent', ...args], { encoding: 'utf8', env: { ...process.env, MESHTAP_NODE_NAME: '', ...env }, timeout: 30_000 });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
};

const skip = existsSync(CLI) ? undefined : "dist/ is not built (npx tsc -p .)";
if (skip) process.stderr.write(`test/agent-cli.test.ts skipped: ${skip}\n`);

describe.skipIf(skip !== undefined)('meshtap agent CLI', { timeout: 60_000 }, () => {
  it('documents itself', () => {
    const r = agent(['--help']);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/kubepods-<qos>-pod<uid>\.slice/);
    expect(r.stdout).toMatch(/--cgroup-root PATH/);
  });

  it('refuses to start without a node name, a real cgroup root or a valid duration', () => {
    let r = agent([]);
    expect(r.code).toBe(2);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
    expect(r.stderr).toMatch(/--node NAME or set MESHTAP_NODE_NAME/);
    r = agent(['--node', 'n1', '--cgroup-root', '/nonexistent/meshtap']);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/--cgroup-root: \/nonexistent\/meshtap does not exist/);
    r = agent(['--node', 'n1', '--resync', 'soon']);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/--resync/);
    // Past a Node timer's reach a period fired every millisecond (review14): a day at most, said at once.
    for (const [flag, value] of [['--resync', '1000h'], ['--watch-idle-timeout', '25h'], ['--max-backoff', '24h1ms']]) {
      r = agent(['--node', 'n1', flag!, value!]);
      expect(r.code).toBe(2);
      expect(r.stderr.trim().split('\n')).toHaveLength(1);
      expect(r.stderr).toContain(`${flag}: '${value}' is too long; give at most 24h`);
    }
  });

  it('says which kubeconfig it could not load', () => {
    const r = agent(['--node', 'n1', '--kubeconfig', '/nonexistent/kubeconfig']);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/cannot load \/nonexistent\/kubeconfig/);
  });
});
