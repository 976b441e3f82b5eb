/**
 * The CLI's end when its reader goes away: `meshtap tap … | head` must end like
 * `kubectl get … | head` — quietly, exit 0 — not with a `write EPIPE` stack trace. A closed
 * pipe is the reader saying "enough", not a failure.
 *
 * Commands that hold something to undo (a temporary directory with secrets, a child process,
 * an open tap) register it with `onCleanup`; the same cleanups run on a broken pipe, so
 * nothing stays behind whichever way the command ends. Cleanups are bounded in time
 * (`CLEANUP_TIMEOUT_MS`): a stuck one cannot keep a process whose reader is gone alive.
 */

type Cleanup = () => void | Promise<void>;

const cleanups = new Set<Cleanup>();
let ending: Promise<void> | undefined;

/** Most time the cleanups get when the reader went away. */
export const CLEANUP_TIMEOUT_MS = 3_000;

/** Registers something to undo when the command ends (normally or on a broken pipe); returns the unregister. */
export function onCleanup(fn: Cleanup): () => void {
  cleanups.add(fn);
  return () => cleanups.delete(fn);
}

/** Runs every registered cleanup once (newest first); errors are ignored (best effort, bounded). */
export function runCleanups(): Promise<void> {
  const all = [...cleanups].reverse();
  cleanups.clear();
  const work = (async () => {
    for (const fn of all) {
      try {
        await fn();
      } catch {
        // best effort: the next cleanup still runs
      }
    }
  })();
  return Promise.race([work, new Promise<void>((r) => setTimeout(r, CLEANUP_TIMEOUT_MS).unref())]);
}

/** Whether an error is the reader of a pipe going away. */
export function isBrokenPipe(err: unknown): boolean {
  const code = (err as NodeJS.ErrnoException | undefined)?.code;
  return code === 'EPIPE' || code === 'ERR_STREAM_DESTROYED';
}

/** The reader went away: clean up and exit 0 (once, whatever stream noticed it). */
export function endForBrokenPipe(): Promise<void> {
  ending ??= runCleanups().then(() => process.exit(0));
  return ending;
}

/** Whether the command is ending because its reader went away (so nothing more should be said). */
export function isEndingForBrokenPipe(): boolean {
  return ending !== undefined;
}

/**
 * Makes a broken pipe on stdout or stderr a quiet exit 0 after the cleanups. Call once, at the
 * start of the CLI. (Node ignores SIGPIPE, so the write fails with EPIPE on the stream, which
 * would otherwise be an uncaught 'error' event.)
 */
export function exitQuietlyOnBrokenPipe(streams: NodeJS.WriteStream[] = [process.stdout, process.stderr]): void {
  for (const s of streams) {
    s.on('error', (err: unknown) => {
      if (isBrokenPipe(err)) {
        void endForBrokenPipe();
        return;
      }
      throw err;
    });
  }
}
