/**
 * Session 15's history reads in parts: the recorder cursor (oldest first across the js and the
 * C++ recorders, `last N` of the merge, as the sort of both whole answers ordered them) and the
 * hub's history source (taken only within the in-flight bound, ahead of the live queue, let go
 * when the subscriber closes). The whole path with real sidecars: test/hist15-bounded-history.test.ts.
 */
import { describe, expect, it } from 'vitest';
import { compileMatches, type TapEvent, type TapMessage } from '../tap-protocol/index.js';
import { createFlightRecorder, drainCursor, mergedCursor, type HistoryList } from './flight-recorder.js';
import { createTapHub, type HistorySource, type MessageWriter } from './tap-hub.js';

const at = (ms: number, n: number): TapEvent => ({
  kind: 'end',
  id: `1.${n}`,
  ts: new Date(ms).toISOString(),
  proxy: 'in',
  src: '10.0.0.1:5000',
  dst: '10.0.0.2:8080',
  protocol: 'http/1.1',
  method: 'GET',
  scheme: 'http',
  authority: 'web',
  path: `/p/${n}`,
});

/** A snapshot over `events`, taking those `accept` takes, counting the events it made. */
function list(events: TapEvent[], accept: (e: TapEvent) => boolean = () => true): HistoryList & { made: number } {
  const l = {
    made: 0,
    length: events.length,
    at(i: number) {
      l.made++;
      const e = events[i]!;
      return accept(e) ? e : undefined;
    },
  };
  return l;
}

/** What the native recorder's query answered before session 15: both answers, stably sorted, the last `last`. */
function sorted(a: TapEvent[], b: TapEvent[], last?: number): TapEvent[] {
  const m = [...a, ...b].sort((x, y) => Date.parse(x.ts) - Date.parse(y.ts));
  return last !== undefined && m.length > last ? m.slice(m.length - last) : m;
}

describe('history cursor', () => {
  it('merges two recorders oldest first, ties in recorder order, and `last N` of the merge, as the sort of both answers did', () => {
    // Random end times with many ties, some events filtered out.
    let seed = 7;
    const rnd = (n: number) => (seed = (seed * 1103515245 + 12345) % 2 ** 31) % n;
    for (let round = 0; round < 50; round++) {
      const mk = (n: number, base: number) => {
        const out: TapEvent[] = [];
        let t = 1_700_000_000_000;
        for (let i = 0; i < n; i++) out.push(at((t += rnd(3)), base + i));
        return out;
      };
      const a = mk(rnd(40), 0);
      const b = mk(rnd(40), 1000);
      const accept = (e: TapEvent) => Number(e.id.slice(2)) % 5 !== 3;
      const fa = a.filter(accept);
      const fb = b.filter(accept);
      for (const last of [undefined, 0, 1, 3, 10, 200]) {
        const got = drainCursor(mergedCursor([list(a, accept), list(b, accept)], last));
        expect(got.map((e) => e.id)).toEqual(sorted(fa, fb, last).map((e) => e.id));
      }
    }
  });

  it('makes events as they are read: one next() reads one event, a `last 2` reads back only to them', () => {
    const events = Array.from({ length: 1000 }, (_, i) => at(1_700_000_000_000 + i, i));
    const l = list(events);
    const c = mergedCursor([l]);
    expect(c.next()?.id).toBe('1.0');
    expect(l.made).toBe(1);
    c.close();
    expect(c.next()).toBeUndefined();
    const tail = list(events);
    expect(drainCursor(mergedCursor([tail], 2)).map((e) => e.id)).toEqual(['1.998', '1.999']);
    expect(tail.made).toBe(4); // two read back, the same two made going forward
  });

  it('reads the js recorder from a snapshot: what is recorded or evicted after the cursor was made does not change it', () => {
    const r = createFlightRecorder(10 * 1400);
    for (let i = 0; i < 5; i++) r.push(at(1_700_000_000_000 + i, i), 1400);
    const c = r.cursor({});
    expect(c.next()?.id).toBe('1.0');
    for (let i = 5; i < 15; i++) r.push(at(1_700_000_000_000 + i, i), 1400); // evicts 0-4
    expect(drainCursor(c).map((e) => e.id)).toEqual(['1.1', '1.2', '1.3', '1.4']);
    expect(r.query({ last: 2 }).map((e) => e.id)).toEqual(['1.13', '1.14']);
  });
});

