/**
 * No Docker engine runs here, so the Dockerfile is checked statically: its stages, the
 * toolchain of the build stage, that every path it COPYs from the build context exists
 * (and is not ignored), that copies between stages refer to earlier stages and to paths
 * those stages create, and that it agrees with what `meshtap install` deploys.
 */
import { existsSync, readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { createMeshConfig, injectPod } from '../injector/index.js';
import { buildControlPlane } from '../webhook/install/index.js';
import { apiPod } from './fixtures/k8s/pods.js';

const root = new URL('../', import.meta.url);
const read = (p: string) => readFileSync(new URL(p, root), 'utf8');

interface Instruction {
  op: string;
  args: string;
}

/** Dockerfile instructions: comments dropped, backslash continuations joined. */
function parseDockerfile(text: string): Instruction[] {
  const out: Instruction[] = [];
  let pending = '';
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    if (pending === '' && (line === '' || line.startsWith('#'))) continue;
    if (line.startsWith('#')) continue; // comment inside a continuation
    pending += (pending ? ' ' : '') + line.replace(/\\$/, '').trim();
    if (line.endsWith('\\')) continue;
    const m = /^(\S+)\s*(.*)$/.exec(pending)!;
    out.push({ op: m[1]!.toUpperCase(), args: m[2]! });
    pending = '';
  }
  return out;
}

interface Stage {
  image: string;
  name: string;
  instructions: Instruction[];
}

function stagesOf(instructions: Instruction[]): Stage[] {
  const args: Record<string, string> = {};
  const stages: Stage[] = [];
  for (const ins of instructions) {
    if (ins.op === 'ARG' && stages.length === 0) {
      const [k, v] = ins.args.split('=');
      args[k!] = v ?? '';
    } else if (ins.op === 'FROM') {
      const m = /^(\S+)(?:\s+AS\s+(\S+))?$/i.exec(ins.args)!;
      const image = m[1]!.replace(/\$\{(\w+)\}/g, (_, k: string) => args[k] ?? '');
      stages.push({ image, name: m[2] ?? String(stages.length), instructions: [] });
    } else {
      stages[stages.length - 1]?.instructions.push(ins);
    }
  }
  return stages;
}

const dockerfile = parseDockerfile(read('Dockerfile'));
const stages = stagesOf(dockerfile);
const ignored = read('.dockerignore').split('\n').map((l) => l.trim()).filter((l) => l && !l.startsWith('#'));
const runs = (s: Stage) => s.instructions.filter((i) => i.op === 'RUN').map((i) => i.args).join('\n');

