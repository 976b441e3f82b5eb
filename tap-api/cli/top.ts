/**
 * `meshtap top`: a live table of a workload's busiest (source, destination, method, path) from a
 * tap stream, redrawn in place like `linkerd viz top`. Counts completed exchanges (`end`
 * events); latency is the response latency (headers), the exchange duration when absent.
 * Bounded: at most `maxRows` distinct rows are tracked; exchanges of further keys are counted
 * as untracked and shown in the header.
 */
import type { Writable } from 'node:stream';
import { counted, escapeForTerminal, formatLatencyMs } from './format.js';
import { loadYaml } from '../lazy-deps.js';
import { endOutcome, type TapEvent, type TapMessage } from '../../tap-protocol/index.js';

export interface TopRow {
  source: string;
  destination: string;
  method: string;
  path: string;
  count: number;
  bestMs: number;
  worstMs: number;
  lastMs: number;
  successes: number;
}

/** Sort keys (`--sort`, and `s` on a terminal cycles through them). */
export const TOP_SORT_KEYS = ['count', 'worst', 'best', 'last', 'success', 'path'] as const;
export type TopSortKey = (typeof TOP_SORT_KEYS)[number];
const SORTS: Record<TopSortKey, (a: TopRow, b: TopRow) => number> = {
  count: (a, b) => b.count - a.count,
  worst: (a, b) => b.worstMs - a.worstMs,
  best: (a, b) => a.bestMs - b.bestMs,
  last: (a, b) => b.lastMs - a.lastMs,
  // Least successful first: that is what one looks for.
  success: (a, b) => a.successes / a.count - b.successes / b.count,
  path: (a, b) => a.path.localeCompare(b.path),
};

export const DEFAULT_TOP_MAX_ROWS = 10_000;

/**
 * Whether an exchange counts as a success: the rule the series count it by (tap-protocol
 * outcome.ts), so top's success rate is `meshtap stat`'s for the same exchanges.
 */
export function isSuccess(e: TapEvent): boolean {
  return endOutcome(e) === 'success';
}

const host = (addr: string): string => addr.replace(/:\d+$/, '').replace(/^\[(.*)\]$/, '$1');

/** The aggregation behind the table. */
export interface TopTable {
  add(e: TapEvent): void;
  rows(sortBy?: TopSortKey): TopRow[];
  /** Exchanges not tracked because the row bound was hit. */
  readonly untracked: number;
  readonly total: number;
}

export function createTopTable(maxRows = DEFAULT_TOP_MAX_ROWS): TopTable {
  const rows = new Map<string, TopRow>();
  let untracked = 0;
  let total = 0;
  return {
    add(e) {
      // A stream its server never processed, or an exchange whose outcome went unseen, is not a
      // response (the series leave it out too).
      if (e.kind !== 'end') return;
      const outcome = endOutcome(e);
      if (outcome === 'unprocessed' || outcome === 'unobserved') return;
      total++;
      const source = e.srcWorkload ? `${e.srcWorkload}` : host(e.src);
      const destination = e.dstWorkload ? `${e.dstWorkload}` : host(e.dst);
      // Query strings are folded: `/api/vote?choice=a` and `?choice=b` are one row, `/api/vote?…`.
      const q = e.path ? e.path.indexOf('?') : -1;
      const path = q === -1 ? e.path : `${e.path.slice(0, q)}?…`;
      const key = `${source}\u0000${destination}\u0000${e.method}\u0000${path}`;
      const ms = e.latencyMs ?? e.durationMs ?? 0;
      let r = rows.get(key);
      if (!r) {
        if (rows.size >= maxRows) {
          untracked++;
          return;
        }
        r = { source, destination, method: e.method || '-', path: path || '-', count: 0, bestMs: ms, worstMs: ms, lastMs: ms, successes: 0 };
        rows.set(key, r);
      }
      r.count++;
      r.bestMs = Math.min(r.bestMs, ms);
      r.worstMs = Math.max(r.worstMs, ms);
      r.lastMs = ms;
      if (outcome === 'success') r.successes++;
    },
    rows: (sortBy: TopSortKey = 'count') => [...rows.values()].sort((a, b) => SORTS[sortBy](a, b) || b.count - a.count || a.path.localeCompare(b.path)),
    get untracked() {
      return untracked;
    },
    get total() {
      return total;
    },
  };
}

