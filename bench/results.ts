/**
 * The shape of a bench run's raw results (`bench/results/<timestamp>.json`). Raw runs are
 * kept so any summary can be recomputed; the markdown report is derived from this alone.
 */
import type { LoadResult } from './loads.js';
import type { LoadKind, Protocol, RunShape } from './scenarios.js';

export const RESULTS_FORMAT = 'meshtap-bench';
export const RESULTS_VERSION = 1;

/** One measurement: one load through one target, one repeat. */
export interface RunRecord {
  scenario: string;
  load: LoadKind;
  target: string;
  repeat: number;
  /** Set when this run failed (the others go on). */
  error?: string;
  result?: LoadResult;
  /** Proxy CPU (user+system, whole process group) during the run, µs. */
  proxyCpuUs?: number;
  /** proxyCpuUs per request (per MiB for TCP). */
  cpuUsPerUnit?: number;
  peakRssBytes?: number;
  /** Peaks of RSS's two parts over the run (/proc/PID/status RssAnon, RssFile; absent in older results). */
  peakRssAnonBytes?: number;
  peakRssFileBytes?: number;
  /**
   * Live tap: events the tap client received, drops it was told about (the tap could not keep
   * up), events its --max-rps left out (`-tap`: the rate users get; absent in older results), and
   * events that carried a response body (proof that the tap asked for bodies and got them)
   * during this run.
   */
  tap?: { events: number; dropped: number; rateLimited?: number; withBodies?: number };
}

export interface MachineFacts {
  cores: number;
  cpuModel: string;
  kernel: string;
  node: string;
  loadAvgStart: number[];
  loadAvgEnd?: number[];
  tools: Record<string, string>;
}

export interface BenchResults {
  format: typeof RESULTS_FORMAT;
  version: typeof RESULTS_VERSION;
  startedAt: string;
  finishedAt?: string;
  quick: boolean;
  shape: RunShape;
  machine: MachineFacts;
  /** How processes were pinned (or why not). */
  pinning: { proxyCpus?: string; clientCpus?: string; note: string };
  scenarios: { name: string; title: string; protocol: Protocol; loads: LoadKind[] }[];
  targets: { id: string; description: string }[];
  /** Targets that could not start for a scenario, and why (e.g. meshtap-native not built). */
  skipped: { scenario: string; target: string; reason: string }[];
  /** Resident memory of each proxy after start, before any load. */
  idleRss: { scenario: string; target: string; rssBytes: number; rssAnonBytes?: number; rssFileBytes?: number }[];
  runs: RunRecord[];
  /** Set by `--until-narrow`: rounds went on until the paired goals' brackets were decided or the budget ended. */
  narrow?: NarrowInfo;
}

/** How an `--until-narrow` run went; its verdicts are recomputed from `runs` (repeat = round). */
export interface NarrowInfo {
  /** Coverage asked of each bracket (0.95). */
  level: number;
  /** Rounds before a verdict may be decided (the fewest whose min–max reaches `level`). */
  minRounds: number;
  budgetS: number;
  /** Ids of the paired goals judged (bench/paired-goals.ts). */
  goals: string[];
  rounds: number;
  elapsedS: number;
  /** Why the rounds stopped. */
  stopped: string;
}
