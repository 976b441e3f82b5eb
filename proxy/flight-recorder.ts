/**
 * The flight recorder: a ring of recent exchanges (`end` events), bounded by an estimate of
 * their bytes, oldest evicted first. It answers "what just happened" (`tap --since/--last`,
 * `record --since`) without anyone having planned ahead.
 *
 * Sizes are estimated from string lengths (no JSON.stringify on the data path); the estimate
 * errs high so the bound holds.
 *
 * An exchange can be recorded before its event exists (`pushDeferred`): the event is made from
 * it only when a query reads it. Most recorded exchanges are evicted unread, and making and
 * keeping a full event for each (an object, its strings, a pair array per header) was most of
 * the recorder's cost on the data path, in allocation and in old-generation garbage collection.
 *
 * `pushExchange` goes further: it keeps no object at all but a compact record (exchange-codec.ts,
 * ~10× smaller than the objects), counted at its real size, so the same bound holds minutes of
 * history instead of seconds. The bound counts records (plus RECORD_OVERHEAD_BYTES each for the
 * index); the chunks they sit in may hold up to two chunks more (the oldest, partly evicted, and
 * the one being filled).
 */
import type { HeaderList, TapEvent } from '../tap-protocol/index.js';
import { Chunk, CHUNK_BYTES, createChunk, decodeExchange, encodeExchange, type RecordedConnection } from './exchange-codec.js';
import type { Exchange } from './observe.js';

export interface FlightRecorder {
  /** Records an event; `bytes` defaults to `estimateEventBytes(event)`. */
  push(event: TapEvent, bytes?: number): void;
  /**
   * Records an exchange whose `end` event `toEvent(source)` makes when a query reads it. `bytes`
   * must be `estimateEventBytes` of that event (so the bound is the same either way), and
   * `source` must not change once pushed.
   */
  pushDeferred<T>(source: T, bytes: number, toEvent: (source: T) => TapEvent): void;
  /**
   * Records a finished exchange as a compact record; `toEvent(conn, ex)` makes its `end` event
   * from the decoded exchange when a query reads it (the same function for every exchange of a
   * sidecar: it is kept once, not per record). `ex` carries no body captures.
   */
  pushExchange(conn: RecordedConnection, ex: Exchange, toEvent: ExchangeEventMaker): void;
  /** Events (oldest first) that ended at or after `sinceEpochMs` and/or the last `last` of them. */
  query(options: { sinceEpochMs?: number; last?: number }, accept?: (e: TapEvent) => boolean): TapEvent[];
  /**
   * The same events, made one at a time as they are read, from a snapshot of the recorder taken
   * now (what is recorded or evicted later changes nothing): a history read holds one event at a
   * time, not the whole answer. Close it to let go of the snapshot early.
   */
  cursor(options: { sinceEpochMs?: number; last?: number }, accept?: (e: TapEvent) => boolean): HistoryCursor;
  /** The snapshots a cursor reads, merged (mergedCursor): one per recorder, oldest first each. */
  snapshots(sinceEpochMs: number | undefined, accept?: (e: TapEvent) => boolean): HistoryList[];
  readonly bytes: number;
  readonly size: number;
  readonly evicted: number;
  /**
   * Epoch ms from which the recorder holds every exchange: its creation while nothing was
   * evicted, else the end of its oldest retained exchange. Read at query time only.
   */
  readonly historyStartMs?: number;
}

/** A history read in progress (FlightRecorder.cursor). */
export interface HistoryCursor {
  /**
   * The next event, oldest first; undefined once there is none (then the snapshot is let go).
   * With `until` (a `performance.now()` time): null when that time came before the next event was
   * found; the read goes on from there at the next call. A filter that takes few events makes a
   * read scan most of the recorder between two events, and the js engine forwards on the thread
   * that scans: a reader gives the scan slices of a turn (tap-service), not one turn of seconds.
   */
  next(until?: number): TapEvent | undefined | null;
  /** Lets go of the snapshot; next() answers undefined from then on. Idempotent. */
  close(): void;
}

