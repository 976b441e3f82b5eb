/**
 * Runs the plan: per scenario, one backend; every selected target started in front of it;
 * a warm-up; then rounds interleaved as A B C … A B C … (repeat → load → target) so that
 * drifting machine load spreads over all targets instead of landing on one. Proxy CPU and
 * RSS are sampled during each run. A target that fails to start is recorded as skipped;
 * a failed run is recorded with its error; neither stops the bench.
 */
import { loadavg } from 'node:os';
import { fileURLToPath } from 'node:url';
import { startProcess, stopAll, waitForStderr, type BenchProcess } from './lib/procs.js';
import { freePort } from './lib/ports.js';
import { sampleGroup, watchGroup } from './lib/proc-stats.js';
import { machineFacts } from './lib/machine.js';
import { runLoad } from './loads.js';
import { RESULTS_FORMAT, RESULTS_VERSION, type BenchResults, type RunRecord } from './results.js';
import type { LoadKind, RunShape, Scenario } from './scenarios.js';
import type { BackendAddresses, RunningTarget, TargetDef } from './targets.js';

const BACKEND = fileURLToPath(new URL('./backend.js', import.meta.url));

export interface RunPlan {
  scenarios: Scenario[];
  targets: TargetDef[];
  shape: RunShape;
  quick: boolean;
  scratchDir: string;
  proxyCpus?: string;
  clientCpus?: string;
  pinningNote: string;
  /** Progress lines (stderr by default). */
  log(line: string): void;
}

const message = (err: unknown): string => (err instanceof Error ? err.message : String(err)).split('\n')[0];

/** Starts the scenario's backend (Node h1 + h2c server, or iperf3 for TCP) on the client CPUs. */
export async function startBackend(s: Scenario, plan: RunPlan): Promise<{ addrs: BackendAddresses; procs: BenchProcess[] }> {
  if (s.protocol === 'tcp') {
    const port = await freePort();
    const proc = startProcess({ name: 'iperf3 server', command: 'iperf3', args: ['-s', '-B', '127.0.0.1', '-p', String(port)], cpus: plan.clientCpus, stdout: 'pipe' });
    proc.child.stdout!.resume();
    const { connect } = await import('node:net');
    for (let i = 0; i < 200; i++) {
      const ok = await new Promise<boolean>((resolve) => {
        const c = connect(port, '127.0.0.1');
        c.once('connect', () => (c.destroy(), resolve(true)));
        c.once('error', () => resolve(false));
      });
      if (ok) break;
      await new Promise((r) => setTimeout(r, 50));
    }
    const a = `127.0.0.1:${port}`;
    return { addrs: { h1: a, h2: a, tcp: a }, procs: [proc] };
  }
  const proc = startProcess({ name: `backend (${s.name})`, command: process.execPath, args: [BACKEND, '--size', String(s.responseBytes)], cpus: plan.clientCpus });
  await waitForStderr(proc, /^ready$/m);
  const tail = proc.stderrTail();
  const h1 = /^listening h1 (\S+)/m.exec(tail)![1];
  const h2 = /^listening h2 (\S+)/m.exec(tail)![1];
  return { addrs: { h1, h2, tcp: h1 }, procs: [proc] };
}

/** One load through one target, with the proxy's CPU, RSS and tap counts sampled meanwhile. */
export async function measure(plan: RunPlan, s: Scenario, load: Scenario['loads'][number], id: string, t: RunningTarget, repeat: number, durationS: number): Promise<RunRecord> {
  const rec: RunRecord = { scenario: s.name, load, target: id, repeat };
  if (t.proc && (t.proc.child.exitCode !== null || t.proc.child.signalCode !== null)) {
    const last = t.proc.stderrTail().trim().split('\n').filter(Boolean).slice(-1)[0] ?? '';
    rec.error = `${id} is no longer running (exit ${t.proc.child.exitCode ?? t.proc.child.signalCode})${last ? `: ${last.slice(0, 200)}` : ''}`;
    return rec;
  }
  const watch = t.proc ? watchGroup(t.proc.pid) : undefined;
  const tapBefore = t.tapCounts?.();
  try {
    rec.result = await runLoad({ kind: load, protocol: s.protocol, address: t.address, durationS, rateRps: plan.shape.rateRps, cpus: plan.clientCpus, scratchDir: plan.scratchDir });
    if (rec.result.units <= 0) rec.error = `no requests completed (${rec.result.errors} errors)`;
  } catch (err) {
    rec.error = message(err);
  }
  const w = watch?.stop();
  if (w && rec.result && rec.result.units > 0) {
    rec.proxyCpuUs = w.cpuUs;
    rec.cpuUsPerUnit = w.cpuUs / rec.result.units;
    rec.peakRssBytes = w.peakRssBytes;
    rec.peakRssAnonBytes = w.peakRssAnonBytes;
    rec.peakRssFileBytes = w.peakRssFileBytes;
  }
  if (t.tapCounts && tapBefore) {
    const after = t.tapCounts();
    rec.tap = {
      events: after.events - tapBefore.events,
      dropped: after.dropped - tapBefore.dropped,
      rateLimited: after.rateLimited - tapBefore.rateLimited,
      withBodies: after.withBodies - tapBefore.withBodies,
    };
  }
  return rec;
}

