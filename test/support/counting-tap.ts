/**
 * For the rate-limit suites: a live tap read into memory (events by exchange id, losses by reason,
 * `flushed` markers) with `flush()` — a marker through the stream, after which every exchange the
 * sidecar had seen was delivered or told lost — and a burst of exchanges through a listener,
 * HTTP/1 (fetch) or HTTP/2 (node:http2), several at once.
 */
import { randomUUID } from 'node:crypto';
import http2 from 'node:http2';
import { expect } from 'vitest';
import { flushTap, openTapStream, type TapEvent, type TapMessage, type TapRequest } from '../../tap-protocol/index.js';
import { until } from './until.js';

export interface CountingTap {
  /** Events by exchange id, in arrival order. */
  readonly exchanges: Map<string, TapEvent[]>;
  readonly state: { rateLimited: number; queueFull: number; flushed: number };
  /** A `flushed` marker through the stream (the first call also waits until the sidecar knows it). */
  flush(): Promise<void>;
  /** Cancels the stream and waits until the sidecar forgot it. */
  close(): Promise<void>;
}

export function openCountingTap(tapAddress: string, request: Partial<TapRequest>): CountingTap {
  const flushToken = randomUUID();
  const stream = openTapStream(tapAddress, { matches: [], bodies: false, ...request, flushToken });
  const exchanges = new Map<string, TapEvent[]>();
  const state = { rateLimited: 0, queueFull: 0, flushed: 0 };
  const reading = (async () => {
    for await (const m of stream.messages as AsyncIterable<TapMessage>) {
      if (m.type === 'event') {
        const list = exchanges.get(m.event.id) ?? [];
        list.push(m.event);
        exchanges.set(m.event.id, list);
      } else if (m.type === 'dropped') {
        if (m.reason === 'rate-limit') state.rateLimited += m.count;
        else state.queueFull += m.count;
      } else if (m.type === 'flushed') state.flushed++;
    }
  })().catch(() => undefined);
  return {
    exchanges,
    state,
    async flush() {
      const want = state.flushed + 1;
      await until('the tap stream is registered', () => flushTap(tapAddress, flushToken));
      await until('the flushed marker', () => state.flushed >= want);
    },
    async close() {
      stream.cancel();
      await reading;
      await until('the sidecar forgot the tap', async () => !(await flushTap(tapAddress, flushToken)));
    },
  };
}

/** Sends `paths` through `address` (`host:port`), `concurrency` at a time, each answered `ok` before it returns. */
export async function sendBurst(address: string, protocol: 'http/1.1' | 'h2', paths: readonly string[], concurrency = 16): Promise<void> {
  const queue = [...paths];
  if (protocol === 'http/1.1') {
    const worker = async () => {
      for (let p = queue.shift(); p !== undefined; p = queue.shift()) expect(await (await fetch(`http://${address}${p}`)).text()).toMatch(/^ok/);
    };
    await Promise.all(Array.from({ length: concurrency }, worker));
    return;
  }
  const session = http2.connect(`http://${address}`);
  try {
    const one = (path: string) =>
      new Promise<string>((resolve, reject) => {
        const req = session.request({ ':path': path });
        let body = '';
        req.setEncoding('utf8');
        req.on('data', (d: string) => (body += d));
        req.on('end', () => resolve(body));
        req.on('error', reject);
        req.end();
      });
    const worker = async () => {
      for (let p = queue.shift(); p !== undefined; p = queue.shift()) expect(await one(p)).toMatch(/^ok/);
    };
    await Promise.all(Array.from({ length: concurrency }, worker));
  } finally {
    session.close();
  }
}
