/**
 * The traffic table's data: one tap (live or history) relayed by the dashboard server, folded
 * into one row per exchange (`req` → `rsp` → `end` share a row). Bounded: at most `MAX_ROWS`
 * rows (the oldest go, counted), and while paused at most `MAX_ROWS` held events (the rest are
 * dropped, counted). Events are applied in batches, at most ten a second and each in an
 * animation frame, so 1,000 events/s cost the page ten renders a second, not a thousand.
 */
import type { TapEvent } from '../../tap-protocol/index.js';
import type { DashboardLine } from '../wire.js';
import { streamLines } from './api.js';

export const MAX_ROWS = 5000;
/** Renders at most ten times a second: a live table needs no more, and each render costs the same. */
const MIN_FLUSH_INTERVAL_MS = 100;

/**
 * Events received by every feed of the page, readable as `window.meshtapDashboardStats` (the
 * bench measures frame times against it; a plain counter, nothing sent anywhere).
 */
const feedStats = { events: 0 };
(globalThis as { meshtapDashboardStats?: typeof feedStats }).meshtapDashboardStats = feedStats;

export interface Row {
  /** Unique per exchange across pods: ids repeat from one sidecar to the next. */
  key: string;
  /** The latest event's fields (end ⊇ rsp ⊇ req). */
  e: TapEvent;
  req?: TapEvent;
  end?: TapEvent;
  /**
   * When the exchange started (epoch ms): its request's time, or its end's (or response's) time
   * less the duration (latency) the sidecar measured. The TIME column, and the rows' order.
   */
  startMs: number;
  /** Arrival order, for stable sorting. */
  seq: number;
}

export type FeedStatus =
  | { state: 'connecting' }
  | { state: 'streaming' }
  | { state: 'done'; message: string }
  | { state: 'error'; message: string };

export interface FeedSnapshot {
  /** By start time, newest first (arrival order between equal times). */
  rows: Row[];
  status: FeedStatus;
  paused: boolean;
  /** New rows wait while the pointer is over the list. */
  held: boolean;
  /** Whether bodies are shown; `bodiesMessage` says why not. */
  bodiesAllowed?: boolean;
  bodiesMessage?: string;
  /** Events lost: rate limit or slow page (sidecar, tap API or dashboard), and rows evicted. */
  dropped: number;
  evicted: number;
  notices: string[];
  /** Exchanges per second over the last seconds. */
  rate: number;
}

const keyOf = (e: TapEvent): string => `${e.pod ?? ''}|${e.proxy}|${e.id}`;

/** When the exchange of `e` started: see `Row.startMs`. */
function startMsOf(e: TapEvent): number {
  const at = Date.parse(e.ts);
  const since = e.kind === 'end' ? e.durationMs : e.kind === 'rsp' ? e.latencyMs : 0;
  return at - (since ?? 0);
}

export class TrafficFeed {
  private rows = new Map<string, Row>();
  /**
   * Rows by start time, oldest first (arrival order between equal times). Events come in the
   * order they ended, and from several sidecars (each batched on its way): a row is put where its
   * start belongs, so the list reads in the order of its TIME column, as Chrome DevTools' network
   * list and Hubble do. Nearly every row belongs at the end: the search starts there.
   */
  private order: Row[] = [];
  private pending: DashboardLine[] = [];
  private held: DashboardLine[] = [];
  private scheduled = false;
  private lastFlush = 0;
  private seq = 0;
  private abort?: AbortController;
  private listeners = new Set<() => void>();
  private ends: number[] = [];
  snapshot: FeedSnapshot = { rows: [], status: { state: 'connecting' }, paused: false, held: false, dropped: 0, evicted: 0, notices: [], rate: 0 };

  subscribe(l: () => void): () => void {
    this.listeners.add(l);
    return () => void this.listeners.delete(l);
  }

  /** (Re)starts the feed for a tap URL; clears the rows. */
  start(url: string): void {
    this.stop();
    this.rows.clear();
    this.order = [];
    this.pending = [];
    this.held = [];
    this.ends = [];
    this.snapshot = { rows: [], status: { state: 'connecting' }, paused: this.snapshot.paused, held: false, dropped: 0, evicted: 0, notices: [], rate: 0 };
    this.emit();
    const ac = new AbortController();
    this.abort = ac;
    // Open: "0.0 exchanges/s", not "connecting…" for as long as nothing matches the query.
    const onOpen = () => {
      if (!ac.signal.aborted && this.snapshot.status.state === 'connecting') this.setStatus({ state: 'streaming' });
    };
    streamLines(url, ac.signal, (line) => this.receive(line), onOpen).then(
      () => {
        if (ac.signal.aborted) return;
        if (this.snapshot.status.state === 'streaming' || this.snapshot.status.state === 'connecting') this.setStatus({ state: 'done', message: 'the stream ended' });
      },
      (err: Error) => {
        if (!ac.signal.aborted) this.setStatus({ state: 'error', message: err.message });
      },
    );
  }