/**
 * A recorder's snapshot, oldest first: `at(i)` makes its i-th exchange's event, or answers
 * undefined when the query does not take it (filtered out, or older than its `since`).
 */
export interface HistoryList {
  readonly length: number;
  at(i: number): TapEvent | undefined;
}

/** An event's sort key in a history: its end (the `ts` of an `end` event). */
const endOf = (e: TapEvent): number => Date.parse(e.ts);

/**
 * Exchanges a cursor reads in a slice before it looks at the clock: a short read (a few dozen
 * events, cold code on a sidecar's first read) goes out whole, in one batch, as before.
 */
const SLICE_MIN_READS = 64;

/**
 * A cursor over `lists` merged oldest first by end time, ties in list order (as a stable sort of
 * their concatenation orders them, each list being oldest first), from the last `last` events of
 * the merge when `last` is set. Events are made when read; `last` finds where to start by reading
 * back from the newest (the events it read then are made again going forward: one event at a
 * time held, rather than `last` of them). That reading back is done by the first calls of next(),
 * in time slices as the rest.
 */
export function mergedCursor(lists: HistoryList[], last?: number): HistoryCursor {
  let open = true;
  /** Exchanges read since the last slice ended. */
  let reads = 0;
  /** Whether the slice (`until`) is over. */
  const timeUp = (until: number | undefined): boolean => until !== undefined && ++reads > SLICE_MIN_READS && performance.now() > until;
  const pos = lists.map(() => 0);
  // `last`: newest first until `last` are found, where each list's share of them begins.
  let starting = last !== undefined;
  let found = 0;
  const back = lists.map((l) => l.length);
  const peek: Array<{ e: TapEvent; at: number } | undefined> = lists.map(() => undefined);
  const start = lists.map((l) => l.length);
  /** List k's next older event, undefined at its start, null if the slice ended first. */
  const older = (k: number, until: number | undefined): { e: TapEvent; at: number } | undefined | null => {
    const l = lists[k]!;
    while (back[k]! > 0) {
      if (timeUp(until)) return null;
      const at = --back[k]!;
      const e = l.at(at);
      if (e !== undefined) return { e, at };
    }
    return undefined;
  };
  /** Goes on reading back; false if the slice ended first. */
  const findStarts = (until: number | undefined): boolean => {
    for (; found < last!; found++) {
      let pick = -1;
      for (let k = lists.length - 1; k >= 0; k--) {
        if (peek[k] === undefined) {
          const p = older(k, until);
          if (p === null) return false;
          peek[k] = p;
        }
        // The newest; on a tie the later list's (it comes after in the forward order).
        if (peek[k] !== undefined && (pick < 0 || endOf(peek[k]!.e) > endOf(peek[pick]!.e))) pick = k;
      }
      if (pick < 0) break;
      start[pick] = peek[pick]!.at;
      peek[pick] = undefined;
    }
    for (let k = 0; k < lists.length; k++) pos[k] = start[k]!;
    peek.fill(undefined);
    starting = false;
    return true;
  };
  const head: Array<TapEvent | undefined> = lists.map(() => undefined);
  /** List k's next event, undefined at its end, null if the slice ended first. */
  const nextOf = (k: number, until: number | undefined): TapEvent | undefined | null => {
    const l = lists[k]!;
    while (pos[k]! < l.length) {
      if (timeUp(until)) return null;
      const e = l.at(pos[k]!++);
      if (e !== undefined) return e;
    }
    return undefined;
  };
  const close = (): void => {
    open = false;
    lists = []; // the snapshots go with it
    head.fill(undefined);
    peek.fill(undefined);
  };
  return {
    next(until) {
      if (!open) return undefined;
      if (starting && !findStarts(until)) {
        reads = 0;
        return null;
      }
      let pick = -1;
      for (let k = 0; k < lists.length; k++) {
        if (head[k] === undefined) {
          const e = nextOf(k, until);
          if (e === null) {
            reads = 0;
            return null;
          }
          head[k] = e;
        }
        if (head[k] !== undefined && (pick < 0 || endOf(head[k]!) < endOf(head[pick]!))) pick = k;
      }
      if (pick < 0) {
        close();
        return undefined;
      }
      const e = head[pick]!;
      head[pick] = undefined;
      return e;
    },
    close,
  };
}

