/**
 * cgroup v2 plumbing: find the v2 hierarchy from /proc/mounts (it is not always at
 * /sys/fs/cgroup: hybrid layouts mount it at /sys/fs/cgroup/unified), create scopes,
 * move processes, and remove a cgroup with everything in it.
 */
import { existsSync, readFileSync, readdirSync, rmdirSync, statSync, writeFileSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';
import { MeshtapError } from '../common/index.js';

/** The mount point of the cgroup v2 hierarchy, or undefined when there is none. */
export function findCgroup2Mount(mounts?: string): string | undefined {
  const text = mounts ?? readFileSync('/proc/mounts', 'utf8');
  for (const line of text.split('\n')) {
    const [, mountPoint, fsType] = line.split(' ');
    if (fsType === 'cgroup2') return mountPoint.replace(/\\040/g, ' ');
  }
  return undefined;
}

/** Like findCgroup2Mount, but a MeshtapError that says what to do when missing. */
export function requireCgroup2Mount(): string {
  const m = findCgroup2Mount();
  if (!m) throw new MeshtapError('MT_NO_CGROUP2', 'no cgroup v2 hierarchy is mounted; mount one (mount -t cgroup2 none /sys/fs/cgroup/unified) or use explicit mode');
  return m;
}

/** The cgroup id the kernel uses for BPF links: the inode number of its directory. */
export function cgroupId(path: string): bigint {
  return statSync(path, { bigint: true }).ino;
}

/** Creates a cgroup directory (and parents); returns its path. */
export function createCgroup(path: string): string {
  mkdirSync(path, { recursive: true });
  return path;
}

/** The v2 cgroup path of a process (from /proc/<pid>/cgroup, the `0::` line). */
export function cgroupOfPid(pid: number, mount = requireCgroup2Mount()): string | undefined {
  let text: string;
  try {
    text = readFileSync(`/proc/${pid}/cgroup`, 'utf8');
  } catch {
    return undefined;
  }
  const line = text.split('\n').find((l) => l.startsWith('0::'));
  return line ? join(mount, line.slice(3)) : undefined;
}

/** Moves a process into a cgroup. */
export function moveToCgroup(path: string, pid: number): void {
  writeFileSync(join(path, 'cgroup.procs'), `${pid}\n`);
}

function pidsIn(path: string): number[] {
  try {
    return readFileSync(join(path, 'cgroup.procs'), 'utf8').split('\n').filter(Boolean).map(Number);
  } catch {
    return [];
  }
}

/**
 * Kills every process in the cgroup tree (cgroup.kill, or SIGKILL per pid on older
 * kernels), waits until it is empty, and removes it bottom-up. Bounded: gives up with a
 * MeshtapError after `timeoutMs`.
 */
export async function removeCgroup(path: string, timeoutMs = 10_000): Promise<void> {
  if (!existsSync(path)) return;
  for (const entry of readdirSync(path, { withFileTypes: true })) {
    if (entry.isDirectory()) await removeCgroup(join(path, entry.name), timeoutMs);
  }
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const pids = pidsIn(path);
    if (pids.length === 0) {
      try {
        rmdirSync(path);
        return;
      } catch (err) {
        const code = (err as NodeJS.ErrnoException).code;
        if (code === 'ENOENT') return;
        if (code !== 'EBUSY' || Date.now() > deadline) throw new MeshtapError('MT_CGROUP_REMOVE', `cannot remove cgroup ${path}: ${(err as Error).message}`, { cause: err });
      }
    } else if (existsSync(join(path, 'cgroup.kill'))) {
      writeFileSync(join(path, 'cgroup.kill'), '1');
    } else {
      for (const pid of pids) {
        try {
          process.kill(pid, 'SIGKILL');
        } catch {
          /* already gone */
        }
      }
    }
    if (Date.now() > deadline) throw new MeshtapError('MT_CGROUP_REMOVE', `cgroup ${path} still has processes ${pidsIn(path).join(',')}`);
    await delay(20);
  }
}
