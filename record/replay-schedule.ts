/**
 * When each exchange of a replay starts: at its recorded offset (scaled by `--speed`), at a
 * fixed rate, or as fast as allowed; never before the previous exchange of the same recorded
 * connection (HTTP/1: finished — one request at a time on a connection; HTTP/2 and gRPC:
 * started — streams interleave), and never more than `concurrency` in flight. A connection is
 * one pod's (connectionKeyOf): ids repeat across the pods of a recording.
 */
import { setLongTimeout } from '../common/index.js';
import { connectionKeyOf, startTimeMs, type RecordedExchange } from './format.js';

export type ReplayTiming = { mode: 'recorded'; speed: number } | { mode: 'rate'; perSecond: number } | { mode: 'max' };

/** Offsets (ms from the replay start) for exchanges already sorted by start time. */
export function scheduleOffsets(exchanges: readonly RecordedExchange[], timing: ReplayTiming): number[] {
  if (timing.mode === 'max') return exchanges.map(() => 0);
  if (timing.mode === 'rate') return exchanges.map((_, i) => (i * 1000) / timing.perSecond);
  const t0 = exchanges.length ? startTimeMs(exchanges[0]!) : 0;
  return exchanges.map((ex) => Math.max(0, (startTimeMs(ex) - t0) / timing.speed));
}

/** Sorts exchanges by recorded start (stable: file order breaks ties). */
export function sortByStart(exchanges: readonly RecordedExchange[]): RecordedExchange[] {
  return exchanges.map((ex, i) => ({ ex, i, t: startTimeMs(ex) })).sort((a, b) => a.t - b.t || a.i - b.i).map((x) => x.ex);
}

/** A FIFO counting semaphore. */
export function createSemaphore(limit: number): { acquire(): Promise<void>; release(): void } {
  let free = limit;
  const waiting: Array<() => void> = [];
  return {
    acquire: () => {
      if (free > 0) {
        free--;
        return Promise.resolve();
      }
      return new Promise<void>((resolve) => waiting.push(resolve));
    },
    release: () => {
      const next = waiting.shift();
      if (next) next();
      else free++;
    },
  };
}

/** Waits `ms`, or less when `signal` aborts; leaves no listener on `signal` behind. */
const sleep = (ms: number, signal?: AbortSignal): Promise<void> =>
  new Promise((resolve) => {
    if (ms <= 0 || signal?.aborted) return resolve();
    const onAbort = () => {
      t.clear();
      resolve();
    };
    const t = setLongTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    signal?.addEventListener('abort', onAbort, { once: true });
  });

/**
 * Runs `task` for every exchange per the schedule rules above; resolves when all are done, or
 * as soon as `signal` aborts. `task` must not throw (it reports its own failures).
 *
 * One timer at a time: the exchanges are started in order of their offsets (which never
 * decrease), each after the one wait its offset still needs. A timer and an abort listener per
 * exchange, all set at the start, cost memory in proportion to the recording (and, past ten
 * listeners, Node printed a MaxListenersExceededWarning on every replay that was not `--speed
 * max`; `--loop` added another set per loop).
 */
export async function runScheduled(
  exchanges: readonly RecordedExchange[],
  timing: ReplayTiming,
  concurrency: number,
  task: (ex: RecordedExchange, index: number) => Promise<void>,
  signal?: AbortSignal,
): Promise<void> {
  const sorted = sortByStart(exchanges);
  const offsets = scheduleOffsets(sorted, timing);
  const semaphore = createSemaphore(Math.max(1, concurrency));
  const t0 = performance.now();
  /** Per recorded connection (of one pod): what the next exchange waits for. */
  const gate = new Map<string, Promise<void>>();
  const all: Promise<void>[] = [];
  const dispatch = (async () => {
    for (let i = 0; i < sorted.length && !signal?.aborted; i++) {
      await sleep(offsets[i]! - (performance.now() - t0), signal);
      if (signal?.aborted) break;
      const ex = sorted[i]!;
      const conn = connectionKeyOf(ex);
      const previous = gate.get(conn) ?? Promise.resolve();
      let markStarted!: () => void;
      const started = new Promise<void>((r) => (markStarted = r));
      const run = (async () => {
        await previous;
        await semaphore.acquire();
        markStarted();
        try {
          if (!signal?.aborted) await task(ex, i);
        } finally {
          semaphore.release();
        }
      })();
      // An HTTP/1 exchange waits for its connection's previous one to finish; h2/gRPC streams
      // only for it to start. Once settled, a connection's gate holds nothing else.
      const next = ex.protocol === 'http/1.1' || ex.protocol === 'http/1.0' ? run : started;
      gate.set(conn, next);
      void run.finally(() => {
        if (gate.get(conn) === next) gate.delete(conn);
      });
      all.push(run);
    }
  })();
  // Stopped: return at once; exchanges in flight are abandoned by the caller.
  await new Promise<void>((resolve, reject) => {
    const onAbort = () => resolve();
    dispatch.then(() => Promise.all(all)).then(() => resolve(), reject).finally(() => signal?.removeEventListener('abort', onAbort));
    if (signal?.aborted) resolve();
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}
