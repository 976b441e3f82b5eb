/**
 * `meshtap top`: a live table of a workload's busiest (source, destination, method, path) from a
 * tap stream, redrawn in place like `linkerd viz top`. Counts completed exchanges (`end`
 * events); latency is the response latency (headers), the exchange duration when absent.
 * Bounded: at most `maxRows` distinct rows are tracked; exchanges of further keys are counted
 * as untracked and shown in the header.
 */
import type { Writable } from 'node:stream';
import type { TapEvent, TapMessage } from '../../tap-protocol/index.js';

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

/** gRPC statuses Linkerd classifies as failures (DESIGN §6). */
const GRPC_FAILURES = new Set([2, 4, 7, 13, 14, 15]);
export const DEFAULT_TOP_MAX_ROWS = 10_000;

/** Whether an exchange counts as a success (Linkerd's classification). */
export function isSuccess(e: TapEvent): boolean {
  if (e.error) return false;
  if (e.status === undefined || e.status >= 500) return false;
  if (e.grpcStatus !== undefined && GRPC_FAILURES.has(e.grpcStatus)) return false;
  return true;
}

const host = (addr: string): string => addr.replace(/:\d+$/, '').replace(/^\[(.*)\]$/, '$1');

/** The aggregation behind the table. */
export interface TopTable {
  add(e: TapEvent): void;
  rows(): TopRow[];
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
      if (e.kind !== 'end') return;
      total++;
      const source = e.srcWorkload ? `${e.srcWorkload}` : host(e.src);
      const destination = e.dstWorkload ? `${e.dstWorkload}` : host(e.dst);
      const key = `${source}\u0000${destination}\u0000${e.method}\u0000${e.path}`;
      const ms = e.latencyMs ?? e.durationMs ?? 0;
      let r = rows.get(key);
      if (!r) {
        if (rows.size >= maxRows) {
          untracked++;
          return;
        }
        r = { source, destination, method: e.method || '-', path: e.path || '-', count: 0, bestMs: ms, worstMs: ms, lastMs: ms, successes: 0 };
        rows.set(key, r);
      }
      r.count++;
      r.bestMs = Math.min(r.bestMs, ms);
      r.worstMs = Math.max(r.worstMs, ms);
      r.lastMs = ms;
      if (isSuccess(e)) r.successes++;
    },
    rows: () => [...rows.values()].sort((a, b) => b.count - a.count || a.path.localeCompare(b.path)),
    get untracked() {
      return untracked;
    },
    get total() {
      return total;
    },
  };
}

const fmtMs = (v: number): string => (v < 1 ? `${Math.round(v * 1000)}µs` : v < 10 ? `${v.toFixed(1)}ms` : `${Math.round(v)}ms`);

/** Renders the table (at most `maxLines` rows; paths cut to fit `width`). */
export function renderTopTable(rows: TopRow[], options: { maxLines?: number; width?: number; header?: string } = {}): string {
  const head = ['Source', 'Destination', 'Method', 'Path', 'Count', 'Best', 'Worst', 'Last', 'Success Rate'];
  const shown = rows.slice(0, options.maxLines ?? rows.length);
  const cells = shown.map((r) => [
    r.source,
    r.destination,
    r.method,
    r.path,
    String(r.count),
    fmtMs(r.bestMs),
    fmtMs(r.worstMs),
    fmtMs(r.lastMs),
    `${((r.successes / r.count) * 100).toFixed(2)}%`,
  ]);
  const widths = head.map((h, i) => Math.max(h.length, ...cells.map((c) => c[i]!.length)));
  if (options.width) {
    const others = widths.reduce((a, w, i) => (i === 3 ? a : a + w + 2), 0);
    widths[3] = Math.max(4, Math.min(widths[3]!, options.width - others - 2));
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
}

/**
 * Consumes the stream into the table. On a terminal, redraws in place every `refreshMs`;
 * otherwise prints the table once when the stream ends. Rethrows the stream's error after the
 * final table is printed.
 */
export async function runTop(o: RunTopOptions): Promise<TopTable> {
  const table = createTopTable(o.maxRows);
  const isTTY = o.out.isTTY === true;
  let dropped = 0;
  const draw = (final: boolean): void => {
    const extra = [dropped ? `${dropped} events dropped` : '', table.untracked ? `${table.untracked} exchanges untracked (row limit)` : ''].filter(Boolean).join(', ');
    const header = `${o.title} — ${table.total} exchanges${extra ? ` (${extra})` : ''}`;
    const text = renderTopTable(table.rows(), {
      header,
      ...(isTTY && o.out.rows ? { maxLines: Math.max(1, o.out.rows - 4) } : {}),
      ...(isTTY && o.out.columns ? { width: o.out.columns } : {}),
    });
    // Home + clear screen, then the table: a redraw in place without scrolling.
    o.out.write(isTTY ? `\x1b[H\x1b[2J${text}` : text);
    if (final && isTTY) o.out.write('\x1b[?25h');
  };
  let timer: NodeJS.Timeout | undefined;
  if (isTTY) {
    o.out.write('\x1b[?25l');
    draw(false);
    timer = setInterval(() => draw(false), o.refreshMs ?? 1000);
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
    // A stream refused up front (401/403/404) gets its one-line error, not an empty table.
    if (isTTY || !failed || table.total > 0) draw(true);
  }
  return table;
}