/** A transport that keeps batches in flight until drained. */
function heldTransport() {
  const written: TapMessage[] = [];
  let held: Array<() => void> = [];
  const writer: MessageWriter = {
    write(batch, sent) {
      written.push(...(JSON.parse(batch) as TapMessage[]));
      held.push(sent);
    },
  };
  return {
    writer,
    written,
    drain() {
      const cbs = held;
      held = [];
      for (const cb of cbs) cb();
    },
  };
}

const oneTurn = () => new Promise<void>((resolve) => setImmediate(resolve));

/** A source of `n` event messages then a history-end, counting what it made and whether it was closed. */
function source(n: number) {
  const s = {
    made: 0,
    closed: 0,
    next(): TapMessage | undefined {
      if (s.made > n) return undefined;
      s.made++;
      return s.made <= n ? { type: 'event', event: { ...at(1_700_000_000_000 + s.made, s.made), path: `/h/${s.made}/${'x'.repeat(200)}` } } : { type: 'history-end' };
    },
    close() {
      s.closed++;
    },
  } satisfies HistorySource & { made: number; closed: number };
  return s;
}

describe('a subscriber history source', () => {
  it('is taken only within the in-flight bound, ahead of live events, which follow history-end', async () => {
    const hub = createTapHub();
    const t = heldTransport();
    const sub = hub.subscribe({ match: compileMatches([]), bodies: false, reveal: new Set(), writer: t.writer, maxInFlightBytes: 4096 });
    sub.live = true;
    const src = source(2000);
    sub.sendHistory(src);
    await oneTurn();
    // A paused client: one batch made (up to TAP_BATCH_MAX_BYTES past the in-flight bound), not 2,000 events.
    expect(src.made).toBeLessThan(200);
    expect(hub.heldChars).toBeLessThan(4096 + 64 * 1024);
    hub.publish('end', { ...at(1_800_000_000_000, 9999), path: '/live/1' });
    for (let i = 0; i < 1000 && src.closed === 0; i++) {
      t.drain();
      await oneTurn();
    }
    for (let i = 0; i < 5; i++) {
      t.drain();
      await oneTurn();
      await new Promise((r) => setTimeout(r, 25));
    }
    expect(src.closed).toBe(1);
    const kinds = t.written.map((m) => (m.type === 'event' ? (m.event.path.startsWith('/h/') ? 'h' : 'live') : m.type));
    expect(kinds.filter((k) => k === 'h')).toHaveLength(2000);
    expect(kinds.slice(2000)).toEqual(['history-end', 'live']);
    sub.close();
    expect(hub.heldChars).toBe(0);
  });

  it('is let go when the subscriber closes mid-read, and a finish() waits for it', async () => {
    const hub = createTapHub();
    const t = heldTransport();
    const sub = hub.subscribe({ match: compileMatches([]), bodies: false, reveal: new Set(), writer: t.writer, maxInFlightBytes: 4096 });
    const src = source(500);
    sub.sendHistory(src);
    let finished = false;
    sub.finish(() => (finished = true));
    await oneTurn();
    expect(finished).toBe(false);
    sub.close();
    expect(src.closed).toBe(1);
    expect(hub.count).toBe(0);
    const made = src.made;
    t.drain();
    await oneTurn();
    expect(src.made).toBe(made);

    const t2 = heldTransport();
    const sub2 = hub.subscribe({ match: compileMatches([]), bodies: false, reveal: new Set(), writer: t2.writer, maxInFlightBytes: 4096 });
    const src2 = source(30);
    sub2.sendHistory(src2);
    let done = false;
    sub2.finish(() => (done = true));
    for (let i = 0; i < 50 && !done; i++) {
      t2.drain();
      await oneTurn();
    }
    expect(done).toBe(true);
    expect(src2.closed).toBe(1);
    expect(t2.written.at(-1)).toEqual({ type: 'history-end' });
  });
});