/** Everything a cursor has left, read at once. */
export function drainCursor(c: HistoryCursor): TapEvent[] {
  const out: TapEvent[] = [];
  for (let e = c.next(); e !== undefined && e !== null; e = c.next()) out.push(e);
  return out;
}

/**
 * Calibrated on V8 (Node 20): an HTTP/1 `end` event with 3 request and 5 response headers
 * measured ~2.2 KB of retained heap; the object, its strings and its small arrays each carry
 * headers of their own, so the overheads below dominate the character counts.
 */
export const EVENT_OVERHEAD_BYTES = 1200;
export const HEADER_PAIR_OVERHEAD_BYTES = 96;

/** The header lists' share of `estimateEventBytes`. */
export function headersBytes(h: HeaderList | undefined): number {
  if (!h) return 0;
  let n = 0;
  for (const [k, v] of h) n += k.length + v.length + HEADER_PAIR_OVERHEAD_BYTES;
  return n;
}

/** Estimated retained heap of an event, so that `--recorder-bytes` bounds real memory. */
export function estimateEventBytes(e: TapEvent): number {
  return (
    EVENT_OVERHEAD_BYTES +
    e.path.length +
    e.authority.length +
    headersBytes(e.requestHeaders) +
    headersBytes(e.responseHeaders) +
    headersBytes(e.trailers) +
    headersBytes(e.requestTrailers) +
    (e.requestBody?.data.length ?? 0) +
    (e.responseBody?.data.length ?? 0) +
    (e.grpcMessage?.length ?? 0)
  );
}

/** Makes a deferred entry's event; stored beside it, one per connection rather than per entry. */
type EventMaker = (source: never) => TapEvent;

/** Makes the `end` event of a recorded exchange. */
export type ExchangeEventMaker = (conn: RecordedConnection, ex: Exchange) => TapEvent;

/** What the recorder's index costs per record (its slots in four arrays), counted in the bound. */
export const RECORD_OVERHEAD_BYTES = 32;
/** Most distinct event makers (one per sidecar in practice); past it records are refused and counted. */
const MAX_MAKERS = 64;

