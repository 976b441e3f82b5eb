/**
 * The query bar's text is the `meshtap tap` filter flags themselves (`--path /api --not
 * --status 5xx`), so a query copied from the dashboard runs in a terminal and the other way
 * round. This file only splits and quotes that text the way a POSIX shell would; the flags are
 * parsed by the CLI's own parser (query.ts). It has no Node imports: the browser bundle uses it
 * too (click-to-filter appends flags, "copy as CLI command" quotes them).
 */

/** Splits shell-like text into words: whitespace separates, '…' is literal, "…" and \ escape. */
export function splitQuery(text: string): { ok: true; words: string[] } | { ok: false; error: string } {
  const words: string[] = [];
  let word = '';
  let inWord = false;
  let quote: "'" | '"' | undefined;
  for (let i = 0; i < text.length; i++) {
    const c = text[i]!;
    if (quote === "'") {
      if (c === "'") quote = undefined;
      else word += c;
      continue;
    }
    if (quote === '"') {
      if (c === '"') quote = undefined;
      else if (c === '\\' && i + 1 < text.length && '"\\$`'.includes(text[i + 1]!)) word += text[++i];
      else word += c;
      continue;
    }
    if (c === "'" || c === '"') {
      quote = c;
      inWord = true;
    } else if (c === '\\' && i + 1 < text.length) {
      word += text[++i];
      inWord = true;
    } else if (/\s/.test(c)) {
      if (inWord) words.push(word);
      word = '';
      inWord = false;
    } else {
      word += c;
      inWord = true;
    }
  }
  if (quote) return { ok: false, error: `unclosed ${quote} quote` };
  if (inWord) words.push(word);
  return { ok: true, words };
}

/** Quotes one word for a POSIX shell (only when it needs it). */
export function quoteWord(word: string): string {
  if (word !== '' && /^[A-Za-z0-9_@%+=:,./-]+$/.test(word)) return word;
  return `'${word.replace(/'/g, `'\\''`)}'`;
}

/** Joins words into shell text that `splitQuery` (and a shell) splits back into the same words. */
export function joinQuery(words: readonly string[]): string {
  return words.map(quoteWord).join(' ');
}

/** Appends one filter flag (`--path`, `/api/vote`) to a query, as click-to-filter does. */
export function appendFilter(query: string, flag: string, value?: string): string {
  const added = value === undefined ? `--${flag}` : `--${flag} ${quoteWord(value)}`;
  const trimmed = query.trim();
  return trimmed ? `${trimmed} ${added}` : added;
}

/** The header names a query asks to reveal (`--reveal-header NAME`, `--reveal-header=NAME`), lowercased. */
export function revealedHeaders(query: string): string[] {
  const split = splitQuery(query);
  if (!split.ok) return [];
  const names: string[] = [];
  split.words.forEach((w, i) => {
    if (w === '--reveal-header' && i + 1 < split.words.length) names.push(split.words[i + 1]!.toLowerCase());
    else if (w.startsWith('--reveal-header=')) names.push(w.slice('--reveal-header='.length).toLowerCase());
  });
  return names;
}
