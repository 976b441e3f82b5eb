/**
 * Collects a tap stream (through the tap API, Kubernetes or a sidecar) in the background so a
 * test can wait for conditions on what arrived: `live` (history done), `ends(pred, n)`, the end
 * of the stream. Timeouts name what was awaited and what had arrived.
 */
import type { TapEvent, TapStream } from '../../tap-protocol/index.js';

export function collectTapStream(stream: TapStream, notices: string[], defaultTimeoutMs = 30_000) {
  const events: TapEvent[] = [];
  const waiters: Array<() => void> = [];
  let error: unknown;
  let ended = false;
  let live = false;
  void (async () => {
    try {
      for await (const m of stream.messages) {
        if (m.type === 'history-end') live = true;
        if (m.type === 'event') events.push(m.event);
        for (const w of waiters.splice(0)) w();
      }
    } catch (err) {
      error = err;
    }
    ended = true;
    for (const w of waiters.splice(0)) w();
  })();
  const until = (what: string, cond: () => boolean, timeoutMs = defaultTimeoutMs): Promise<void> =>
    new Promise((resolve, reject) => {
      const t = setTimeout(
        () => reject(new Error(`${what}: not after ${timeoutMs}ms; events ${events.map((e) => `${e.pod}:${e.kind}:${e.path}`).join(' ')}; notices ${notices.join('; ')}; error ${String(error)}`)),
        timeoutMs,
      );
      const check = (): void => {
        if (cond()) {
          clearTimeout(t);
          resolve();
        } else if (ended) {
          clearTimeout(t);
          reject(Object.assign(new Error(`${what}: the stream ended first: ${(error as Error)?.message ?? 'no error'}`), { cause: error }));
        } else waiters.push(check);
      };
      check();
    });
  return {
    events,
    notices,
    get error(): unknown {
      return error;
    },
    get ended(): boolean {
      return ended;
    },
    live: () => until('live', () => live),
    ends: (pred: (e: TapEvent) => boolean, n: number) => until(`${n} end events`, () => events.filter((e) => e.kind === 'end' && pred(e)).length >= n),
    done: () => until('end of stream', () => ended, 30_000),
    waitEnded: () => until('end of stream', () => ended, 30_000).catch(() => undefined),
    /** Resolves with the error the stream ended with. */
    failure: async (): Promise<unknown> => {
      await until('the stream to end', () => ended).catch(() => undefined);
      return error;
    },
    cancel: () => stream.cancel(),
  };
}