export function createFlightRecorder(maxBytes: number, onEvict?: (count: number) => void): FlightRecorder {
  // A growable circular buffer of entries (events, or sources whose maker is set) and their byte estimates.
  let entries: unknown[] = new Array(1024);
  let makers: Array<EventMaker | undefined> = new Array(1024);
  let sizes = new Float64Array(1024);
  let offsets = new Float64Array(1024);
  let head = 0; // index of oldest
  let count = 0;
  let bytes = 0;
  let evicted = 0;
  const createdMs = Date.now();
  /** The chunk compact records are written to, and the event makers records name by index. */
  let current: Chunk | undefined;
  const exchangeMakers: ExchangeEventMaker[] = [];

  /** A compact record's entry is its chunk (its offset in `offsets`). */
  const release = (entry: unknown) => {
    if (entry instanceof Chunk) entry.records--;
  };
  /** Makes an entry's event: a plain event, a deferred source, or a compact record. */
  const makeEvent = (entry: unknown, make: EventMaker | undefined, offset: number): TapEvent => {
    if (make !== undefined) return make(entry as never);
    if (entry instanceof Chunk) {
      const { conn, maker, ex } = decodeExchange(entry.buf, offset);
      return exchangeMakers[maker]!(conn, ex);
    }
    return entry as TapEvent;
  };
  const eventAt = (at: number): TapEvent => makeEvent(entries[at], makers[at], offsets[at]!);

  const evictOldest = () => {
    release(entries[head]);
    bytes -= sizes[head];
    entries[head] = undefined;
    makers[head] = undefined;
    head = (head + 1) % entries.length;
    count--;
    evicted++;
  };

  const grow = () => {
    const n = entries.length * 2;
    const e2: unknown[] = new Array(n);
    const m2: Array<EventMaker | undefined> = new Array(n);
    const s2 = new Float64Array(n);
    const o2 = new Float64Array(n);
    for (let i = 0; i < count; i++) {
      const j = (head + i) % entries.length;
      e2[i] = entries[j];
      m2[i] = makers[j];
      s2[i] = sizes[j];
      o2[i] = offsets[j];
    }
    entries = e2;
    makers = m2;
    sizes = s2;
    offsets = o2;
    head = 0;
  };

  const store = (entry: unknown, maker: EventMaker | undefined, size: number, offset = 0) => {
    if (size > maxBytes) {
      release(entry);
      evicted++;
      onEvict?.(1);
      return;
    }
    let n = 0;
    while (count > 0 && bytes + size > maxBytes) {
      evictOldest();
      n++;
    }
    if (n > 0) onEvict?.(n);
    if (count === entries.length) grow();
    const at = (head + count) % entries.length;
    entries[at] = entry;
    makers[at] = maker;
    sizes[at] = size;
    offsets[at] = offset;
    count++;
    bytes += size;
  };

  return {
    push(event, size) {
      store(event, undefined, size ?? estimateEventBytes(event));
    },
    pushDeferred(source, size, toEvent) {
      store(source, toEvent as EventMaker, size);
    },
    pushExchange(conn, ex, toEvent) {
      let maker = exchangeMakers.indexOf(toEvent);
      if (maker < 0) {
        if (exchangeMakers.length >= MAX_MAKERS) {
          evicted++;
          onEvict?.(1);
          return;
        }
        maker = exchangeMakers.push(toEvent) - 1;
      }
      let chunk = current ?? (current = createChunk(CHUNK_BYTES));
      let offset = chunk.used;
      let size = encodeExchange(chunk, conn, maker, ex);
      // Full: the next chunk (doubling past CHUNK_BYTES for a record that fits no ordinary chunk).
      for (let room = CHUNK_BYTES; size < 0; room *= 2) {
        if (room > maxBytes) {
          evicted++;
          onEvict?.(1);
          return;
        }
        chunk.seen = undefined;
        current = chunk = createChunk(room);
        offset = 0;
        size = encodeExchange(chunk, conn, maker, ex);
      }
      chunk.records++;
      store(chunk, undefined, size + RECORD_OVERHEAD_BYTES, offset);
    },
    query(options, accept) {
      return drainCursor(this.cursor(options, accept));
    },
    cursor({ sinceEpochMs, last }, accept) {
      return mergedCursor(this.snapshots(sinceEpochMs, accept), last);
    },
    snapshots(sinceEpochMs, accept) {
      // The snapshot: the entries' references (events, sources, chunks) as they are now; a chunk
      // evicted meanwhile stays readable while the snapshot holds it.
      const n = count;
      const snapEntries: unknown[] = new Array(n);
      const snapMakers: Array<EventMaker | undefined> = new Array(n);
      const snapOffsets = new Float64Array(n);
      for (let i = 0; i < n; i++) {
        const j = (head + i) % entries.length;
        snapEntries[i] = entries[j];
        snapMakers[i] = makers[j];
        snapOffsets[i] = offsets[j]!;
      }
      const list: HistoryList = {
        length: n,
        at(i) {
          const e = makeEvent(snapEntries[i], snapMakers[i], snapOffsets[i]!);
          return (sinceEpochMs === undefined || Date.parse(e.ts) >= sinceEpochMs) && (!accept || accept(e)) ? e : undefined;
        },
      };
      return [list];
    },
    get bytes() {
      return bytes;
    },
    get size() {
      return count;
    },
    get evicted() {
      return evicted;
    },
    get historyStartMs() {
      if (evicted === 0 || count === 0) return createdMs;
      return Date.parse(eventAt(head).ts);
    },
  };
}

