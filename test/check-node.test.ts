/**
 * `meshtap check --node-only` as a user runs it (the built CLI): the node's checks come from bpf/,
 * and the last one says which data path engine this node runs (issue 14): native where the addon
 * loads, else js and why. Regression: bpf/index.ts stopped exporting runNodeChecks (cmd-check
 * loaded it through a variable specifier nobody saw), and every build said "this build has no BPF
 * support"; this test failed on that build.
 */
import { describe, expect, it } from 'vitest';
import { isNativeAvailable } from '../native/index.js';
import { runMeshtap } from './support/meshtap-process.js';

interface Check {
  name: string;
  ok: boolean;
  detail?: string;
  hint?: string;
}

async function nodeChecks(env: NodeJS.ProcessEnv = {}): Promise<Check[]> {
  const r = await runMeshtap(['check', '--node-only', '-o', 'json'], { env });
  expect([0, 1], r.stderr).toContain(r.code);
  return (JSON.parse(r.stdout) as { node: Check[] }).node;
}

describe('meshtap check --node-only', () => {
  it("runs bpf/'s node checks in this build (not 'no BPF support')", async () => {
    const names = (await nodeChecks()).map((c) => c.name);
    expect(names).not.toContain('node checks available');
    expect(names).toEqual(expect.arrayContaining(['cgroup v2', 'kernel BTF', 'native addon (libbpf loader)']));
  });

  it.skipIf(!isNativeAvailable())('says the node runs the native engine by default where the addon is built', async () => {
    const engine = (await nodeChecks()).find((c) => c.name === 'data path engine');
    expect(engine).toEqual({ name: 'data path engine', ok: true, detail: 'native by default; js with --engine js' });
  });

  it('says js only, why, and how to build the addon where it is not built', async () => {
    const checks = await nodeChecks({ MESHTAP_NATIVE_ADDON: '/nonexistent/meshtap_native.node' });
    expect(checks.find((c) => c.name === 'data path engine')).toEqual({
      name: 'data path engine',
      ok: false,
      detail: 'js only: the native addon is not built (looked for /nonexistent/meshtap_native.node)',
      hint: "build it with 'bash scripts/build-native.sh' (needs clang llvm libbpf-dev bpftool g++); until then sidecars fall back to --engine js",
    });
    const r = await runMeshtap(['check', '--node-only'], { env: { MESHTAP_NATIVE_ADDON: '/nonexistent/meshtap_native.node' } });
    expect(r.code).toBe(1);
    expect(r.stdout).toMatch(/^✖ data path engine: js only: the native addon is not built/m);
  });
});
