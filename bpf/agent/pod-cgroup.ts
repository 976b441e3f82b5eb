/**
 * Where a pod lives on this node, found the way the kubelet lays it out — no CRI call.
 *
 * cgroup: the kubelet puts every pod in a cgroup named after its UID under the cgroup v2
 * mount: with the systemd driver
 *   kubepods.slice/kubepods-<qos>.slice/kubepods-<qos>-pod<uid>.slice   (dashes of the UID
 *   written as underscores; Guaranteed pods sit directly under kubepods.slice),
 * with the cgroupfs driver
 *   kubepods/<qos>/pod<uid>   (Guaranteed: kubepods/pod<uid>),
 * possibly below a prefix (kind, nested kubelets: kubelet.slice/kubelet-kubepods.slice/…).
 * So we search under the root for a directory whose name contains `pod<uid>` in either
 * form, instead of hard-coding one layout. Containers are child cgroups of that directory.
 *
 * netns: every container of a pod shares one network namespace, so /proc/<pid>/ns/net of any
 * process in the pod's cgroup tree (the pause container included) is the pod's namespace.
 *
 * Bounded: the search stops at MAX_DEPTH levels and MAX_DIRS directories.
 */
import { readFileSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { findListenerFd } from '../process.js';

const MAX_DEPTH = 8;
const MAX_DIRS = 50_000;
const MAX_PIDS = 4096;
const POD_DIR = /pod([0-9a-f]{8}[-_][0-9a-f]{4}[-_][0-9a-f]{4}[-_][0-9a-f]{4}[-_][0-9a-f]{12})/i;

/** The two spellings of a pod UID in cgroup directory names. */
export function podCgroupNames(uid: string): [string, string] {
  return [`pod${uid}`, `pod${uid.replace(/-/g, '_')}`];
}

/**
 * Every pod cgroup under `root`, by UID (lower case, dashes): one walk serves all pods.
 * Directories named after a pod are not descended into (their children are containers).
 */
export function scanPodCgroups(root: string): Map<string, string> {
  const found = new Map<string, string>();
  let visited = 0;
  const walk = (dir: string, depth: number): void => {
    if (depth > MAX_DEPTH || visited >= MAX_DIRS) return;
    let entries;
    try {
      entries = readdirSync(dir, { withFileTypes: true });
    } catch {
      return;
    }
    for (const e of entries) {
      if (!e.isDirectory() || visited >= MAX_DIRS) continue;
      visited++;
      const path = join(dir, e.name);
      const m = POD_DIR.exec(e.name);
      if (m) found.set(m[1]!.toLowerCase().replace(/_/g, '-'), path);
      else walk(path, depth + 1);
    }
  };
  walk(root, 0);
  return found;
}

/** The cgroup of pod `uid` under `root`, or undefined. */
export function findPodCgroup(root: string, uid: string): string | undefined {
  return scanPodCgroups(root).get(uid.toLowerCase());
}

/** Pids of every process in a cgroup tree (bounded). */
export function pidsInCgroupTree(path: string): number[] {
  const pids: number[] = [];
  const walk = (dir: string, depth: number): void => {
    if (depth > MAX_DEPTH || pids.length >= MAX_PIDS) return;
    try {
      for (const line of readFileSync(join(dir, 'cgroup.procs'), 'utf8').split('\n')) {
        const pid = Number(line);
        if (line && pid > 0 && pids.length < MAX_PIDS) pids.push(pid);
      }
      for (const e of readdirSync(dir, { withFileTypes: true })) if (e.isDirectory()) walk(join(dir, e.name), depth + 1);
    } catch {
      /* removed while we looked */
    }
  };
  walk(path, 0);
  return pids;
}

/** The pod's network namespace: /proc/<pid>/ns/net of a process in its cgroup, with its inode. */
export function podNetns(pids: number[], procRoot = '/proc'): { path: string; ino: number } | undefined {
  for (const pid of pids) {
    const path = `${procRoot}/${pid}/ns/net`;
    try {
      return { path, ino: statSync(path).ino };
    } catch {
      /* exited meanwhile */
    }
  }
  return undefined;
}

function uidOf(pid: number, procRoot: string): number | undefined {
  try {
    const line = readFileSync(`${procRoot}/${pid}/status`, 'utf8').split('\n').find((l) => l.startsWith('Uid:'));
    return line ? Number(line.split(/\s+/)[1]) : undefined;
  } catch {
    return undefined;
  }
}

/**
 * The sidecar's TCP listener on `port` among the pod's processes: a process running as the
 * sidecar's uid holding that listener (so an application cannot stand in for the sidecar).
 */
export function findSidecarListener(pids: number[], port: number, sidecarUid: number, procRoot = '/proc'): { pid: number; fd: number } | undefined {
  for (const pid of pids) {
    if (uidOf(pid, procRoot) !== sidecarUid) continue;
    const fd = findListenerFd(pid, port, procRoot);
    if (fd !== undefined) return { pid, fd };
  }
  return undefined;
}
