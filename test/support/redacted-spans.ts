/**
 * The property every redaction test holds a redactor to: the output is the input with zero or
 * more spans replaced by the marker, in order, and nothing else changed.
 */
export function onlySpansReplaced(input: string, output: string, marker: string | RegExp = '[redacted]'): boolean {
  const pieces = output.split(marker);
  if (pieces.length === 1) return output === input;
  if (!input.startsWith(pieces[0]!) || !input.endsWith(pieces[pieces.length - 1]!)) return false;
  let at = pieces[0]!.length;
  for (const piece of pieces.slice(1, -1)) {
    const found = input.indexOf(piece, at);
    if (found < 0) return false;
    at = found + piece.length;
  }
  return at <= input.length - pieces[pieces.length - 1]!.length;
}
