import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { describe, expect, it } from 'vitest';
import { compileMatches, type TapEvent } from '../tap-protocol/index.js';
import { createTapHub, FLUSH_DELAY_MS } from './tap-hub.js';

setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as () => void;

const BODY_CHARS = 128 * 1024;
const MESSAGES = 100;

/** A 128 KiB body of its own (a flat string, not shared with any other event). */
const bodyOf = (n: number): string => `${n}:`.padEnd(BODY_CHARS, String.fromCharCode(97 + (n % 26)));

const event = (n: number): TapEvent => ({
  kind: 'end',
  id: `1.${n}`,
  ts: new Date().toISOString(),
  proxy: 'in',
  src: '10.0.0.1:5000',
  dst: '10.0.0.2:8080',
  protocol: 'http/1.1',
  method: 'GET',
  scheme: 'http',
  authority: 'web',
  path: `/p/${n}`,
  status: 200,
  responseBody: { size: BODY_CHARS, truncated: false, encoding: 'utf8', data: bodyOf(n) },
});

const turn = () => new Promise<void>((resolve) => setTimeout(resolve, FLUSH_DELAY_MS * 2));

const heapUsedAfterGc = (): number => {
  gc();
  gc();
  return process.memoryUsage().heapUsed;
};

describe('a subscriber queue holds what it has not written, not what it wrote', () => {
  // Regression (session 8, tapmem): a taken message stayed in the queue's array until the queue
  // emptied or 1024 had been taken, so a reader that stays a little behind (HTTP/2 window closed,
  // the queue never empty) kept up to 1024 sent messages alive: the tapped sidecar's heap held
  // 26 MB of sent 64 KiB-body events under the bench's h1-64k load (heap snapshot mid-load).
  it('lets go of each batch once it is written', async () => {
    const hub = createTapHub();
    const held: Array<() => void> = [];
    const sub = hub.subscribe({
      match: compileMatches([]),
      bodies: true,
      reveal: new Set(),
      maxQueue: 10_000,
      maxQueueBodyBytes: 1 << 30,
      // One batch in flight at a time: the next is taken only once the transport sent this one on.
      maxInFlightBytes: 1,
      writer: { write: (_batch, sent) => void held.push(sent) },
    });
    sub.live = true;
    for (let n = 0; n <= MESSAGES; n++) sub.send({ type: 'event', event: event(n) });
    await turn();
    // The transport sends 99 batches on: 100 messages taken (the last in flight), one still queued
    // (the queue never emptied, as with a reader that is a little behind).
    for (let n = 0; n < MESSAGES - 1; n++) held.shift()!();
    expect(held).toHaveLength(1);

    const withQueue = heapUsedAfterGc();
    sub.close();
    const closed = heapUsedAfterGc();
    // What the subscriber still held: one queued message (~128 KiB) and bookkeeping; also 100
    // sent messages (~12.8 MB) before the fix.
    expect(withQueue - closed).toBeLessThan(2 * 1024 * 1024);
    expect(withQueue - closed).toBeGreaterThan(BODY_CHARS / 2); // the one queued message is measured, so the probe sees memory
  });
});
