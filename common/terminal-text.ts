/** Text from the wire, made safe to print on a terminal (tap's text lines, top, routes, replay's report). */

/** C0/C1 controls, DEL, line/paragraph separators and bidi overrides: they could forge or hide lines on a terminal. */
const UNSAFE = /[\x00-\x1f\x7f-\x9f\u2028\u2029\u200e\u200f\u202a-\u202e\u2066-\u2069]/g;

/**
 * Escapes what the traffic could use to forge tap lines or drive the terminal (`\n`, ESC, …)
 * as `\xNN` / `\uNNNN`. Values come from the wire (an h2 client may send any byte in `:path`
 * or a header); text output must show them, not obey them. `-o json` needs none of this.
 */
export function escapeForTerminal(value: string): string {
  return value.replace(UNSAFE, (c) => {
    const code = c.charCodeAt(0);
    return code <= 0xff ? `\\x${code.toString(16).padStart(2, '0')}` : `\\u${code.toString(16).padStart(4, '0')}`;
  });
}
