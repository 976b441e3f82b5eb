/**
 * Runs the real `meshtap` binary (dist/bin/meshtap.js, built by `npx tsc -p .` / setup.sh):
 * a sidecar process whose listening lines are parsed, and one-shot CLI runs with their exit
 * code and output. Every process started here is killed by `stop()` / on timeout.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { splitAddr } from './ports.js';
import { stopChild } from './stop-child.js';

/** The built CLI entry point. */
export const MESHTAP_BIN = fileURLToPath(new URL('../../dist/bin/meshtap.js', import.meta.url));

function assertBuilt(): void {
  if (!existsSync(MESHTAP_BIN)) throw new Error(`${MESHTAP_BIN} is missing: build first with 'npx tsc -p .' (scripts/setup.sh does)`);
}

export interface ForwardListener {
  /** `127.0.0.1:PORT` the sidecar listens on. */
  address: string;
  host: string;
  port: number;
  /** `HOST:PORT` it forwards to. */
  target: string;
}

export interface SidecarProcess {
  readonly child: ChildProcess;
  readonly forwards: ForwardListener[];
  readonly admin?: string;
  readonly tap?: string;
  /** Everything written on stderr so far. */
  stderr(): string;
  /** Whether the process is still running. */
  isRunning(): boolean;
  /** SIGTERM, then SIGKILL after a grace period; resolves with how it ended. */
  stop(): Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

const running = new Set<ChildProcess>();
process.once('exit', () => {
  for (const c of running) c.kill('SIGKILL');
});

/**
 * Starts `meshtap proxy ARGS` and resolves once it printed `ready`, with the listeners it
 * reported. Rejects (and kills it) if it exits first or is not ready within `timeoutMs`.
 */
export function startSidecarProcess(args: string[], options: { timeoutMs?: number; env?: NodeJS.ProcessEnv } = {}): Promise<SidecarProcess> {
  assertBuilt();
  const child = spawn(process.execPath, [MESHTAP_BIN, 'proxy', ...args], {
    stdio: ['ignore', 'ignore', 'pipe'],
    env: { ...process.env, ...options.env },
  });
  running.add(child);
  let err = '';
  let exited: { code: number | null; signal: NodeJS.Signals | null } | undefined;
  const exitPromise = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.once('exit', (code, signal) => {
      running.delete(child);
      exited = { code, signal };
      resolve(exited);
    }),
  );
  child.stderr!.setEncoding('utf8');
  const forwards: ForwardListener[] = [];
  let admin: string | undefined;
  let tap: string | undefined;
  const stop = async () => {
    await stopChild(child, exitPromise);
    return exitPromise;
  };
  return new Promise((resolve, reject) => {
    let buffered = '';
    let ready = false;
    const timer = setTimeout(() => {
      void stop();
      reject(new Error(`meshtap proxy ${args.join(' ')}: not ready within ${options.timeoutMs ?? 20_000}ms; stderr: ${err}`));
    }, options.timeoutMs ?? 20_000);
    child.stderr!.on('data', (text: string) => {
      err += text;
      if (ready) return;
      buffered += text;
      let nl: number;
      while ((nl = buffered.indexOf('\n')) >= 0) {
        const line = buffered.slice(0, nl);
        buffered = buffered.slice(nl + 1);
        let m: RegExpExecArray | null;
        if ((m = /^listening forward (\S+) -> (\S+)$/.exec(line))) forwards.push({ address: m[1], ...splitAddr(m[1]), target: m[2] });
        else if ((m = /^listening admin (\S+)$/.exec(line))) admin = m[1];
        else if ((m = /^listening tap (\S+)$/.exec(line))) tap = m[1];
        else if (line === 'ready') {
          ready = true;
          clearTimeout(timer);
          resolve({ child, forwards, admin, tap, stderr: () => err, isRunning: () => !exited, stop });
          return;
        }
      }
    });
    void exitPromise.then((e) => {
      if (!ready) {
        clearTimeout(timer);
        reject(new Error(`meshtap proxy ${args.join(' ')} exited (${e.code ?? e.signal}) before ready; stderr: ${err}`));
      }
    });
  });
}

