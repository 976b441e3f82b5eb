/**
 * Waits for a condition instead of a fixed sleep: polls `check` (sync or async) until it holds,
 * and after `timeoutMs` fails with an error naming `what` (plus `detail()`, what the test saw,
 * when given). The one poller of the test suites: (what, check, timeout | options).
 */
export interface UntilOptions {
  timeoutMs?: number;
  intervalMs?: number;
  /** Appended to the timeout error: the state that did not move. */
  detail?: () => string;
}

export async function until(what: string, check: () => boolean | Promise<boolean>, options: UntilOptions | number = {}): Promise<void> {
  const { timeoutMs = 20_000, intervalMs = 20, detail } = typeof options === 'number' ? { timeoutMs: options } : options;
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`${what}: not within ${timeoutMs} ms${detail ? `; ${detail()}` : ''}`);
    await new Promise((resolve) => setTimeout(resolve, intervalMs));
  }
}

/**
 * Repeats `act` (sending a request, say) until `check` holds, and returns how many rounds it
 * took: for a consumer with no "live" marker, such as a tap that prints only what it sees, the
 * traffic goes on until it has seen what the test waits for. Fails like `until`.
 */
export async function actUntil(what: string, check: () => boolean | Promise<boolean>, act: () => Promise<unknown>, options: UntilOptions | number = {}): Promise<number> {
  let rounds = 0;
  await until(
    what,
    async () => {
      if (await check()) return true;
      await act();
      rounds++;
      return check();
    },
    options,
  );
  return rounds;
}

/** `actUntil` a promise settles (a CLI with --limit exits once it has printed enough). */
export function actUntilSettled(what: string, done: Promise<unknown>, act: () => Promise<unknown>, options: UntilOptions | number = {}): Promise<number> {
  let settled = false;
  void done.then(
    () => (settled = true),
    () => (settled = true),
  );
  return actUntil(what, () => settled, act, options);
}
