/**
 * CPU time and memory of a process group, read from /proc (Linux only). A proxy's cost is
 * counted over its whole group: nginx's master and worker, or Node's threads (threads are
 * already folded into /proc/PID/stat). utime+stime are in clock ticks (usually 10 ms), so
 * CPU per request is only meaningful over runs of a few seconds — which is what we do.
 */
import { execFileSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';

let clockTicks: number | undefined;
let pageBytes: number | undefined;

function ticksPerSecond(): number {
  if (clockTicks === undefined) {
    try {
      clockTicks = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;
    } catch {
      clockTicks = 100;
    }
  }
  return clockTicks;
}

function pageSize(): number {
  if (pageBytes === undefined) {
    try {
      pageBytes = Number(execFileSync('getconf', ['PAGESIZE'], { encoding: 'utf8' }).trim()) || 4096;
    } catch {
      pageBytes = 4096;
    }
  }
  return pageBytes;
}

/**
 * One snapshot of a group: total CPU (µs, user+system) and resident memory (bytes), the latter
 * also split as /proc/PID/status does: anonymous (the heap, stacks, buffers: what a change to the
 * proxy's own allocations moves) and file-backed (the executable's and libraries' pages it touched).
 */
export interface GroupSample {
  cpuUs: number;
  rssBytes: number;
  rssAnonBytes: number;
  rssFileBytes: number;
  processes: number;
}

/** RssAnon and RssFile of /proc/PID/status, bytes (0 when the process is gone). */
function statusRss(pid: string): { anon: number; file: number } {
  let text: string;
  try {
    text = readFileSync(`/proc/${pid}/status`, 'utf8');
  } catch {
    return { anon: 0, file: 0 };
  }
  const kb = (key: string): number => Number(new RegExp(`^${key}:\\s+(\\d+) kB`, 'm').exec(text)?.[1] ?? 0) * 1024;
  return { anon: kb('RssAnon'), file: kb('RssFile') };
}

/** Parses /proc/PID/stat; the command name may contain spaces and parentheses. */
function parseStat(text: string): { pgrp: number; utime: number; stime: number; rssPages: number } | undefined {
  const close = text.lastIndexOf(')');
  if (close < 0) return undefined;
  const f = text.slice(close + 2).split(' ');
  // fields after "(comm)": state(3) ppid(4) pgrp(5) … utime(14) stime(15) … rss(24); f[0] is field 3
  return { pgrp: Number(f[2]), utime: Number(f[11]), stime: Number(f[12]), rssPages: Number(f[21]) };
}

/** Sums CPU and RSS over every process whose group id is `pgid`. */
export function sampleGroup(pgid: number): GroupSample {
  const out: GroupSample = { cpuUs: 0, rssBytes: 0, rssAnonBytes: 0, rssFileBytes: 0, processes: 0 };
  let entries: string[];
  try {
    entries = readdirSync('/proc');
  } catch {
    return out;
  }
  const usPerTick = 1e6 / ticksPerSecond();
  for (const name of entries) {
    if (!/^\d+$/.test(name)) continue;
    let text: string;
    try {
      text = readFileSync(`/proc/${name}/stat`, 'utf8');
    } catch {
      continue;
    }
    const s = parseStat(text);
    if (!s || s.pgrp !== pgid) continue;
    out.cpuUs += (s.utime + s.stime) * usPerTick;
    out.rssBytes += s.rssPages * pageSize();
    const split = statusRss(name);
    out.rssAnonBytes += split.anon;
    out.rssFileBytes += split.file;
    out.processes++;
  }
  return out;
}

/** Samples a group every `intervalMs` until stopped; reports CPU used, peak RSS and the peaks of its two parts. */
export function watchGroup(pgid: number, intervalMs = 250): { stop(): { cpuUs: number; peakRssBytes: number; peakRssAnonBytes: number; peakRssFileBytes: number } } {
  const first = sampleGroup(pgid);
  let last = first;
  let peak = first.rssBytes;
  let peakAnon = first.rssAnonBytes;
  let peakFile = first.rssFileBytes;
  const sample = (): void => {
    last = sampleGroup(pgid);
    peak = Math.max(peak, last.rssBytes);
    peakAnon = Math.max(peakAnon, last.rssAnonBytes);
    peakFile = Math.max(peakFile, last.rssFileBytes);
  };
  const timer = setInterval(sample, intervalMs);
  return {
    stop() {
      clearInterval(timer);
      sample();
      return { cpuUs: Math.max(0, last.cpuUs - first.cpuUs), peakRssBytes: peak, peakRssAnonBytes: peakAnon, peakRssFileBytes: peakFile };
    },
  };
}