const fmtMs = formatLatencyMs;

/** Renders the table (at most `maxLines` rows; paths cut to fit `width`). */
export function renderTopTable(rows: TopRow[], options: { maxLines?: number; width?: number; header?: string } = {}): string {
  const head = ['Source', 'Destination', 'Method', 'Path', 'Count', 'Best', 'Worst', 'Last', 'Success Rate'];
  const shown = rows.slice(0, options.maxLines ?? rows.length);
  // Method and path come from the wire: escaped, so a request cannot drive the terminal.
  const cells = shown.map((r) => [
    escapeForTerminal(r.source),
    escapeForTerminal(r.destination),
    escapeForTerminal(r.method),
    escapeForTerminal(r.path),
    String(r.count),
    fmtMs(r.bestMs),
    fmtMs(r.worstMs),
    fmtMs(r.lastMs),
    `${((r.successes / r.count) * 100).toFixed(2)}%`,
  ]);
  const widths = head.map((h, i) => Math.max(h.length, ...cells.map((c) => c[i]!.length)));
  if (options.width) {
    // Too wide: Source and Destination give way first (down to 6), then "Success Rate" becomes
    // "Success", and only then does Path shrink (down to 10): the path is what one reads top for,
    // and the peers are often long pod IPs or workload names that stay recognisable when cut.
    const total = (): number => widths.reduce((a, w) => a + w, 0) + 2 * (widths.length - 1);
    for (const i of [0, 1]) {
      const over = total() - options.width;
      if (over > 0) widths[i] = Math.max(Math.min(6, widths[i]!), widths[i]! - over);
    }
    if (total() > options.width) {
      head[8] = 'Success';
      widths[8] = Math.max(7, ...cells.map((c) => c[8]!.length));
    }
    const over = total() - options.width;
    if (over > 0) widths[3] = Math.max(Math.min(10, widths[3]!), widths[3]! - over);
    // A narrowed peer column keeps a readable name rather than a cut one.
    if (widths[0]! < head[0]!.length) head[0] = 'Src';
    if (widths[1]! < head[1]!.length) head[1] = 'Dst';
  }
  const fit = (text: string, w: number): string => (text.length > w ? text.slice(0, Math.max(1, w - 1)) + '…' : text.padEnd(w));
  const lines = [head, ...cells].map((line) => line.map((c, i) => fit(c, widths[i]!)).join('  ').trimEnd());
  return (options.header ? options.header + '\n\n' : '') + lines.join('\n') + '\n';
}

export interface RunTopOptions {
  messages: AsyncIterable<TapMessage>;
  out: Writable & { isTTY?: boolean; rows?: number; columns?: number };
  /** Redraw period on a terminal (default 1 s). */
  refreshMs?: number;
  title: string;
  maxRows?: number;
  sortBy?: TopSortKey;
  /** `json`/`yaml`: the rows once, at the end, as data (no table). */
  format?: 'table' | 'json' | 'yaml';
  /** A terminal's keys: `q` quits (calls `onQuit`), Ctrl-C interrupts (`onInterrupt`, else `onQuit`), `s` cycles the sort key. */
  keys?: NodeJS.ReadStream;
  onQuit?(): void;
  onInterrupt?(): void;
  /**
   * Not a terminal: print the table every `refreshMs` too (as `top -b` does), not only once at
   * the end. For a top with no end of its own: `top deploy/web | head` then shows the busiest
   * rows after a refresh, and the first write after the reader went away ends the command.
   */
  batch?: boolean;
}

