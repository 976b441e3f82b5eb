/**
 * The bench harness end to end, in quick mode over a subset (~1 min): it completes, writes
 * a well-formed results file and report, measures proxy CPU/RSS, attaches a live tap, marks
 * an engine that is not built as skipped, and leaves no process behind — also on Ctrl-C.
 * No timing assertions: the numbers themselves belong to bench/REPORT.md, not to tests.
 */
import { spawn, spawnSync } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { summarize } from '../bench/report.js';
import type { BenchResults } from '../bench/results.js';

const RUN = 'dist/bench/run.js';
const TOOLS = ['wrk', 'h2load', 'haproxy', 'taskset'];
const missingTools = TOOLS.filter((t) => spawnSync('sh', ['-c', `command -v ${t}`]).status !== 0);
const skipReason = !existsSync(RUN) || !existsSync('dist/bin/meshtap.js')
  ? 'dist/ is not built (npm run build)'
  : missingTools.length
    ? `missing tools: ${missingTools.join(', ')} (bash scripts/setup.sh)`
    : process.platform !== 'linux'
      ? 'needs Linux /proc'
      : '';
if (skipReason) console.warn(`bench-quick: skipped: ${skipReason}`);

const ONLY = 'h1-small,grpc,direct,meshtap-js,meshtap-js-tap,meshtap-native,haproxy,node-h2';

/** Pids of live processes whose environment carries `marker` (everything the bench started). */
function processesWithMarker(marker: string): number[] {
  const pids: number[] = [];
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    try {
      if (readFileSync(`/proc/${name}/environ`, 'latin1').includes(marker)) pids.push(Number(name));
    } catch {
      // gone, or not ours to read
    }
  }
  return pids;
}

