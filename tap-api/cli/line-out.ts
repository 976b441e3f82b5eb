/**
 * Lines for stdout, written a batch at a time. A tap prints an event per line, thousands a
 * second; one `write` each was the largest steady cost of `meshtap tap -o json` (a syscall and a
 * stream request per line, on the same CPU as whatever it is watching). Lines are held until
 * MAX_PENDING of them are there or FLUSH_DELAY_MS passed since the first, then go out in one
 * write: under load a write per 64 KiB (not per tap batch: ~3x fewer, and as many fewer wake-ups
 * of the reader), and a lone event waits 10 ms at most. Lines may be text, or bytes passed
 * through as they came (`-o json` events): those are never decoded nor re-encoded.
 */

/** Most characters (or bytes) held before they are written at once. */
const MAX_PENDING = 64 * 1024;
/** Longest a line waits for others to share its write. */
const FLUSH_DELAY_MS = 10;
const NEWLINE = Buffer.from('\n');

export interface LineOut {
  /** Adds a line (without its newline). */
  print(line: string): void;
  /** Adds a line given as UTF-8 bytes (without its newline); `line` must stay unchanged until flushed. */
  printBytes(line: Buffer): void;
  /** Writes what is held now (before anything goes to stderr, and before the command returns). */
  flush(): void;
}

/** Batches lines for `out` (process.stdout). */
export function createLineOut(out: { write(data: string | Buffer): unknown }): LineOut {
  // Text lines gather in one string; once a byte line comes, everything held is bytes (in order).
  let text = '';
  let parts: Buffer[] = [];
  let size = 0;
  let timer: NodeJS.Timeout | undefined;
  const flush = (): void => {
    if (timer !== undefined) {
      clearTimeout(timer);
      timer = undefined;
    }
    if (parts.length > 0) {
      if (text !== '') parts.push(Buffer.from(text, 'utf8'));
      const data = parts.length === 1 ? parts[0]! : Buffer.concat(parts);
      parts = [];
      text = '';
      size = 0;
      out.write(data);
    } else if (text !== '') {
      const data = text;
      text = '';
      size = 0;
      out.write(data);
    }
  };
  const added = (n: number): void => {
    size += n;
    if (size >= MAX_PENDING) flush();
    else timer ??= setTimeout(flush, FLUSH_DELAY_MS);
  };
  return {
    print(line) {
      text += line + '\n';
      added(line.length + 1);
    },
    printBytes(line) {
      if (text !== '') {
        parts.push(Buffer.from(text, 'utf8'));
        text = '';
      }
      parts.push(line, NEWLINE);
      added(line.length + 1);
    },
    flush,
  };
}
