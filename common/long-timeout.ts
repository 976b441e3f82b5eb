/**
 * Timers for delays the user chooses (`--duration 700h`, `--until` next year). Node's
 * setTimeout holds at most 2^31-1 ms (24.8 days): a longer delay fires after 1 ms with a
 * TimeoutOverflowWarning, so `record --duration 700h` stopped at once and `tap --until` a month
 * ahead printed nothing and exited 0. This one waits in steps of at most that long.
 */

/** setTimeout's longest delay, ms. */
export const MAX_TIMEOUT_MS = 2 ** 31 - 1;

export interface LongTimeout {
  clear(): void;
  /** As Timeout.unref(): the timer alone does not keep the process alive. */
  unref(): LongTimeout;
}

/** Calls `fn` once after `ms` (any finite length; Infinity never fires). */
export function setLongTimeout(fn: () => void, ms: number): LongTimeout {
  let timer: NodeJS.Timeout | undefined;
  let unrefd = false;
  let cleared = false;
  const arm = (left: number): void => {
    if (cleared || left === Infinity) return;
    const step = Math.min(Math.max(0, left), MAX_TIMEOUT_MS);
    timer = setTimeout(() => (left - step > 0 ? arm(left - step) : fn()), step);
    if (unrefd) timer.unref();
  };
  arm(ms);
  const handle: LongTimeout = {
    clear() {
      cleared = true;
      if (timer) clearTimeout(timer);
    },
    unref() {
      unrefd = true;
      timer?.unref();
      return handle;
    },
  };
  return handle;
}
