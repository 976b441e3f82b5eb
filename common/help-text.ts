/**
 * `--help` texts fit in 100 columns. They are written as they read best in the source (a flag's
 * description on one line, whatever its length); lines longer than `HELP_WIDTH` are wrapped when
 * printed, each continuation starting under the text it continues: a flag's description column
 * (the text after two or more spaces), or else the line's own indentation. One wrapper instead of
 * hand-wrapped texts, so that a description edited later cannot grow past the width again.
 */

/** Widest `--help` line (a terminal of 100 columns; kubectl's and git's help stay within it). */
export const HELP_WIDTH = 100;

/** A description column past this leaves too little room: continue under the line's indentation + 4. */
const MAX_HANGING_INDENT = 60;

/**
 * Wraps every line of `text` longer than `width` at spaces (a word longer than the room stays
 * whole). The lines that continue an overlong one (indented to its continuation column) are
 * reflowed with it, so the words pushed down do not leave a short line behind.
 */
export function wrapHelpText(text: string, width = HELP_WIDTH): string {
  const lines = text.split('\n');
  const out: string[] = [];
  for (let i = 0; i < lines.length; i++) {
    let line = lines[i]!;
    if (line.length <= width) {
      out.push(line);
      continue;
    }
    const { start, indent } = layoutOf(line);
    while (i + 1 < lines.length && isContinuation(lines[i + 1]!, indent.length)) line += ' ' + lines[++i]!.trim();
    out.push(wrapLine(line, width, start, indent));
  }
  return out.join('\n');
}

/** Where the wrapped text of `line` starts, and what its continuation lines start with. */
function layoutOf(line: string): { start: number; indent: string } {
  const lead = /^ */.exec(line)![0].length;
  // The description column: where the text after the first run of two or more spaces starts.
  const column = /^( *\S.*?\S {2,})\S/.exec(line)?.[1]?.length;
  if (column !== undefined && column <= MAX_HANGING_INDENT) return { start: column, indent: ' '.repeat(column) };
  return { start: lead, indent: ' '.repeat(lead + (column !== undefined ? 4 : 0)) };
}

/** A line indented exactly to `column` that does not begin a flag of its own. */
function isContinuation(line: string, column: number): boolean {
  const lead = /^ */.exec(line)![0].length;
  return lead === column && column > 0 && line.length > lead && line[lead] !== '-';
}

function wrapLine(line: string, width: number, start: number, indent: string): string {
  const out: string[] = [];
  let current = line.slice(0, start);
  let empty = true;
  for (const word of line.slice(start).split(/ +/).filter((w) => w !== '')) {
    if (!empty && current.length + 1 + word.length > width) {
      out.push(current);
      current = indent + word;
    } else current += (empty ? '' : ' ') + word;
    empty = false;
  }
  out.push(current);
  return out.join('\n');
}
