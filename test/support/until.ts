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
