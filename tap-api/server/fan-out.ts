/**
 * Fan-out of one tap to every pod of its target: one sidecar stream per pod, merged in arrival
 * order into one line stream. A pod's stream ending (sidecar gone, grant refused) ends only its
 * part (the client gets a `notice`); history markers are merged so the client sees one
 * `history-end`, after every live part has finished its history.
 *
 * The merge never waits on the client: `emit` must not block (the server drops a slow client
 * instead), so a stalled reader cannot stall a sidecar's stream.
 */
import * as grpc from '@grpc/grpc-js';
import { openTapStream, type TapStream, type TapMessage, type TapRequest } from '../../tap-protocol/index.js';
import type { TapApiLine } from './wire.js';

export interface FanOutPart {
  pod: string;
  /** The sidecar's tap gRPC address. */
  address: string;
  /** The request for this pod (its grant and its share of the rate). */
  request: TapRequest;
}

/** How one pod's part ended: `error` says why when the stream failed (absent: the sidecar ended it). */
export interface FanOutPartEnd {
  pod: string;
  address: string;
  error?: string;
}

export interface FanOutOptions {
  parts: FanOutPart[];
  emit(line: TapApiLine): void;
  /** Every part has ended (not called after `cancel`), with how each ended. */
  onDone(ends: FanOutPartEnd[]): void;
}

export interface FanOut {
  /** Stops every part (client went away or was dropped). Idempotent. */
  cancel(): void;
}

/** Splits a tap's rate across pods like Linkerd (floor, at least 1 per pod). */
export function splitRate(maxRps: number, pods: number): number {
  return Math.max(1, Math.floor(maxRps / Math.max(1, pods)));
}

/** Starts streams to every part. */
export function startFanOut(options: FanOutOptions): FanOut {
  let cancelled = false;
  let historyEmitted = false;
  let historySeen = false;
  // Merged history facts: complete from the latest pod's start; bodies only if every pod keeps them.
  let historyStartMs: number | undefined;
  let recorderBodies: boolean | undefined;
  const state = options.parts.map((p) => ({ part: p, ended: false, historyEnd: false, stream: undefined as TapStream | undefined, error: undefined as string | undefined }));

  const maybeHistoryEnd = (): void => {
    if (historyEmitted || !historySeen || cancelled) return;
    if (state.every((s) => s.ended || s.historyEnd)) {
      historyEmitted = true;
      options.emit({
        type: 'history-end',
        ...(historyStartMs !== undefined ? { historyStartMs } : {}),
        ...(recorderBodies !== undefined ? { recorderBodies } : {}),
      });
    }
  };

  const onMessage = (s: (typeof state)[number], msg: TapMessage): void => {
    if (msg.type === 'history-end') {
      s.historyEnd = true;
      historySeen = true;
      if (typeof msg.historyStartMs === 'number') historyStartMs = Math.max(historyStartMs ?? 0, msg.historyStartMs);
      if (typeof msg.recorderBodies === 'boolean') recorderBodies = (recorderBodies ?? true) && msg.recorderBodies;
      maybeHistoryEnd();
      return;
    }
    if (msg.type === 'event' && msg.event && !msg.event.pod) msg.event.pod = s.part.pod;
    options.emit(msg);
  };

  const run = async (s: (typeof state)[number]): Promise<void> => {
    try {
      s.stream = openTapStream(s.part.address, s.part.request);
      for await (const msg of s.stream.messages) {
        if (cancelled) break;
        onMessage(s, msg);
      }
      // A live stream the sidecar ended on its own (it shut down): say so, the others go on.
      if (!cancelled && isLive(s.part.request) && state.some((x) => x !== s && !x.ended)) {
        options.emit({ type: 'notice', pod: s.part.pod, message: `pod ${s.part.pod}: tap stream ended by the sidecar` });
      }
    } catch (err) {
      s.error = describeStreamError(err);
      // The last part's failure is told by onDone's caller (as the reason the whole tap ends).
      if (!cancelled && state.some((x) => x !== s && !x.ended)) options.emit({ type: 'notice', pod: s.part.pod, message: `pod ${s.part.pod}: tap stream ended: ${s.error}` });
    } finally {
      s.ended = true;
      if (!cancelled) {
        maybeHistoryEnd();
        if (state.every((x) => x.ended)) options.onDone(state.map((x) => ({ pod: x.part.pod, address: x.part.address, ...(x.error !== undefined ? { error: x.error } : {}) })));
      }
    }
  };

  for (const s of state) void run(s);
  return {
    cancel() {
      if (cancelled) return;
      cancelled = true;
      for (const s of state) s.stream?.cancel();
    },
  };
}

/** Whether a request follows live traffic (rather than only asking for history). */
export function isLive(r: Pick<TapRequest, 'last' | 'sinceMs' | 'follow'>): boolean {
  return (r.last === undefined && r.sinceMs === undefined) || r.follow === true;
}

function describeStreamError(err: unknown): string {
  const e = err as Partial<grpc.ServiceError>;
  if (typeof e.code === 'number') {
    const name = grpc.status[e.code] ?? String(e.code);
    return `${name}${e.details ? `: ${e.details}` : ''}`;
  }
  return err instanceof Error ? err.message : String(err);
}
