/**
 * Lines for stdout, written a batch at a time. A tap prints an event per line, thousands a
 * second; one `write` each was the largest steady cost of `meshtap tap -o json` (a syscall and a
 * stream request per line, on the same CPU as whatever it is watching). Lines printed in one turn
 * of the event loop (the messages of one tap batch) go out in one write.
 */

/** Most characters held before they are written at once. */
const MAX_PENDING_CHARS = 64 * 1024;

export interface LineOut {
  /** Adds a line (without its newline). */
  print(line: string): void;
  /** Writes what is held now (before anything goes to stderr, and before the command returns). */
  flush(): void;
}

/** Batches lines for `out` (process.stdout). */
export function createLineOut(out: { write(text: string): unknown }): LineOut {
  let pending = '';
  let scheduled = false;
  const flush = (): void => {
    if (pending === '') return;
    const text = pending;
    pending = '';
    out.write(text);
  };
  const onTurn = (): void => {
    scheduled = false;
    flush();
  };
  return {
    print(line) {
      pending += line + '\n';
      if (pending.length >= MAX_PENDING_CHARS) flush();
      else if (!scheduled) {
        scheduled = true;
        setImmediate(onTurn);
      }
    },
    flush,
  };
}
