/**
 * Edges and routes without Prometheus: the tap API reads every sidecar's `/metrics` about every
 * `intervalMs` and keeps a thinned history of the series edges need (route_*, tcp_*, the
 * counters' start time), so a window question is answered at once from "now minus then".
 *
 * Exactness: a sidecar whose counters started inside the window (`meshtap_start_time_seconds`)
 * counted all of it from zero, so its baseline is zero; otherwise the baseline is the snapshot
 * nearest the window's start (about half a thinning step before or after it). The answer's
 * window is the longest span any sidecar's numbers cover (rates are counts over it): up to half
 * a step more or less than asked, and shorter while every sidecar, or the tap API, is younger
 * than the window. A sidecar that left inside the window (a rollout, a scale-down) or did not answer
 * now counts up to its last answer; one that restarted inside it counts before its restart (up to its
 * last snapshot then) and from zero after it (review13). Bounded: at most `maxSnapshots` per sidecar (10 s steps for 2 minutes, then one a
 * minute, then one per 5 minutes up to `maxWindowMs`), sidecars gone for `maxWindowMs` forgotten.
 */
import { createLogger } from '../../common/index.js';
import { parsePromText, type PromSample } from '../cli/stat-metrics.js';

export interface ScrapeTarget {
  /** `ns/pod` */
  key: string;
  adminAddress: string;
}

interface Snapshot {
  atMs: number;
  samples: PromSample[];
  /** Its sidecar process's start (`meshtap_start_time_seconds`, seconds), if it said. */
  startS?: number;
}

export interface WindowSamples {
  /** Counter increases and last gauge values over the window, all sidecars together. */
  samples: PromSample[];
  /** What the numbers cover (see the module comment). */
  windowMs: number;
  /** Sidecars that did not answer now (`ns/pod`). */
  unreachable: string[];
}

export interface EdgeHistory {
  window(windowMs: number): Promise<WindowSamples>;
  close(): void;
}

export const EDGE_HISTORY_DEFAULTS = { intervalMs: 10_000, timeoutMs: 5_000, maxWindowMs: 3_600_000, freshMs: 1_000 };

const KEPT = /^(route_response_total|route_response_latency_ms_bucket|tcp_open_connections|tcp_read_bytes_total|tcp_write_bytes_total|meshtap_start_time_seconds)$/;
const isCounter = (name: string): boolean => name.endsWith('_total') || name.endsWith('_bucket');

function seriesKey(s: PromSample): string {
  let k = s.name;
  for (const l of Object.keys(s.labels).sort()) k += `\u0000${l}=${s.labels[l]}`;
  return k;
}

/** Increases of counters between two snapshots (a counter that went down restarted: counts from zero) and gauges as they are now. */
export function windowDeltas(before: PromSample[] | undefined, after: PromSample[]): PromSample[] {
  const prev = new Map((before ?? []).filter((s) => isCounter(s.name)).map((s) => [seriesKey(s), s.value]));
  const out: PromSample[] = [];
  for (const s of after) {
    if (s.name === 'meshtap_start_time_seconds') continue;
    if (!isCounter(s.name)) {
      out.push(s);
      continue;
    }
    const p = prev.get(seriesKey(s)) ?? 0;
    const v = s.value >= p ? s.value - p : s.value;
    if (v > 0 || s.name.endsWith('_bucket')) out.push({ ...s, value: v }); // empty buckets place the quantiles
  }
  return out;
}

/**
 * Keeps, from the oldest on, a snapshot when it is at least a step newer than the last one kept
 * (steps grow with age), and always the newest. Walked from the newest instead, every snapshot
 * less than a step younger than the newest went, so with rounds closer than a step (a query's
 * round between two background ones, a dashboard polling) no snapshot but the newest ever stayed
 * and a window's base fell further and further behind its start.
 */