function runBench(args: string[], marker: string, onStderr?: (text: string, child: ReturnType<typeof spawn>) => void) {
  const child = spawn(process.execPath, [RUN, ...args], { env: { ...process.env, MESHTAP_BENCH_TEST_MARKER: marker }, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout!.setEncoding('utf8').on('data', (s: string) => (stdout += s));
  child.stderr!.setEncoding('utf8').on('data', (s: string) => {
    stderr += s;
    onStderr?.(stderr, child);
  });
  const done = new Promise<{ code: number | null; signal: NodeJS.Signals | null; stdout: string; stderr: string }>((resolve) =>
    child.once('exit', (code, signal) => resolve({ code, signal, stdout, stderr })),
  );
  return { child, done };
}

describe.skipIf(skipReason !== '')('bench --quick', () => {
  const outDir = mkdtempSync(join(tmpdir(), 'meshtap-bench-test-'));
  const marker = randomUUID();
  let run: { code: number | null; stdout: string; stderr: string };
  let results: BenchResults;
  let markdown: string;

  beforeAll(async () => {
    run = await runBench(['--quick', '--out', outDir, '--only', ONLY], marker).done;
    const files = readdirSync(outDir);
    const json = files.find((f) => f.endsWith('.json'));
    const md = files.find((f) => f.endsWith('.md'));
    if (run.code !== 0 || !json || !md) throw new Error(`bench failed (exit ${run.code}): ${run.stderr.slice(-2000)}`);
    results = JSON.parse(readFileSync(join(outDir, json), 'utf8')) as BenchResults;
    markdown = readFileSync(join(outDir, md), 'utf8');
  }, 300_000);

  afterAll(() => {
    for (const pid of processesWithMarker(marker)) process.kill(pid, 'SIGKILL');
    rmSync(outDir, { recursive: true, force: true });
  });

  it('writes a results file in the documented format with machine facts', () => {
    expect(results.format).toBe('meshtap-bench');
    expect(results.version).toBe(1);
    expect(results.quick).toBe(true);
    expect(results.shape.repeats).toBe(1);
    expect(results.machine.cores).toBeGreaterThanOrEqual(1);
    expect(results.machine.kernel).not.toBe('');
    expect(results.machine.node).toBe(process.version);
    expect(results.scenarios.map((s) => s.name)).toEqual(['h1-small', 'grpc']);
    expect(results.targets.map((t) => t.id)).toEqual(ONLY.split(',').slice(2));
    expect(Date.parse(results.finishedAt!)).toBeGreaterThanOrEqual(Date.parse(results.startedAt));
  });

  it('measures every load through direct, meshtap-js and haproxy without errors', () => {
    for (const sc of results.scenarios) {
      for (const load of sc.loads) {
        for (const target of ['direct', 'meshtap-js', 'haproxy']) {
          const runs = results.runs.filter((r) => r.scenario === sc.name && r.load === load && r.target === target);
          expect(runs, `${sc.name}/${load}/${target}; skipped: ${JSON.stringify(results.skipped)}`).toHaveLength(1);
          expect(runs[0].error, `${sc.name}/${load}/${target}`).toBeUndefined();
          expect(runs[0].result!.units).toBeGreaterThan(0);
        }
      }
    }
  });

  it('samples proxy CPU and RSS for proxies, and none for direct', () => {
    const h1 = (target: string) => results.runs.find((r) => r.scenario === 'h1-small' && r.load === 'max' && r.target === target)!;
    expect(h1('direct').proxyCpuUs).toBeUndefined();
    for (const target of ['meshtap-js', 'haproxy']) {
      expect(h1(target).proxyCpuUs).toBeGreaterThan(0);
      expect(h1(target).cpuUsPerUnit).toBeGreaterThan(0);
      expect(h1(target).peakRssBytes).toBeGreaterThan(1024 * 1024);
      expect(results.idleRss.some((i) => i.scenario === 'h1-small' && i.target === target && i.rssBytes > 0)).toBe(true);
    }
  });

  it('logs per-request latency at the fixed rate', () => {
    for (const r of results.runs.filter((x) => x.load === 'rate' && !x.error)) {
      const l = r.result!.latencyMs!;
      expect(l.samples).toBeGreaterThan(0);
      expect(l.p50).toBeGreaterThan(0);
      expect(l.p50).toBeLessThanOrEqual(l.p99);
      expect(l.p99).toBeLessThanOrEqual(l.p999);
    }
  });

  it('has a live tap with bodies receiving events on the -tap target', () => {
    const tap = results.runs.filter((r) => r.target === 'meshtap-js-tap' && r.scenario === 'h1-small' && !r.error);
    expect(tap.length).toBeGreaterThan(0);
    expect(tap.reduce((n, r) => n + r.tap!.events + r.tap!.dropped, 0)).toBeGreaterThan(0);
  });

  it('reports the native engine as not built when the build has no native engine', () => {
    const native = results.skipped.filter((s) => s.target === 'meshtap-native');
    const nativeRuns = results.runs.filter((r) => r.target === 'meshtap-native');
    // either it exists and ran, or it is skipped with a reason for every scenario
    if (nativeRuns.length === 0) {
      expect(native.map((s) => s.scenario).sort()).toEqual(['grpc', 'h1-small']);
      for (const s of native) expect(s.reason).toMatch(/^not built: /);
    }
  });

  it('renders the markdown report with ratios, machine facts and goals, and prints it', () => {
    expect(markdown).toMatch(/^# meshtap bench — /);
    expect(markdown).toContain(`${results.machine.cores} cores`);
    expect(markdown).toContain('## h1-small: ');
    expect(markdown).toContain('## grpc: ');
    expect(markdown).toContain('| target | req/s | × direct | × haproxy | proxy CPU µs/req |');
    expect(markdown).toContain('| target | p50 ms | p99 ms | p99.9 ms |');
    expect(markdown).toContain('## Goals (js: issue 3; native: issues 13 and 14), each against a peer of this run');
    expect(run.stdout).toBe(markdown);
    const rows = summarize(results);
    const direct = rows.find((r) => r.scenario === 'h1-small' && r.load === 'max' && r.target === 'direct')!;
    expect(direct.ratioDirect).toBe(1);
    const hap = rows.find((r) => r.scenario === 'h1-small' && r.load === 'max' && r.target === 'haproxy')!;
    expect(hap.ratioHaproxy).toBe(1);
  });

  it('leaves no process behind', () => {
    expect(processesWithMarker(marker)).toEqual([]);
  });

  it('stops everything it started on Ctrl-C', async () => {
    const marker2 = randomUUID();
    const out2 = mkdtempSync(join(tmpdir(), 'meshtap-bench-test-'));
    let sent = false;
    const { done } = runBench(['--quick', '--out', out2, '--only', 'h1-small,direct,meshtap-js-tap,haproxy'], marker2, (text, child) => {
      // interrupt mid-run: after the first measurement, while proxies and the tap client run
      if (!sent && /#1 \S+ +direct /.test(text)) {
        sent = true;
        child.kill('SIGINT');
      }
    });
    const r = await done;
    rmSync(out2, { recursive: true, force: true });
    expect(sent).toBe(true);
    expect(r.code).toBe(130);
    expect(processesWithMarker(marker2)).toEqual([]);
  }, 120_000);
});