export interface CliResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

/** A running `meshtap …` command whose output is collected. */
export interface CliProcess {
  readonly child: ChildProcess;
  stdout(): string;
  stderr(): string;
  /** Resolves when the process exits (killed with SIGKILL after `timeoutMs`). */
  readonly done: Promise<CliResult>;
  /** Resolves once stdout holds at least `n` complete lines. */
  waitForLines(n: number, timeoutMs?: number): Promise<string[]>;
  /** Resolves once stderr matches `re`. */
  waitForStderr(re: RegExp, timeoutMs?: number): Promise<string>;
  kill(signal?: NodeJS.Signals): void;
}

/** Starts `meshtap ARGS` and collects its output. */
export function spawnMeshtap(args: string[], options: { timeoutMs?: number; env?: NodeJS.ProcessEnv; stdin?: string } = {}): CliProcess {
  assertBuilt();
  const child = spawn(process.execPath, [MESHTAP_BIN, ...args], { stdio: [options.stdin === undefined ? 'ignore' : 'pipe', 'pipe', 'pipe'], env: { ...process.env, ...options.env } });
  if (options.stdin !== undefined) child.stdin!.end(options.stdin);
  running.add(child);
  let out = '';
  let err = '';
  const waiters: Array<() => void> = [];
  child.stdout!.setEncoding('utf8').on('data', (t: string) => {
    out += t;
    for (const w of waiters.splice(0)) w();
  });
  child.stderr!.setEncoding('utf8').on('data', (t: string) => {
    err += t;
    for (const w of waiters.splice(0)) w();
  });
  const killTimer = setTimeout(() => child.kill('SIGKILL'), options.timeoutMs ?? 30_000);
  const done = new Promise<CliResult>((resolve) =>
    child.once('close', (code, signal) => {
      clearTimeout(killTimer);
      running.delete(child);
      for (const w of waiters.splice(0)) w();
      resolve({ code, signal, stdout: out, stderr: err });
    }),
  );
  let finished = false;
  void done.then(() => (finished = true));
  const lines = () => out.split('\n').slice(0, -1);
  return {
    child,
    stdout: () => out,
    stderr: () => err,
    done,
    kill: (signal = 'SIGTERM') => void child.kill(signal),
    waitForStderr(re, timeoutMs = 20_000) {
      return new Promise((resolve, reject) => {
        const t = setTimeout(() => reject(new Error(`meshtap ${args.join(' ')}: stderr does not match ${re} after ${timeoutMs}ms: ${err}`)), timeoutMs);
        const check = () => {
          if (re.test(err)) {
            clearTimeout(t);
            resolve(err);
          } else if (finished) {
            clearTimeout(t);
            reject(new Error(`meshtap ${args.join(' ')} exited; stderr does not match ${re}: ${err}`));
          } else waiters.push(check);
        };
        check();
      });
    },
    waitForLines(n, timeoutMs = 20_000) {
      return new Promise((resolve, reject) => {
        const t = setTimeout(() => reject(new Error(`meshtap ${args.join(' ')}: ${lines().length}/${n} lines after ${timeoutMs}ms; stderr: ${err}`)), timeoutMs);
        const check = () => {
          if (lines().length >= n) {
            clearTimeout(t);
            resolve(lines());
          } else if (finished) {
            clearTimeout(t);
            reject(new Error(`meshtap ${args.join(' ')} exited with ${lines().length}/${n} lines; stderr: ${err}`));
          } else waiters.push(check);
        };
        check();
      });
    },
  };
}

/** Runs `meshtap ARGS` to completion. */
export function runMeshtap(args: string[], options: { timeoutMs?: number; env?: NodeJS.ProcessEnv; stdin?: string } = {}): Promise<CliResult> {
  return spawnMeshtap(args, options).done;
}
