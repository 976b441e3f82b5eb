/**
 * Fan-out of one tap to every pod of its target: one sidecar stream per pod, merged in arrival
 * order into one line stream. A pod's stream ending (sidecar gone, grant refused) ends only its
 * part (the client gets a `notice`); history markers are merged so the client sees one
 * `history-end`, after every live part has finished its history.
 *
 * Membership: a live tap follows its target (`update` with the pods it means now), as pods come
 * and go during a rollout: new pods are tapped from then on (live only, no history) and the
 * client is told ("pod web-3 joined; tapping 3 pods"); pods that left, or whose sidecar ended
 * the stream, are reported ("pod web-2 went away; still tapping 1 pod"). A live tap stays open
 * with no pods, waiting for its target's next pod; a history-only tap ends with its parts.
 *
 * The merge never waits on the client: `emit` must not block (the server drops a slow client
 * instead), so a stalled reader cannot stall a sidecar's stream.
 */
import type * as grpc from '@grpc/grpc-js';
import { GRPC_STATUS, isSidecarStopped, loadGrpc, openTapStream, type TapStream, type TapMessage, type TapRequest } from '../../tap-protocol/index.js';
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
  /**
   * Every part has ended (not called after `cancel`), with how each ended. A live tap whose
   * pods all went away is not done (it waits for its target's next pod); one whose parts all
   * failed (unreachable sidecars, refused grants) is.
   */
  onDone(ends: FanOutPartEnd[]): void;
  /**
   * While a part sends history: undefined if the client has room for more, else a promise that
   * settles when it has. The part stops reading meanwhile, so HTTP/2 flow control holds its
   * sidecar back: history comes as fast as a recorder can be read, and a client that reads it
   * at a terminal's pace must be waited for, not dropped.
   */
  room?(): Promise<void> | undefined;
}

export interface FanOut {
  /**
   * The target's pods now (by name); `makePart` builds a part for a pod that joined. Pods not
   * in `pods` are stopped and reported as gone. Ignored for history-only taps.
   */
  update(pods: Array<{ pod: string; address: string }>, makePart: (pod: { pod: string; address: string }) => FanOutPart): void;
  /** Stops every part (client went away or was dropped). Idempotent. */
  cancel(): void;
}

/** Splits a tap's rate across pods like Linkerd (floor, at least 1 per pod). */
export function splitRate(maxRps: number, pods: number): number {
  return Math.max(1, Math.floor(maxRps / Math.max(1, pods)));
}

type PartState = { part: FanOutPart; ended: boolean; historyEnd: boolean; gone: boolean; stream: TapStream | undefined; error?: string };

/** Starts streams to every part. */
export function startFanOut(options: FanOutOptions): FanOut {
  let cancelled = false;
  let historyEmitted = false;
  let historySeen = false;
  // Merged history facts: complete from the latest pod's start; bodies only if every pod keeps them.
  let historyStartMs: number | undefined;
  let recorderBodies: boolean | undefined;
  const live = options.parts.length === 0 || options.parts.some((p) => isLive(p.request));
  const state: PartState[] = options.parts.map((p) => ({ part: p, ended: false, historyEnd: false, gone: false, stream: undefined }));
  const tapping = (): number => state.filter((s) => !s.ended).length;
  const podCount = (n: number): string => `${n} pod${n === 1 ? '' : 's'}`;

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

  const onMessage = (s: PartState, msg: TapMessage): void => {
    if (msg.type === 'history-end') {
      s.historyEnd = true;
      historySeen = true;
      if (typeof msg.historyStartMs === 'number') historyStartMs = Math.max(historyStartMs ?? 0, msg.historyStartMs);
      if (typeof msg.recorderBodies === 'boolean') recorderBodies = (recorderBodies ?? true) && msg.recorderBodies;
      maybeHistoryEnd();
      return;
    }
    // The pod is the one dialed (from Kubernetes or its registration; its grant names it), whatever the
    // sidecar wrote: a compromised pod's sidecar could otherwise forge another pod's events and ids (review9).
    if (msg.type === 'event' && msg.event) msg.event.pod = s.part.pod;
    options.emit(msg);
  };

  const wentAway = (s: PartState, why = ''): void => {
    options.emit({ type: 'notice', pod: s.part.pod, message: `pod ${s.part.pod} went away${why}; still tapping ${podCount(tapping())}` });
  };

  const run = async (s: PartState): Promise<void> => {
    try {
      s.stream = openTapStream(s.part.address, s.part.request);
      for await (const msg of s.stream.messages) {
        if (cancelled || s.gone) break;
        onMessage(s, msg);
        if (!s.historyEnd && options.room) {
          // (A live-only part never ends a history: room() then answers at once.)
          const wait = options.room();
          if (wait) await wait;
        }
      }
      s.ended = true;
      // A live stream the sidecar ended on its own (it shut down): say so, the others go on.
      if (!cancelled && !s.gone && live) wentAway(s);
    } catch (err) {
      s.ended = true;
      if (cancelled || s.gone) return;
      // A sidecar shutting down ends its streams with MT_SIDECAR_STOPPED (or, cut short, cancels
      // them): the pod went away. Anything else (unreachable,
      // grant refused) is a failure, told as a notice while another part lives, else by onDone.
      if (live && (isSidecarStopped(err) || (err as Partial<grpc.ServiceError>).code === GRPC_STATUS.CANCELLED)) wentAway(s);
      else {
        s.error = describeStreamError(err);
        if (state.some((x) => x !== s && !x.ended)) options.emit({ type: 'notice', pod: s.part.pod, message: `pod ${s.part.pod}: tap stream ended: ${s.error}` });
      }
    } finally {
      s.ended = true;
      if (!cancelled) {
        maybeHistoryEnd();
        const over = state.filter((x) => !x.gone);
        if (over.every((x) => x.ended) && (!live || (over.length > 0 && over.every((x) => x.error !== undefined)))) {
          options.onDone(over.map((x) => ({ pod: x.part.pod, address: x.part.address, ...(x.error !== undefined ? { error: x.error } : {}) })));
        }
      }
    }
  };

  for (const s of state) void run(s);
  return {
    update(pods, makePart) {
      if (cancelled || !live) return;
      const now = new Map(pods.map((p) => [p.pod, p]));
      for (const s of state) {
        if (s.gone) continue;
        const p = now.get(s.part.pod);
        // Gone from the target, or back at another address (a restarted local sidecar).
        if (!p || (s.ended && p.address !== s.part.address) || (!s.ended && p.address !== s.part.address)) {
          s.gone = true;
          const wasLive = !s.ended;
          s.ended = true;
          s.stream?.cancel();
          if (wasLive) wentAway(s);
        }
      }
      for (const p of pods) {
        if (state.some((s) => !s.gone && s.part.pod === p.pod)) continue;
        const part = makePart(p);
        const s: PartState = { part, ended: false, historyEnd: true, gone: false, stream: undefined };
        state.push(s);
        options.emit({ type: 'notice', pod: p.pod, message: `pod ${p.pod} joined; tapping ${podCount(tapping())}` });
        void run(s);
      }
      // Bounded: forget parts that are over.
      for (let i = state.length - 1; i >= 0; i--) if (state[i]!.gone) state.splice(i, 1);
    },
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
    const name = loadGrpc().status[e.code] ?? String(e.code);
    return `${name}${e.details ? `: ${e.details}` : ''}`;
  }
  return err instanceof Error ? err.message : String(err);
}