describe('Dockerfile', () => {
  it('has a Node 20 bookworm build stage and a slim Node 20 runtime stage', () => {
    expect(stages.map((s) => [s.name, s.image])).toEqual([
      ['build', 'node:20-bookworm'],
      ['runtime', 'node:20-bookworm-slim'],
    ]);
  });

  it('the build stage installs the BPF/native toolchain and builds everything', () => {
    const build = runs(stages[0]!);
    for (const pkg of ['clang', 'llvm', 'libbpf-dev', 'bpftool', 'make', 'g++', 'libc6-dev', 'pkg-config']) expect(build).toMatch(new RegExp(`apt-get install[^\\n]*\\s${pkg.replace('+', '\\+')}(\\s|$)`));
    expect(build).toMatch(/npm ci\b/);
    expect(build).toMatch(/npm run build\b/);
    const pkg = JSON.parse(read('package.json')) as { scripts?: Record<string, string> };
    expect(pkg.scripts?.build, 'package.json needs a build script').toBeTruthy();
    for (const script of build.match(/bash (\S+\.sh)/g) ?? []) expect(existsSync(new URL(script.slice(5), root)), script).toBe(true);
  });

  it('every path copied from the build context exists and is not ignored', () => {
    const copies = stages.flatMap((s) => s.instructions).filter((i) => i.op === 'COPY' && !i.args.includes('--from='));
    expect(copies.length).toBeGreaterThan(0);
    for (const c of copies) {
      const parts = c.args.split(/\s+/).filter((p) => !p.startsWith('--'));
      for (const src of parts.slice(0, -1)) {
        expect(existsSync(new URL(src, root)), `COPY ${src}`).toBe(true);
        expect(ignored.includes(src.replace(/\/$/, '')), `COPY ${src} is in .dockerignore`).toBe(false);
      }
    }
    // What the build needs is not ignored.
    for (const needed of ['package.json', 'package-lock.json', 'tsconfig.json', 'scripts', 'native', 'bpf', 'bin']) expect(ignored).not.toContain(needed);
  });

  it('copies between stages name an earlier stage and a path it creates', () => {
    for (const [i, s] of stages.entries()) {
      for (const c of s.instructions.filter((x) => x.op === 'COPY' && x.args.includes('--from='))) {
        const from = /--from=(\S+)/.exec(c.args)![1]!;
        const source = stages.findIndex((x) => x.name === from);
        expect(source, `COPY --from=${from}`).toBeGreaterThanOrEqual(0);
        expect(source).toBeLessThan(i);
        const srcs = c.args.split(/\s+/).filter((p) => !p.startsWith('--')).slice(0, -1);
        for (const src of srcs) {
          const dir = src.split('/').slice(0, 2).join('/'); // e.g. /out
          expect(runs(stages[source]!), `${src} must be created in stage ${from}`).toContain(`mkdir -p ${dir}`);
        }
      }
    }
  });

  it('the runtime installs production dependencies only, runs as a non-root uid, starts meshtap', () => {
    const runtime = stages[1]!;
    expect(runs(runtime)).toMatch(/npm ci --omit=dev/);
    expect(runs(runtime)).not.toMatch(/apt-get install[^\n]*\b(clang|g\+\+|make)\b/);
    const user = runtime.instructions.find((i) => i.op === 'USER')!.args;
    expect(user).toMatch(/^[1-9]\d*(:\d+)?$/);
    const entry = JSON.parse(runtime.instructions.find((i) => i.op === 'ENTRYPOINT')!.args) as string[];
    expect(entry).toEqual(['node', '/app/dist/bin/meshtap.js']);
    const tsconfig = JSON.parse(read('tsconfig.json')) as { compilerOptions: { outDir: string } };
    expect(tsconfig.compilerOptions.outDir).toBe('dist');
    expect(existsSync(new URL('bin/meshtap.ts', root))).toBe(true);
    const exposed = runtime.instructions.find((i) => i.op === 'EXPOSE')!.args.split(/\s+/).map(Number);
    expect(exposed).toEqual(expect.arrayContaining([4143, 4140, 4190, 4191, 8443, 8089]));
  });

  it('agrees with what install deploys: the image uid is the pods uid, args are meshtap sub-commands', async () => {
    const uid = Number(stages[1]!.instructions.find((i) => i.op === 'USER')!.args.split(':')[0]);
    const objs = (await buildControlPlane({ namespace: 'meshtap', image: 'x', version: '0.1.0', ha: false, certManager: false })) as any[];
    const deployments = objs.filter((o) => o.kind === 'Deployment');
    for (const d of deployments) expect(d.spec.template.spec.securityContext.runAsUser).toBe(uid);
    const subcommands = objs.filter((o) => o.kind === 'Deployment' || o.kind === 'DaemonSet').map((o) => o.spec.template.spec.containers[0].args[0]);
    expect(subcommands.sort()).toEqual(['agent', 'tap-api', 'webhook']);
    // the command table (bin/commands.ts) loads each sub-command lazily
    for (const sub of subcommands) expect(read('bin/commands.ts')).toContain(`import('./cmd-${sub}.js')`);
  });

  // Issue 14: the injected sidecar runs --engine native by default, so the image must hold an addon
  // that loads. Failed on the old image, which only checked that a file was built.
  it('the sidecar it runs is native by default: the build fails without the addon, the runtime stage fails if it does not load', () => {
    const build = runs(stages[0]!);
    expect(build).toMatch(/bash scripts\/build-native\.sh\b[^\n]*&& test -f native\/build\/Release\/meshtap_native\.node/);
    const runtime = stages[1]!.instructions;
    const load = runtime.findIndex((i) => i.op === 'RUN' && /isNativeAvailable\(\)[^\n]*process\.exit\(1\)/.test(i.args));
    expect(load, 'a RUN in the runtime stage that loads the addon and fails when it does not').toBeGreaterThan(runtime.findIndex((i) => i.op === 'COPY' && i.args.includes('--from=build')));
    expect(runtime.findIndex((i) => i.op === 'USER')).toBeGreaterThan(load);
    // Every shared library the addon links against (-lNAME; -l:libX.a is static) is installed there.
    const RUNTIME_PACKAGE: Record<string, string | undefined> = { bpf: 'libbpf1', elf: 'libelf1', z: 'zlib1g', pthread: undefined /* libc */ };
    const shared = [...read('native/binding.gyp').matchAll(/"-l([^":]+)"/g)].map((m) => m[1]!);
    expect(shared).toContain('bpf');
    for (const lib of shared) {
      expect(lib in RUNTIME_PACKAGE, `-l${lib}: add its runtime package to the Dockerfile's runtime stage and to RUNTIME_PACKAGE here`).toBe(true);
      const pkg = RUNTIME_PACKAGE[lib];
      if (pkg) expect(runs(stages[1]!)).toMatch(new RegExp(`apt-get install[^\\n]*\\s${pkg}(\\s|$)`));
    }
    const pod = injectPod({ config: createMeshConfig(), pod: apiPod({ name: 'web', namespace: 'shop', annotations: { 'meshtap.dev/inject': 'enabled' } }) as never, requireOptIn: true });
    expect(pod.injected).toBe(true);
    const args = pod.injected ? ((pod.pod as any).spec.initContainers[0].args as string[]) : [];
    expect(args.slice(args.indexOf('--engine'), args.indexOf('--engine') + 2)).toEqual(['--engine', 'native']);
  });
});
