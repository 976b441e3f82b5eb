/**
 * Every process the bench starts goes through here: each runs in its own process group
 * (so a proxy's workers and a shell's children die with it), optionally pinned to CPUs with
 * taskset, and is killed when the bench ends — normally, on failure, or on Ctrl-C. The
 * trade-off: a SIGKILL of the bench itself cannot be caught; everything else is.
 */
import { spawn, type ChildProcess, type SpawnOptions } from 'node:child_process';
import { MeshtapError } from '../../common/index.js';

/** A started child: its pid (= its process group id) and a way to stop it. */
export interface BenchProcess {
  name: string;
  pid: number;
  child: ChildProcess;
  /** Everything written on stderr so far (bounded), for error messages. */
  stderrTail(): string;
  /** Resolves when the process has exited (code or signal). */
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  /** SIGTERM to the whole group, SIGKILL after `graceMs`. */
  stop(graceMs?: number): Promise<void>;
}

const MAX_TAIL_CHARS = 8192;
const live = new Set<BenchProcess>();
let hooksInstalled = false;

function killGroup(pid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(-pid, signal);
  } catch {
    // already gone
  }
}

function installExitHooks(): void {
  if (hooksInstalled) return;
  hooksInstalled = true;
  process.on('exit', () => {
    for (const p of live) killGroup(p.pid, 'SIGKILL');
  });
  for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
    process.on(sig, () => {
      process.stderr.write(`bench: ${sig}, stopping ${live.size} process(es)\n`);
      void stopAll().finally(() => process.exit(130));
    });
  }
}

/** Options for `startProcess`. `cpus` pins with taskset (e.g. "1"); undefined = not pinned. */
export interface StartOptions {
  name: string;
  command: string;
  args: string[];
  cpus?: string;
  env?: NodeJS.ProcessEnv;
  cwd?: string;
  /** What to do with stdout: ignore it (default) or hand it to the caller as a pipe. */
  stdout?: 'ignore' | 'pipe';
}

/** Starts a process in its own group; it is stopped on bench exit whatever happens. */
export function startProcess(opts: StartOptions): BenchProcess {
  installExitHooks();
  const [cmd, args] = opts.cpus !== undefined ? ['taskset', ['-c', opts.cpus, opts.command, ...opts.args]] : [opts.command, opts.args];
  const spawnOpts: SpawnOptions = {
    detached: true,
    stdio: ['ignore', opts.stdout ?? 'ignore', 'pipe'],
    env: opts.env ?? process.env,
    cwd: opts.cwd,
  };
  const child = spawn(cmd, args, spawnOpts);
  if (child.pid === undefined) throw new MeshtapError('MT_BENCH_SPAWN', `bench: could not start ${opts.name} (${opts.command})`);
  let tail = '';
  child.stderr!.setEncoding('utf8');
  child.stderr!.on('data', (s: string) => {
    tail = (tail + s).slice(-MAX_TAIL_CHARS);
  });
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => {
    child.once('exit', (code, signal) => resolve({ code, signal }));
    child.once('error', () => resolve({ code: -1, signal: null }));
  });
  const proc: BenchProcess = {
    name: opts.name,
    pid: child.pid,
    child,
    stderrTail: () => tail,
    exited,
    async stop(graceMs = 3000) {
      if (!live.has(proc)) return;
      killGroup(proc.pid, 'SIGTERM');
      const timer = setTimeout(() => killGroup(proc.pid, 'SIGKILL'), graceMs);
      await exited;
      clearTimeout(timer);
      killGroup(proc.pid, 'SIGKILL'); // leftovers in the group (e.g. nginx workers)
      live.delete(proc);
    },
  };
  live.add(proc);
  void exited.then(() => {
    // keep it in `live` until stop() so the group (children) is still cleaned up
  });
  return proc;
}

/** Stops every process still running. */
export async function stopAll(): Promise<void> {
  await Promise.all([...live].map((p) => p.stop(2000)));
}

/**
 * Waits until a line on stderr matches `pattern`; returns its match. Fails with the stderr
 * tail when the process exits first or after `timeoutMs`.
 */
export function waitForStderr(proc: BenchProcess, pattern: RegExp, timeoutMs = 20_000): Promise<RegExpExecArray> {
  return new Promise((resolve, reject) => {
    let buf = proc.stderrTail();
    const check = (): boolean => {
      const m = pattern.exec(buf);
      if (m) {
        cleanup();
        resolve(m);
        return true;
      }
      return false;
    };
    const onData = (s: string) => {
      buf = (buf + s).slice(-MAX_TAIL_CHARS);
      check();
    };
    const fail = (why: string) => {
      cleanup();
      const last = proc.stderrTail().trim().split('\n').slice(-3).join(' | ');
      reject(new MeshtapError('MT_BENCH_START', `bench: ${proc.name} ${why}${last ? `: ${last}` : ''}`));
    };
    const timer = setTimeout(() => fail(`did not become ready within ${timeoutMs} ms`), timeoutMs);
    const onExit = (code: number | null) => fail(`exited (code ${code}) before it was ready`);
    const cleanup = () => {
      clearTimeout(timer);
      proc.child.stderr!.off('data', onData);
      proc.child.off('exit', onExit);
    };
    proc.child.stderr!.on('data', onData);
    proc.child.once('exit', onExit);
    check();
  });
}

/** Runs a command to completion (load generators), returning stdout/stderr and exit code. */
export async function runToCompletion(opts: StartOptions & { timeoutMs: number }): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const proc = startProcess({ ...opts, stdout: 'pipe' });
  let stdout = '';
  proc.child.stdout!.setEncoding('utf8');
  proc.child.stdout!.on('data', (s: string) => {
    if (stdout.length < 4 * 1024 * 1024) stdout += s;
  });
  const timer = setTimeout(() => void proc.stop(1000), opts.timeoutMs);
  const { code } = await proc.exited;
  clearTimeout(timer);
  await proc.stop();
  return { code, stdout, stderr: proc.stderrTail() };
}
