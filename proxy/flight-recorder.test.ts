import { describe, expect, it } from 'vitest';
import type { TapEvent } from '../tap-protocol/index.js';
import { createFlightRecorder, estimateEventBytes } from './flight-recorder.js';

const event = (i: number, tsMs = Date.now()): TapEvent => ({
  kind: 'end',
  id: `1.${i}`,
  ts: new Date(tsMs).toISOString(),
  proxy: 'in',
  src: '127.0.0.1:1000',
  dst: '127.0.0.1:2000',
  protocol: 'http/1.1',
  method: 'GET',
  scheme: 'http',
  authority: 'web',
  path: `/item/${i}`,
  status: 200,
});

describe('flight recorder', () => {
  it('keeps everything while under its byte bound', () => {
    const r = createFlightRecorder(1 << 20);
    for (let i = 0; i < 100; i++) r.push(event(i));
    expect(r.size).toBe(100);
    expect(r.evicted).toBe(0);
    expect(r.query({}).map((e) => e.id)).toEqual(Array.from({ length: 100 }, (_, i) => `1.${i}`));
  });

  it('evicts oldest first to stay within its bound, and counts evictions', () => {
    const per = estimateEventBytes(event(10));
    const evictions: number[] = [];
    const r = createFlightRecorder(per * 10 + per / 2, (n) => evictions.push(n));
    for (let i = 10; i < 40; i++) r.push(event(i));
    expect(r.size).toBe(10);
    expect(r.bytes).toBeLessThanOrEqual(per * 10 + per / 2);
    expect(r.evicted).toBe(20);
    expect(evictions.reduce((a, b) => a + b, 0)).toBe(20);
    expect(r.query({}).map((e) => e.id)).toEqual(Array.from({ length: 10 }, (_, i) => `1.${30 + i}`));
  });

  it('grows its ring past the initial capacity without losing order', () => {
    const r = createFlightRecorder(64 << 20);
    for (let i = 0; i < 5000; i++) r.push(event(i));
    const all = r.query({});
    expect(all.length).toBe(5000);
    expect(all[4999].id).toBe('1.4999');
    expect(all[0].id).toBe('1.0');
  });

  it('refuses (and counts) a single event larger than the whole bound', () => {
    const r = createFlightRecorder(100);
    r.push(event(1));
    expect(r.size).toBe(0);
    expect(r.evicted).toBe(1);
  });

  it('answers --last N and --since with an optional filter', () => {
    const r = createFlightRecorder(1 << 20);
    const now = Date.now();
    for (let i = 0; i < 10; i++) r.push(event(i, now - (10 - i) * 60_000));
    expect(r.query({ last: 3 }).map((e) => e.id)).toEqual(['1.7', '1.8', '1.9']);
    expect(r.query({ sinceEpochMs: now - 3 * 60_000 }).map((e) => e.id)).toEqual(['1.7', '1.8', '1.9']);
    expect(r.query({ last: 2 }, (e) => Number(e.id.split('.')[1]) % 2 === 0).map((e) => e.id)).toEqual(['1.6', '1.8']);
  });

  it('makes the event of a deferred entry only when a query reads it, in order with pushed events, within the same bound', () => {
    const per = estimateEventBytes(event(0));
    const made: number[] = [];
    const toEvent = (i: number) => {
      made.push(i);
      return event(i);
    };
    const r = createFlightRecorder(per * 4);
    r.push(event(1));
    r.pushDeferred(2, per, toEvent);
    r.push(event(3));
    r.pushDeferred(4, per, toEvent);
    r.pushDeferred(5, per, toEvent); // evicts 1
    r.pushDeferred(6, per, toEvent); // evicts 2, never made
    expect(made).toEqual([]);
    expect(r.size).toBe(4);
    expect(r.evicted).toBe(2);
    expect(r.bytes).toBe(per * 4);
    expect(r.query({}).map((e) => e.id)).toEqual(['1.3', '1.4', '1.5', '1.6']);
    expect(made).toEqual([4, 5, 6]);
    const big = createFlightRecorder(per * 5000);
    for (let i = 0; i < 3000; i++) {
      if (i % 3 === 0) big.push(event(i));
      else big.pushDeferred(i, per, toEvent); // past the ring's first growth
    }
    expect(big.query({}).map((e) => e.id)).toEqual(Array.from({ length: 3000 }, (_, i) => `1.${i}`));
  });
});
