/**
 * A live tap subscriber for tests: subscribes through the real tap service (gRPC), waits until
 * the subscription is live (the history-end marker of an empty `since 0` query) so no event can
 * slip by, then collects events. `eventShape` strips the fields that differ run to run, so a
 * test can compare the exact events with `toEqual`.
 */
import { openTapStream, type TapEvent, type TapMessage, type TapRequest } from '../../tap-protocol/index.js';

export interface TapCollector {
  readonly events: TapEvent[];
  readonly messages: TapMessage[];
  /** Resolves once `n` `end` events (matching `accept`, if given) were collected. */
  waitForEnds(n: number, accept?: (e: TapEvent) => boolean, timeoutMs?: number): Promise<TapEvent[]>;
  /** Events of one exchange, in arrival order. */
  exchange(id: string): TapEvent[];
  close(): void;
}

/** Subscribes to `tapAddr`; resolves when live. */
export async function openTapCollector(tapAddr: string, request: Partial<TapRequest> = {}, timeoutMs = 15_000): Promise<TapCollector> {
  const stream = openTapStream(tapAddr, { matches: [], bodies: false, ...request, sinceMs: 0, follow: true });
  const events: TapEvent[] = [];
  const messages: TapMessage[] = [];
  const waiters: Array<() => void> = [];
  let failure: unknown;
  let live!: () => void;
  let liveFailed!: (err: unknown) => void;
  const isLive = new Promise<void>((resolve, reject) => {
    live = resolve;
    liveFailed = reject;
  });
  let cancelled = false;
  void (async () => {
    try {
      for await (const m of stream.messages) {
        messages.push(m);
        if (m.type === 'history-end') live();
        else if (m.type === 'event') events.push(m.event);
        for (const w of waiters.splice(0)) w();
      }
    } catch (err) {
      if (!cancelled) failure = err;
      liveFailed(err);
    }
    failure ??= cancelled ? undefined : new Error('tap stream ended');
    for (const w of waiters.splice(0)) w();
  })();
  const t = setTimeout(() => liveFailed(new Error(`tap ${tapAddr}: not live after ${timeoutMs}ms`)), timeoutMs);
  try {
    await isLive;
  } finally {
    clearTimeout(t);
  }
  return {
    events,
    messages,
    waitForEnds(n, accept = () => true, waitMs = 20_000) {
      return new Promise((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`tap: ${events.filter((e) => e.kind === 'end' && accept(e)).length}/${n} end events after ${waitMs}ms: ${JSON.stringify(events.map((e) => `${e.kind} ${e.id} ${e.path}`))}`)), waitMs);
        const check = () => {
          const ends = events.filter((e) => e.kind === 'end' && accept(e));
          if (ends.length >= n) {
            clearTimeout(timer);
            resolve(ends);
          } else if (failure) {
            clearTimeout(timer);
            reject(failure instanceof Error ? failure : new Error(String(failure)));
          } else waiters.push(check);
        };
        check();
      });
    },
    exchange: (id) => events.filter((e) => e.id === id),
    close() {
      cancelled = true;
      stream.cancel();
    },
  };
}

/** Fields that vary run to run (clock, ports); `eventShape` drops them after checking their types. */
const VOLATILE = ['ts', 'latencyMs', 'durationMs', 'src', 'pod'] as const;

/** An event without its volatile fields (ts, latencyMs, durationMs, src, pod), for exact comparison. */
export function eventShape(e: TapEvent): Partial<TapEvent> {
  if (Number.isNaN(Date.parse(e.ts))) throw new Error(`event ${e.id} has a bad ts: ${e.ts}`);
  for (const k of ['latencyMs', 'durationMs'] as const) {
    const v = e[k];
    if (v !== undefined && !(typeof v === 'number' && v >= 0)) throw new Error(`event ${e.id} has a bad ${k}: ${v}`);
  }
  const out: Partial<TapEvent> = { ...e };
  for (const k of VOLATILE) delete out[k];
  return out;
}

/** Header value lookup (case-insensitive) in a header list. */
export function header(list: Array<[string, string]> | undefined, name: string): string | undefined {
  return list?.find(([k]) => k.toLowerCase() === name.toLowerCase())?.[1];
}