function thin(snaps: Snapshot[], nowMs: number, intervalMs: number, maxWindowMs: number): Snapshot[] {
  const step = (age: number): number => (age < 120_000 ? intervalMs * 0.9 : age < 600_000 ? 60_000 : 300_000);
  const kept: Snapshot[] = [];
  for (let i = 0; i < snaps.length; i++) {
    const s = snaps[i]!;
    const age = nowMs - s.atMs;
    if (age > maxWindowMs + 300_000) continue;
    const last = kept[kept.length - 1];
    if (!last || i === snaps.length - 1 || s.atMs - last.atMs >= step(age)) kept.push(s);
  }
  return kept;
}

/**
 * The snapshot a window from `from` to `latest` counts from: of those older than `latest`, the
 * one nearest the window's start (snapshots are a step apart, so the span differs from the window
 * by about half a step, either way). The answer's window is that span, so rates stay exact.
 */
function baseFor(snaps: Snapshot[], latest: Snapshot, from: number): Snapshot | undefined {
  let best: Snapshot | undefined;
  for (const s of snaps) if (s.atMs < latest.atMs && (!best || Math.abs(s.atMs - from) < Math.abs(best.atMs - from))) best = s;
  return best;
}

/** The newest snapshot at or before `atMs`. */
function lastBefore(snaps: Snapshot[], atMs: number): Snapshot | undefined {
  for (let i = snaps.length - 1; i >= 0; i--) if (snaps[i]!.atMs <= atMs) return snaps[i];
  return undefined;
}

/**
 * Counter increases from `base` (undefined: from zero) to `latest`: one difference per process, so
 * a sidecar that restarted inside the window (its start time changed between two snapshots) keeps
 * what it counted before the restart, up to its last answer then, and counts from zero after it.
 * Gauges as `latest` has them, only when it is this round's answer (`withGauges`): a sidecar that
 * left holds no connection now. One sample per series.
 */
function chainDeltas(snaps: Snapshot[], base: Snapshot | undefined, latest: Snapshot, withGauges: boolean): PromSample[] {
  // The last snapshot of each process between base and latest (from zero: latest's own only).
  const ends: Snapshot[] = [];
  if (base !== undefined) {
    let prev = base;
    for (const s of snaps) {
      if (s.atMs <= base.atMs || s.atMs >= latest.atMs) continue;
      if (s.startS !== prev.startS) ends.push(prev);
      prev = s;
    }
    if (latest.startS !== prev.startS) ends.push(prev);
  }
  if (ends.length === 0) return windowDeltas(base?.samples, latest.samples).filter((d) => withGauges || isCounter(d.name));
  const sums = new Map<string, PromSample>();
  let from: Snapshot | undefined = base;
  for (const end of [...ends, latest]) {
    for (const d of windowDeltas(from === base ? base?.samples : undefined, end.samples)) {
      if (!isCounter(d.name)) {
        if (withGauges && end === latest) sums.set(seriesKey(d), d);
        continue;
      }
      const k = seriesKey(d);
      const had = sums.get(k);
      sums.set(k, had ? { ...had, value: had.value + d.value } : d);
    }
    from = end;
  }
  return [...sums.values()];
}