/**
 * Consumes the stream into the table. On a terminal, redraws in place every `refreshMs`;
 * otherwise prints the table once when the stream ends (and every `refreshMs` with `batch`). Rethrows the stream's error after the
 * final table is printed.
 */
export async function runTop(o: RunTopOptions): Promise<TopTable> {
  const table = createTopTable(o.maxRows);
  const format = o.format ?? 'table';
  const isTTY = o.out.isTTY === true && format === 'table';
  let sortBy: TopSortKey = o.sortBy ?? 'count';
  let dropped = 0;
  const draw = (final: boolean): void => {
    if (format !== 'table') {
      if (!final) return;
      const rows = table.rows(sortBy);
      o.out.write(format === 'json' ? JSON.stringify(rows, null, 2) + '\n' : loadYaml().stringify(rows));
      return;
    }
    const extra = [dropped ? `${counted(dropped, 'event')} dropped` : '', table.untracked ? `${counted(table.untracked, 'exchange')} untracked (row limit)` : ''].filter(Boolean).join(', ');
    const help = isTTY && !final ? `  [sorted by ${sortBy}; s: sort, q: quit]` : '';
    const header = `${o.title} — ${counted(table.total, 'exchange')}${extra ? ` (${extra})` : ''}${help}`;
    const text = renderTopTable(table.rows(sortBy), {
      header,
      ...(isTTY && o.out.rows ? { maxLines: Math.max(1, o.out.rows - 4) } : {}),
      ...(isTTY && o.out.columns ? { width: o.out.columns } : {}),
    });
    // Home + clear screen, then the table: a redraw in place without scrolling.
    o.out.write(isTTY ? `\x1b[H\x1b[2J${text}` : text);
    if (final && isTTY) o.out.write('\x1b[?25h');
  };
  let timer: NodeJS.Timeout | undefined;
  const keys = isTTY && o.keys?.isTTY ? o.keys : undefined;
  const onKey = (buf: Buffer): void => {
    const k = buf.toString('utf8');
    if (k === 'q' || k === 'Q') o.onQuit?.();
    else if (k === '\x03') (o.onInterrupt ?? o.onQuit)?.();
    else if (k === 's') {
      sortBy = TOP_SORT_KEYS[(TOP_SORT_KEYS.indexOf(sortBy) + 1) % TOP_SORT_KEYS.length]!;
      draw(false);
    }
  };
  if (keys) {
    // Raw mode: keys arrive one by one; Ctrl-C arrives as \x03 instead of SIGINT (handled as SIGINT is).
    keys.setRawMode(true);
    keys.on('data', onKey);
    keys.resume();
  }
  if (isTTY) {
    o.out.write('\x1b[?25l');
    draw(false);
    timer = setInterval(() => draw(false), o.refreshMs ?? 1000);
  } else if (o.batch && format === 'table') {
    // From the first exchange on: a tap refused up front gets its one-line error, no empty table first.
    timer = setInterval(() => table.total > 0 && draw(false), o.refreshMs ?? 1000);
  }
  let failed = false;
  try {
    for await (const m of o.messages) {
      if (m.type === 'event') table.add(m.event);
      else if (m.type === 'dropped') dropped += m.count;
    }
  } catch (err) {
    failed = true;
    throw err;
  } finally {
    if (timer) clearInterval(timer);
    if (keys) {
      keys.off('data', onKey);
      keys.setRawMode(false);
      keys.pause();
    }
    // A stream refused up front (401/403/404, unreachable) gets its one-line error, not an empty
    // table; on a terminal the empty table drawn meanwhile is cleared (and the cursor given back).
    if (failed && table.total === 0) {
      if (isTTY) o.out.write('\x1b[H\x1b[2J\x1b[?25h');
    } else if (isTTY || !failed || table.total > 0) draw(true);
  }
  return table;
}
