/**
 * Incremental collection of an HTTP/1 head (start line + field lines, or a chunked trailer
 * section) from arbitrarily split chunks.
 *
 * Why a separate reader: heads are the only part of HTTP/1 that must be held across chunks,
 * and holding is where memory and smuggling risks live. The reader finds the end of the head
 * with `indexOf` (no per-byte JS loop), keeps a copy of earlier partial pieces only when a head
 * spans chunks, returns a complete head as latin1 text (one string, decoded straight from the
 * chunk: no intermediate Buffer view), bounds what it holds by
 * `maxBytes`, and refuses a bare LF as a line terminator (RFC 9112 §2.2 allows recipients to
 * accept it, but a peer that disagrees is how request smuggling starts).
 */

const CR = 0x0d;
const LF = 0x0a;

/** `feed` results that are not an offset. */
export const HEAD_NEED_MORE = -1;
export const HEAD_BARE_LF = -2;
export const HEAD_TOO_LARGE = -3;

export class HeadReader {
  /**
   * The complete head as latin1 text (CRLF-terminated lines, ending with the empty line; every
   * LF follows a CR) after `feed` >= 0.
   */
  head: string | undefined;
  private pieces: Buffer[] = [];
  /** Head bytes held in `pieces`. */
  private held = 0;
  /** Head offset where the current line starts. */
  private lineStart = 0;
  /** Last byte consumed in an earlier chunk, -1 if none. */
  private prevByte = -1;

  /**
   * @param maxBytes largest head accepted (bytes, terminator included).
   * @param isTrailer a trailer section may be empty (the first empty line ends it); a message
   *   head skips empty lines before the start line instead (RFC 9112 §2.2).
   */
  constructor(
    private readonly maxBytes: number,
    private readonly isTrailer: boolean,
  ) {}

  /** True when some bytes of a head were consumed but the head is not complete. */
  get isStarted(): boolean {
    return this.held > 0;
  }

  /** Forgets any partial head (to read the next one). */
  reset(): void {
    this.head = undefined;
    if (this.held > 0) this.pieces = [];
    this.held = 0;
    this.lineStart = 0;
    this.prevByte = -1;
  }

  /**
   * Consumes `chunk` from `offset`. Returns the offset just after the head when it is
   * complete (then `head` is set), or HEAD_NEED_MORE (all consumed), HEAD_BARE_LF or
   * HEAD_TOO_LARGE.
   */
  feed(chunk: Buffer, offset: number): number {
    let start = offset; // where this chunk's part of the head begins
    let pos = offset;
    for (;;) {
      const lf = chunk.indexOf(LF, pos);
      if (lf < 0) break;
      const at = this.held + (lf - start); // head offset of this LF
      // The bound first: a head split before this LF would have hit it at the split, so the
      // reason must not depend on where the bytes were split.
      if (at + 1 > this.maxBytes) return HEAD_TOO_LARGE;
      const prev = lf > start ? chunk[lf - 1] : this.prevByte;
      if (prev !== CR) return HEAD_BARE_LF;
      if (at - this.lineStart === 1) {
        // An empty line.
        if (this.lineStart === 0 && !this.isTrailer) {
          // Leading empty line before a start line: skip it, nothing is held.
          this.reset();
          start = lf + 1;
          pos = start;
          continue;
        }
        this.head =
          this.held === 0
            ? chunk.toString('latin1', start, lf + 1)
            : Buffer.concat([...this.pieces, chunk.subarray(start, lf + 1)], at + 1).toString('latin1');
        this.pieces = [];
        this.held = 0;
        this.lineStart = 0;
        this.prevByte = -1;
        return lf + 1;
      }
      this.lineStart = at + 1;
      pos = lf + 1;
    }
    const rest = chunk.length - start;
    if (rest > 0) {
      if (this.held + rest > this.maxBytes) return HEAD_TOO_LARGE;
      this.pieces.push(Buffer.from(chunk.subarray(start)));
      this.held += rest;
      this.prevByte = chunk[chunk.length - 1];
    }
    return HEAD_NEED_MORE;
  }
}
