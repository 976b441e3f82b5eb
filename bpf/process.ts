/**
 * Starting processes inside a scope, race-free: a tiny shell joins the cgroup (and, via
 * nsenter, the network namespace) and only then execs the command, so not one connect
 * escapes interception. The sidecar drops to its own uid with setpriv; the pid stays
 * the command's own (exec all the way).
 */
import { spawn, type ChildProcess, type StdioOptions } from 'node:child_process';
import { readFileSync, readdirSync, readlinkSync } from 'node:fs';
import { join } from 'node:path';

/** Where and as whom to start a process. */
export interface SpawnInScopeOptions {
  cgroupPath: string;
  netnsPath?: string;
  /** Drop to this uid/gid (groups cleared). */
  uid?: number;
  gid?: number;
  env?: NodeJS.ProcessEnv;
  stdio?: StdioOptions;
  cwd?: string;
}

/** Spawns `command` inside the cgroup (and netns), optionally as another uid. */
export function spawnInScope(command: string[], opts: SpawnInScopeOptions): ChildProcess {
  const chain: string[] = [];
  if (opts.netnsPath) chain.push('nsenter', `--net=${opts.netnsPath}`, '--');
  if (opts.uid !== undefined) {
    const gid = opts.gid ?? opts.uid;
    chain.push('setpriv', `--reuid=${opts.uid}`, `--regid=${gid}`, '--clear-groups', '--');
  }
  chain.push(...command);
  const script = 'echo $$ > "$0/cgroup.procs" && exec "$@"';
  return spawn('/bin/sh', ['-c', script, opts.cgroupPath, ...chain], {
    env: opts.env ?? process.env,
    stdio: opts.stdio ?? 'inherit',
    cwd: opts.cwd,
  });
}

/** Inodes of TCP sockets listening on `port` in the network namespace of `pid`. */
function listeningInodes(pid: number, port: number, procRoot: string): Set<string> {
  const inodes = new Set<string>();
  for (const file of ['tcp', 'tcp6']) {
    let text: string;
    try {
      text = readFileSync(`${procRoot}/${pid}/net/${file}`, 'utf8');
    } catch {
      continue;
    }
    for (const line of text.split('\n').slice(1)) {
      const f = line.trim().split(/\s+/);
      if (f.length < 10 || f[3] !== '0A') continue;
      if (parseInt(f[1].split(':')[1], 16) === port) inodes.add(f[9]);
    }
  }
  return inodes;
}

/**
 * The fd number in process `pid` of its TCP listener on `port`, or undefined. `procRoot`
 * is where the host's /proc is mounted (the node agent may see it at /host/proc).
 */
export function findListenerFd(pid: number, port: number, procRoot = '/proc'): number | undefined {
  const inodes = listeningInodes(pid, port, procRoot);
  if (inodes.size === 0) return undefined;
  let fds: string[];
  try {
    fds = readdirSync(`${procRoot}/${pid}/fd`);
  } catch {
    return undefined;
  }
  for (const fd of fds) {
    try {
      const m = /^socket:\[(\d+)\]$/.exec(readlinkSync(join(`${procRoot}/${pid}/fd`, fd)));
      if (m && inodes.has(m[1])) return Number(fd);
    } catch {
      /* fd closed meanwhile */
    }
  }
  return undefined;
}