  stop(): void {
    this.abort?.abort();
    this.abort = undefined;
  }

  /**
   * Holds new rows while the pointer is over the list, so the row under it does not move away
   * as it is clicked (newest rows enter at the top). Held events count against the pause bound.
   * A new tap (another query) starts unheld: the pointer must move again to hold it.
   */
  setHeld(held: boolean): void {
    if (held === this.snapshot.held) return;
    this.snapshot = { ...this.snapshot, held };
    if (held) this.holdPending();
    if (!held && !this.snapshot.paused) {
      this.pending.push(...this.held);
      this.held = [];
      this.schedule();
    }
    this.emit();
  }

  setPaused(paused: boolean): void {
    this.snapshot = { ...this.snapshot, paused };
    if (paused) this.holdPending();
    if (!paused && !this.snapshot.held) {
      this.pending.push(...this.held);
      this.held = [];
      this.schedule();
    }
    this.emit();
  }

  /**
   * Events received before the hold but not yet drawn wait with the held ones: the next flush
   * would otherwise still move the rows (a batch is drawn up to 100 ms after it came).
   */
  private holdPending(): void {
    const rest: DashboardLine[] = [];
    for (const line of this.pending) {
      if (line.type !== 'event') rest.push(line);
      else if (this.held.length >= MAX_ROWS) this.snapshot.dropped++;
      else this.held.push(line);
    }
    this.pending = rest;
  }

  private receive(line: DashboardLine): void {
    if (line.type === 'event') feedStats.events++;
    if (line.type === 'event' && (this.snapshot.paused || this.snapshot.held)) {
      if (this.held.length >= MAX_ROWS) this.snapshot.dropped++;
      else this.held.push(line);
      return;
    }
    this.pending.push(line);
    this.schedule();
  }

  private schedule(): void {
    if (this.scheduled) return;
    this.scheduled = true;
    const wait = Math.max(0, this.lastFlush + MIN_FLUSH_INTERVAL_MS - performance.now());
    setTimeout(
      () =>
        requestAnimationFrame(() => {
          this.scheduled = false;
          this.lastFlush = performance.now();
          this.flush();
        }),
      wait,
    );
  }

  private flush(): void {
    const lines = this.pending;
    this.pending = [];
    let s = this.snapshot;
    const now = performance.now();
    for (const line of lines) {
      switch (line.type) {
        case 'event':
          this.apply(line.event, now);
          if (s.status.state === 'connecting') s = { ...s, status: { state: 'streaming' } };
          break;
        case 'bodies':
          s = { ...s, bodiesAllowed: line.allowed, ...(line.message ? { bodiesMessage: line.message } : {}), status: s.status.state === 'connecting' ? { state: 'streaming' } : s.status };
          break;
        case 'dropped':
          s = { ...s, dropped: s.dropped + line.count };
          break;
        case 'notice':
          s = { ...s, notices: [...s.notices.slice(-4), `${line.pod}: ${line.message}`] };
          break;
        case 'history-end':
          break;
        case 'end':
          s = { ...s, status: { state: 'done', message: line.message } };
          break;
        case 'error':
          s = { ...s, status: { state: 'error', message: line.message } };
          break;
        default:
          break;
      }
    }
    while (this.order.length > MAX_ROWS) {
      const old = this.order.shift()!;
      this.rows.delete(old.key);
      s.evicted++;
    }
    while (this.ends.length && now - this.ends[0]! > 5000) this.ends.shift();
    this.snapshot = { ...s, rows: this.newestFirst(), rate: this.ends.length / 5 };
    this.emit();
  }

  private newestFirst(): Row[] {
    const out = new Array<Row>(this.order.length);
    for (let i = 0; i < this.order.length; i++) out[i] = this.order[this.order.length - 1 - i]!;
    return out;
  }

  private apply(e: TapEvent, now: number): void {
    const key = keyOf(e);
    let row = this.rows.get(key);
    if (!row) {
      row = { key, e, startMs: startMsOf(e), seq: this.seq++ };
      this.rows.set(key, row);
      this.insert(row);
    } else {
      row.e = { ...row.e, ...e };
    }
    if (e.kind === 'req') row.req = e;
    if (e.kind === 'end') {
      row.end = row.req ? { ...row.req, ...e } : e;
      this.ends.push(now);
    }
  }

  /** Puts `row` (the newest by arrival) after every row that started at or before it. */
  private insert(row: Row): void {
    const order = this.order;
    let at = order.length;
    while (at > 0 && order[at - 1]!.startMs > row.startMs) at--;
    if (at === order.length) order.push(row);
    else order.splice(at, 0, row);
  }

  private setStatus(status: FeedStatus): void {
    this.snapshot = { ...this.snapshot, status };
    this.emit();
  }

  private emit(): void {
    for (const l of this.listeners) l();
  }
}