/** The results skeleton of a plan, before any run. */
export function newResults(plan: RunPlan): BenchResults {
  return {
    format: RESULTS_FORMAT,
    version: RESULTS_VERSION,
    startedAt: new Date().toISOString(),
    quick: plan.quick,
    shape: plan.shape,
    machine: machineFacts(),
    pinning: { proxyCpus: plan.proxyCpus, clientCpus: plan.clientCpus, note: plan.pinningNote },
    scenarios: plan.scenarios.map((s) => ({ name: s.name, title: s.title, protocol: s.protocol, loads: s.loads })),
    targets: plan.targets.map((t) => ({ id: t.id, description: t.description })),
    skipped: [],
    idleRss: [],
    runs: [],
  };
}

export interface StartedTarget {
  id: string;
  t: RunningTarget;
}

/**
 * Starts `defs` in front of the scenario's backend, all at once (idle ones cost nothing), in
 * report order; records each one's idle RSS, and those that fail as skipped.
 */
export async function startTargets(plan: RunPlan, s: Scenario, defs: TargetDef[], backend: BackendAddresses, results: BenchResults): Promise<StartedTarget[]> {
  const running: StartedTarget[] = [];
  const started = await Promise.allSettled(
    defs.map((def) => def.start({ protocol: s.protocol, backend, scratchDir: plan.scratchDir, proxyCpus: plan.proxyCpus, clientCpus: plan.clientCpus })),
  );
  started.forEach((st, i) => {
    const def = defs[i];
    if (st.status === 'fulfilled') {
      running.push({ id: def.id, t: st.value });
      if (st.value.proc) {
        const idle = sampleGroup(st.value.proc.pid);
        results.idleRss.push({ scenario: s.name, target: def.id, rssBytes: idle.rssBytes, rssAnonBytes: idle.rssAnonBytes, rssFileBytes: idle.rssFileBytes });
      }
    } else {
      const reason = def.id.startsWith('meshtap-native') ? `not built: ${message(st.reason)}` : message(st.reason);
      results.skipped.push({ scenario: s.name, target: def.id, reason });
      plan.log(`   skip ${def.id}: ${reason}`);
    }
  });
  return running;
}

/** Warms every started target up with `load` for the plan's warm-up seconds (not recorded). */
export async function warmUp(plan: RunPlan, s: Scenario, load: LoadKind, running: StartedTarget[]): Promise<void> {
  if (plan.shape.warmupS <= 0) return;
  for (const { id, t } of running) {
    const warm = await measure(plan, s, load, id, t, -1, plan.shape.warmupS);
    if (warm.error) plan.log(`   warm-up ${id}: ${warm.error}`);
  }
}

/** The progress line of one run. */
export function logRun(plan: RunPlan, rec: RunRecord, label: string): void {
  const res = rec.result;
  plan.log(
    `   ${label} ${rec.load.padEnd(7)} ${rec.target.padEnd(20)} ` +
      (rec.error ? `ERROR ${rec.error}` : `${res!.perSecond.toFixed(0)}/s` + (rec.cpuUsPerUnit !== undefined ? ` cpu ${rec.cpuUsPerUnit.toFixed(1)}µs` : '') + (res!.latencyMs ? ` p50 ${res!.latencyMs.p50.toFixed(2)}ms` : '')),
  );
}

/** Stamps the end of a run: finish time and load average. */
export function finishResults(results: BenchResults): void {
  results.finishedAt = new Date().toISOString();
  results.machine.loadAvgEnd = loadavg().map((x) => Math.round(x * 100) / 100);
}

/** Runs everything in the plan and returns the raw results; always stops what it started. */
export async function runBench(plan: RunPlan): Promise<BenchResults> {
  const results = newResults(plan);
  try {
    for (const s of plan.scenarios) {
      plan.log(`== ${s.name}: ${s.title}`);
      const backend = await startBackend(s, plan);
      let running: StartedTarget[] = [];
      try {
        running = await startTargets(plan, s, plan.targets.filter((d) => d.supports(s.protocol)), backend.addrs, results);
        await warmUp(plan, s, s.loads[0], running);
        for (let r = 0; r < plan.shape.repeats; r++) {
          for (const load of s.loads) {
            for (const { id, t } of running) {
              const rec = await measure(plan, s, load, id, t, r, plan.shape.durationS);
              results.runs.push(rec);
              logRun(plan, rec, `#${r + 1}`);
            }
          }
        }
      } finally {
        await Promise.all(running.map(({ t }) => t.stop()));
        await Promise.all(backend.procs.map((p) => p.stop()));
      }
    }
  } finally {
    await stopAll();
    finishResults(results);
  }
  return results;
}
