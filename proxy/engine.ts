/**
 * The seam between an engine and observation: the contract a second engine implements.
 *
 * An *engine* accepts connections on listeners described as data (`ListenerSpec`), connects
 * upstream and forwards bytes both ways (backpressure, half-close, resets, TCP counters). It
 * knows nothing of HTTP. *Observation* (detection, observers, events, metrics per exchange) is
 * one `ConnectionObservation` per connection, opened by the engine through `OpenObservation`.
 * Two engines implement the forwarding side and share the observation side unchanged:
 * - `js`: `listeners.ts` (accept) + `forwarder.ts` (net sockets);
 * - `native`: `native/` (C++ on its own thread), handing forwarded bytes to the same
 *   observation through its event ring.
 * The observation side is `observation-driver.ts` (`createObservationDriver`).
 *
 * What an engine promises, per accepted connection:
 * 1. It makes a `ConnectionInfo` (`id` unique in the process) and opens at most one observation
 *    with `open(info, onStop)` (none when observation is off).
 * 2. It forwards first: every chunk is written on before it is handed over, and a slow or failing
 *    observation never delays or changes a byte.
 * 3. `clientData(chunk)` / `serverData(chunk)` for every chunk forwarded, in order per direction.
 *    Observers copy what they keep; the driver keeps chunks by reference while detecting, unless
 *    the engine says its chunks are views it reuses (`ObservationOptions.chunksAreViews`).
 * 4. `clientEnd()` / `serverEnd()` when that side half-closed (FIN), after its last data.
 * 5. `close(reason)` once, after both sides are closed; `reason` says how it ended abnormally.
 * 6. Once `onStop` was called (or `wantsBytes` is false) it may stop handing bytes over: the
 *    connection went opaque, its observer gave up, or it upgraded. It costs nothing to keep
 *    calling; a native engine uses it to stop copying bytes to JS.
 * TCP counters (`metrics.tcpStats`, or `metrics.setTcpSource`) and `upstreamConnectError` are the
 * engine's to count. Starting an engine on its specs yields a `RunningEngine`.
 */
import type { FlightRecorder } from './flight-recorder.js';
import type * as net from 'node:net';
import type { ProxyDirection } from '../tap-protocol/index.js';
import type { ConnectionObserver } from './observe.js';

/** Which side of the pod a connection is on. One name everywhere (the metric label is made in metrics.ts). */
export type Direction = ProxyDirection;

export interface HostPort {
  host: string;
  port: number;
}

/** Where an outbound connection was really going (BPF's SO_ORIGINAL_DST, or a test's table). */
export type OriginalDstLookup = (socket: net.Socket) => HostPort | undefined;

/**
 * A listener as data, so that whichever engine runs owns accepting:
 * - `forward`: explicit `--forward LISTEN=TARGET`, every connection goes to `target`;
 * - `inbound`: transparent inbound (sk_lookup hands the pod's connections to it): the original
 *   destination is the accepted socket's local address, the app is reached on `target.host` at
 *   that port; a connection to the listener's own port is refused (a loop);
 * - `outbound`: transparent outbound: the original destination comes from `lookup`.
 */
export type ListenerSpec =
  | { kind: 'forward'; proxy: Direction; listen: HostPort; target: HostPort & { /** connect from this address (a local sidecar's own loopback address) */ localAddress?: string } }
  | { kind: 'inbound'; proxy: 'in'; listen: HostPort; target: { host: string } }
  | { kind: 'outbound'; proxy: 'out'; listen: HostPort; lookup: OriginalDstLookup };

/** What a started engine reports: one line per listener (printed by `meshtap proxy`). */
export interface ListenerInfo {
  kind: ListenerSpec['kind'];
  proxy: Direction;
  /** The bound `ip:port`. */
  address: string;
  /** `forward` only: where it forwards. */
  target?: string;
}

export interface RunningEngine {
  readonly listeners: ListenerInfo[];
  /** Stops accepting and drops every open connection. */
  close(): void;
  /**
   * Hands observation everything the engine still holds (the native engine batches records
   * between doorbells), so that a `/metrics` scrape reflects every byte forwarded before it.
   */
  flush?(): void;
  /**
   * The flight recorder history is read from, when the engine keeps one of its own (the native
   * engine's C++ recorder, merged with the js one): the sidecar's tap service queries this.
   */
  readonly recorder?: FlightRecorder;
}

/** One accepted connection as observation and events see it. */
export interface ConnectionInfo {
  id: number;
  proxy: Direction;
  /** `ip:port` of the peer that connected. */
  src: string;
  /** The original destination (`ip:port`) shown in events and metric labels. */
  dst: string;
}

/**
 * Why a connection ended abnormally, as the engine saw it; open exchanges end with it as their
 * `error`. `observer-lost`: the engine could not hand over every byte (its batch overflowed);
 * `connection-closed`: the engine shut down with the connection open.
 */
export type CloseReason =
  | 'reset'
  | 'client-error'
  | 'upstream-error'
  | 'upstream-connect-failed'
  | 'idle-timeout'
  | 'observer-lost'
  | 'connection-closed';

/** What an engine hands its forwarded bytes to. Never throws; every call is cheap. */
export interface ConnectionObservation extends ConnectionObserver {
  /** False once observation of this connection is over (see rule 6 above). */
  readonly wantsBytes: boolean;
  close(reason?: CloseReason): void;
}

/** Opens the observation of one connection; `onStop` is called once when it stops wanting bytes. */
export type OpenObservation = (info: ConnectionInfo, onStop: () => void) => ConnectionObservation;
