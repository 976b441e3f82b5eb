/**
 * Test-only sink that records what an observer reports, plus a helper that replays a
 * captured conversation into a fresh observer (optionally re-chunked at random points).
 */
import type { Exchange, ExchangeSink, GiveUpReason, ObserverLimits } from '../../observe.js';
import { DEFAULT_OBSERVER_LIMITS, createBodyCapture } from '../../observe.js';
import { createH2Observer } from '../observer.js';

export interface Recording {
  /** Every call in order, e.g. `req:1`, `rsp:1`, `end:1`, `giveUp:h2-frame`. */
  calls: string[];
  ended: Exchange[];
  giveUps: GiveUpReason[];
}

export function createRecordingSink(bodyLimit?: number): ExchangeSink & { recording: Recording } {
  const recording: Recording = { calls: [], ended: [], giveUps: [] };
  return {
    recording,
    requestHead(ex) {
      recording.calls.push(`req:${ex.stream}`);
      if (bodyLimit !== undefined) {
        ex.requestBody = createBodyCapture(bodyLimit);
        ex.responseBody = createBodyCapture(bodyLimit);
      }
    },
    responseHead(ex) {
      recording.calls.push(`rsp:${ex.stream}`);
    },
    end(ex) {
      recording.calls.push(`end:${ex.stream}`);
      recording.ended.push(ex);
    },
    giveUp(reason) {
      recording.calls.push(`giveUp:${reason}`);
      recording.giveUps.push(reason);
    },
    upgraded() {
      recording.calls.push('upgraded');
    },
  };
}

/** One chunk as the relay saw it, in arrival order across both directions. */
export interface LoggedChunk {
  fromClient: boolean;
  chunk: Buffer;
}

export interface FeedOptions {
  /** Re-chunk every logged chunk at random points drawn from this generator (0 <= x < 1). */
  random?: () => number;
  bodyLimit?: number;
  limits?: Partial<ObserverLimits>;
  /** Call close(error) at the end (default: close()). */
  closeError?: string;
  isClosing?: boolean;
}

/** Feeds a conversation into a new observer with a deterministic clock; returns what it reported. */
export function feedConversation(log: LoggedChunk[], options: FeedOptions = {}): Recording {
  const sink = createRecordingSink(options.bodyLimit);
  let clock = 0;
  const observer = createH2Observer({
    sink,
    limits: { ...DEFAULT_OBSERVER_LIMITS, ...options.limits },
    now: () => ++clock,
  });
  for (const { fromClient, chunk } of log) {
    for (const piece of rechunk(chunk, options.random)) {
      if (fromClient) observer.clientData(piece);
      else observer.serverData(piece);
    }
  }
  if (options.isClosing !== false) observer.close(options.closeError);
  return sink.recording;
}

function rechunk(chunk: Buffer, random?: () => number): Buffer[] {
  if (!random || chunk.length < 2) return [chunk];
  const pieces: Buffer[] = [];
  let at = 0;
  while (at < chunk.length) {
    const size = 1 + Math.floor(random() * Math.min(chunk.length - at, random() < 0.5 ? 16 : 4096));
    pieces.push(chunk.subarray(at, at + size));
    at += size;
  }
  return pieces;
}

/** A plain, comparable view of an exchange (bodies joined, captures flattened). */
export function summarize(ex: Exchange): Record<string, unknown> {
  const { requestBody, responseBody, ...rest } = ex;
  return {
    ...rest,
    requestBody: requestBody && { ...requestBody, chunks: Buffer.concat(requestBody.chunks).toString('base64') },
    responseBody: responseBody && { ...responseBody, chunks: Buffer.concat(responseBody.chunks).toString('base64') },
  };
}

/** Small seeded PRNG (mulberry32) so random splits are reproducible from a logged seed. */
export function seededRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