export function createEdgeHistory(options: {
  /** Every sidecar to follow, now. */
  list(): Promise<ScrapeTarget[]>;
  intervalMs?: number;
  timeoutMs?: number;
  maxWindowMs?: number;
  /** A fresh read younger than this is reused (dashboards poll). */
  freshMs?: number;
}): EdgeHistory {
  const log = createLogger('tap-api.edges');
  const intervalMs = options.intervalMs ?? EDGE_HISTORY_DEFAULTS.intervalMs;
  const timeoutMs = options.timeoutMs ?? EDGE_HISTORY_DEFAULTS.timeoutMs;
  const maxWindowMs = options.maxWindowMs ?? EDGE_HISTORY_DEFAULTS.maxWindowMs;
  const freshMs = options.freshMs ?? EDGE_HISTORY_DEFAULTS.freshMs;
  const bySidecar = new Map<string, { snaps: Snapshot[]; lastListedMs: number }>();
  // `onDemand`: a round a query asked for. Only those are reused by other queries (within
  // `freshMs`): a background round may predate sidecars that registered since.
  // `got`: each sidecar's snapshot of that round (a query reads its own round's, even when a
  // background round started meanwhile or filed an older snapshot after it).
  type Round = { atMs: number; unreachable: string[]; done: Promise<void>; onDemand: boolean; got: Map<string, Snapshot> };
  let lastRound: Round | undefined;
  let closed = false;

  const scrapeOne = async (t: ScrapeTarget): Promise<PromSample[] | undefined> => {
    try {
      const res = await fetch(`http://${t.adminAddress}/metrics`, { signal: AbortSignal.timeout(timeoutMs) });
      if (!res.ok) return undefined;
      return parsePromText(await res.text()).filter((s) => KEPT.test(s.name));
    } catch {
      return undefined;
    }
  };

  /** Reads every sidecar once and files the snapshots. */
  const round = (onDemand = false): Promise<void> => {
    const atMs = Date.now();
    const unreachable: string[] = [];
    const got = new Map<string, Snapshot>();
    const done = (async () => {
      let targets: ScrapeTarget[];
      try {
        targets = await options.list();
      } catch (err) {
        log.warn('cannot list sidecars for edges', { error: (err as Error).message });
        return;
      }
      await Promise.all(
        targets.map(async (t) => {
          const samples = await scrapeOne(t);
          let h = bySidecar.get(t.key);
          if (!h) bySidecar.set(t.key, (h = { snaps: [], lastListedMs: atMs }));
          h.lastListedMs = atMs;
          if (!samples) return void unreachable.push(t.key);
          const snap: Snapshot = { atMs, samples, startS: samples.find((x) => x.name === 'meshtap_start_time_seconds')?.value };
          got.set(t.key, snap);
          let at = h.snaps.length; // rounds may overlap: keep the snapshots in time order
          while (at > 0 && h.snaps[at - 1]!.atMs > atMs) at--;
          h.snaps.splice(at, 0, snap);
          h.snaps = thin(h.snaps, atMs, intervalMs, maxWindowMs);
        }),
      );
      for (const [k, h] of bySidecar) if (atMs - h.lastListedMs > maxWindowMs) bySidecar.delete(k);
    })();
    lastRound = { atMs, unreachable, done, onDemand, got };
    return done;
  };

  let timer: NodeJS.Timeout | undefined;
  const tick = () => {
    timer = undefined;
    if (closed) return;
    void round().finally(() => {
      if (!closed) {
        timer = setTimeout(tick, intervalMs);
        timer.unref();
      }
    });
  };
  tick();

  return {
    async window(windowMs) {
      if (!lastRound || !lastRound.onDemand || Date.now() - lastRound.atMs > freshMs) void round(true);
      const r = lastRound!;
      await r.done;
      const now = r.atMs;
      const from = now - windowMs;
      const samples: PromSample[] = [];
      // The longest span any sidecar's numbers cover: the window, or less while every sidecar
      // (or the tap API's view of it) is younger than the window.
      let covered = 0;
      for (const [key, h] of bySidecar) {
        // A sidecar that did not answer this round (gone: a rollout, a scale-down; or silent) still
        // served inside the window until its last answer: those counts are the window's too.
        const answered = r.got.get(key);
        const latest = answered ?? lastBefore(h.snaps, now);
        if (!latest || latest.atMs <= from) continue;
        const started = latest.startS;
        let base: Snapshot | undefined;
        if (started !== undefined && started * 1000 >= from && !h.snaps.some((s) => s.atMs < latest.atMs && s.atMs >= from && s.startS !== started)) {
          covered = Math.max(covered, now - started * 1000); // counted from zero, all inside the window
        } else {
          base = baseFor(h.snaps, latest, from);
          if (!base) continue; // first sight of an old sidecar: nothing to compare yet
          covered = Math.max(covered, now - base.atMs); // what the counts span, a step more or less than asked
        }
        samples.push(...chainDeltas(h.snaps, base, latest, answered !== undefined));
      }
      return { samples, windowMs: Math.max(1, Math.round(covered)), unreachable: [...r.unreachable].sort() };
    },
    close() {
      closed = true;
      if (timer) clearTimeout(timer);
    },
  };
}
