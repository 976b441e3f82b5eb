/**
 * The recording loop: reads a tap stream, keeps `end` events, writes them as exchanges and
 * stops at the first limit reached (count, bytes, duration, history end, abort signal, stream
 * end). It never waits on anything but the file: the tap side drops and tells us instead.
 */
import { setLongTimeout } from '../common/index.js';
import type { TapMessage } from '../tap-protocol/index.js';
import { exchangeFromEvent } from './format.js';
import type { RecordingWriter } from './recording-writer.js';

export interface RecordLimits {
  /** Stop after this many exchanges. */
  limit?: number;
  /** Stop once the file holds this many (uncompressed) bytes. */
  maxBytes?: number;
  /** Stop after this long, ms. */
  durationMs?: number;
  /** Stop when the history (flight recorder) was sent and we are not following. */
  stopAtHistoryEnd?: boolean;
}

export interface RecordProgress {
  count: number;
  bytes: number;
  /** Events the tap side dropped for us (slow consumer / rate limit). */
  dropped: number;
  elapsedMs: number;
}

export type RecordStopReason = 'limit' | 'max-bytes' | 'duration' | 'history-end' | 'stream-end' | 'aborted';

export interface RecordResult extends RecordProgress {
  reason: RecordStopReason;
}

/** Writes a tap stream's exchanges to `writer` until a limit. Does not close the writer. */
export async function recordStream(
  messages: AsyncIterable<TapMessage>,
  writer: RecordingWriter,
  limits: RecordLimits,
  options: { signal?: AbortSignal; onProgress?: (p: RecordProgress) => void; cancel?: () => void } = {},
): Promise<RecordResult> {
  const started = performance.now();
  let dropped = 0;
  const progress = (): RecordProgress => ({ count: writer.count, bytes: writer.bytes, dropped, elapsedMs: performance.now() - started });
  let stopReason: RecordStopReason | undefined;
  const stopWith = (reason: RecordStopReason): void => {
    stopReason ??= reason;
    options.cancel?.();
  };
  const timer = limits.durationMs !== undefined ? setLongTimeout(() => stopWith('duration'), limits.durationMs) : undefined;
  const onAbort = (): void => stopWith('aborted');
  options.signal?.addEventListener('abort', onAbort, { once: true });
  if (options.signal?.aborted) onAbort();
  try {
    for await (const msg of messages) {
      if (stopReason) break;
      if (msg.type === 'dropped') {
        dropped += msg.count;
      } else if (msg.type === 'history-end') {
        if (limits.stopAtHistoryEnd) {
          stopWith('history-end');
          break;
        }
      } else if (msg.type === 'event' && msg.event.kind === 'end') {
        await writer.write(exchangeFromEvent(msg.event));
        options.onProgress?.(progress());
        if (limits.limit !== undefined && writer.count >= limits.limit) stopWith('limit');
        else if (limits.maxBytes !== undefined && writer.bytes >= limits.maxBytes) stopWith('max-bytes');
        if (stopReason) break;
      }
    }
  } catch (err) {
    // A cancel we asked for surfaces as a CANCELLED error from grpc-js: that is a normal stop.
    if (!stopReason) throw err;
  } finally {
    timer?.clear();
    options.signal?.removeEventListener('abort', onAbort);
  }
  return { ...progress(), reason: stopReason ?? 'stream-end' };
}
