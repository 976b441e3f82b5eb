/**
 * What a tap subscriber asks a sidecar for (the `Observe` request of the tap service) and
 * the messages it gets back. Shared by the sidecar, the tap API and the CLI.
 */
import type { TapEvent } from './events.js';

/** One condition. `negate` inverts it (`--not`). */
export type TapFilter =
  | { field: 'method' | 'scheme' | 'authority' | 'pathPrefix' | 'pathRegex' | 'src' | 'dst'; value: string; negate?: boolean }
  | { field: 'header'; name: string; value: string; negate?: boolean }
  /** `5xx`, `4xx`, or an exact code like `404`. */
  | { field: 'status'; value: string; negate?: boolean }
  /** gRPC status code number or name (`UNAVAILABLE`). */
  | { field: 'grpcStatus'; value: string; negate?: boolean }
  | { field: 'minLatencyMs'; value: number; negate?: boolean }
  /** Destination workload / namespace (`--to`, `--to-namespace`), e.g. `deploy/emoji`. */
  | { field: 'dstWorkload' | 'dstNamespace'; value: string; negate?: boolean };

/** AND within a match; OR across `matches` (an empty list matches everything). */
export interface TapRequest {
  matches: TapFilter[][];
  /** Ask for bodies (needs a grant allowing them, or local trust). */
  bodies: boolean;
  /** History: exchanges from the flight recorder ended within the last `sinceMs`. */
  sinceMs?: number;
  /** History: the last N exchanges from the flight recorder. */
  last?: number;
  /** With history: keep streaming live events afterwards (default: true without history). */
  follow?: boolean;
  /**
   * Only `end` events (`record`, `top`: an `end` holds all a `req` and an `rsp` would): the sidecar
   * makes no `req`/`rsp` messages for this tap, and decides its filter and rate limit on the `end`.
   * A firehose `record` then costs the sidecar about half the JSON and the client half the parsing.
   * Older sidecars ignore it and send all three kinds (readers keep only the `end`s anyway).
   */
  endsOnly?: boolean;
  /** Most exchanges per second this subscriber gets (the rest are dropped and counted). */
  maxRps?: number;
  /** Headers to reveal despite the redaction list (needs a grant allowing it). */
  revealHeaders?: string[];
  /** A grant signed by the tap API (absent for trusted local callers). */
  grant?: string;
  /**
   * A token the subscriber picks (random, at most FLUSH_TOKEN_MAX_CHARS) to ask later, with the
   * `Flush` call, for a `flushed` marker in this stream (`meshtap run` knowing CMD's last events arrived).
   */
  flushToken?: string;
}

/** One message of the tap stream: an event, or a notice that events were lost. */
export type TapMessage =
  | { type: 'event'; event: TapEvent }
  /** Events dropped for this subscriber since the last notice (slow consumer / rate limit). */
  | { type: 'dropped'; count: number; reason: 'queue-full' | 'rate-limit' }
  /**
   * History replay is complete; live events follow (if following). `historyStartMs`: the
   * recorder holds every exchange since then and nothing older (so `--since 1h` on a younger
   * recorder can say where its history begins); `recorderBodies`: whether it keeps bodies.
   */
  | { type: 'history-end'; historyStartMs?: number; recorderBodies?: boolean }
  /**
   * Answer to a `Flush` call naming this stream's `flushToken`: every event of an exchange the
   * sidecar had seen when the call arrived came before this message (or was counted in a `dropped`).
   */
  | { type: 'flushed'; token: string };
