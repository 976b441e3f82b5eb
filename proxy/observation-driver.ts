/**
 * The observation of one connection, behind the engine seam (`engine.ts`): it reads a view of
 * the bytes an engine already forwarded, detects the protocol, runs the HTTP/1 or HTTP/2
 * observer and reports exchanges to the exchange sink (events, metrics, flight recorder).
 *
 * Its state is explicit, and every change goes through `moveTo` (logged `from -> to` with
 * MESHTAP_TRACE=detect):
 *
 *     detecting ──► h1 | h2 ──► unobserved      (observer gave up, upgraded, or threw)
 *         └───────► opaque                      (not HTTP, detection timed out, server spoke first)
 *     any ────────► closed                      (both sides closed)
 *
 * Nothing it does can break the connection: an observer that throws costs this connection's
 * observation, never its bytes (the engine forwarded them before calling).
 */
import { createLogger } from '../common/index.js';
import { detectProtocol, DETECT_MAX_BYTES } from './detect.js';
import type { CloseReason, ConnectionInfo, ConnectionObservation } from './engine.js';
import { createExchangeSink, type ObservationServices } from './exchange-events.js';
import { createH2Observer } from './h2/index.js';
import { createHttp1Observer } from './http1/index.js';
import type { ConnectionObserver, CreateObserver, GiveUpReason, ObserverLimits } from './observe.js';

const log = createLogger('proxy.conn');
const detectLog = createLogger('detect');

export interface ObservationOptions {
  detectTimeoutMs: number;
  limits: ObserverLimits;
  /** The observers' clock in ms (default performance.now; the native engine passes its records' times). */
  now?: () => number;
  /**
   * The engine's chunks are views into memory it reuses after each call (the native engine's
   * batches): chunks kept while detecting are then copied. The js engine's are Node's own.
   */
  chunksAreViews?: boolean;
}

export type ObservationState = 'detecting' | 'h1' | 'h2' | 'opaque' | 'unobserved' | 'closed';

/** The observers' clock, shared by every connection. */
const performanceNow = (): number => performance.now();

/**
 * Most server bytes held (by reference) while the client has not yet shown its protocol. An
 * HTTP/2 server's connection preface (SETTINGS, maybe WINDOW_UPDATE) is far smaller; a server
 * that says more before the client speaks is not HTTP, and the connection goes opaque.
 */
const SERVER_FIRST_MAX_BYTES = 16 * 1024;

/** Opens the observation of one connection (an `OpenObservation` once bound to services and options). */
export function createObservationDriver(
  info: ConnectionInfo,
  services: ObservationServices,
  options: ObservationOptions,
  onStop: () => void,
): ConnectionObservation {
  return new ObservationDriver(info, services, options, onStop);
}

class ObservationDriver implements ConnectionObservation {
  state: ObservationState = 'detecting';
  wantsBytes = true;
  private observer: ConnectionObserver | undefined;
  private detectChunks: Buffer[] | undefined = [];
  private detectLen = 0;
  private detectTimer: NodeJS.Timeout | undefined;
  // Server bytes that arrived before the client's bytes decided anything: HTTP/2 servers send
  // their SETTINGS on accept, which can beat the client's preface here. Already forwarded;
  // kept (by reference, bounded) only so an h2 observer can read them in order.
  private serverFirst: Buffer[] | undefined;
  private serverFirstLen = 0;

  constructor(
    private readonly info: ConnectionInfo,
    private readonly services: ObservationServices,
    private readonly options: ObservationOptions,
    private readonly onStop: () => void,
  ) {
    // Bytes are never held back, so the timeout only bounds how long a *partial* first message
    // (e.g. half a preface) keeps detection open. A client that has sent nothing yet (a pre-opened
    // keep-alive connection) stays detectable until its first bytes.
    this.detectTimer = setTimeout(() => {
      if (this.state === 'detecting' && this.detectLen > 0) {
        services.metrics.observerGaveUp('detect-timeout');
        this.decide('opaque', 'timeout');
      }
    }, options.detectTimeoutMs);
    this.detectTimer.unref();
  }

  clientData(chunk: Buffer): void {
    const o = this.observer;
    if (o !== undefined) {
      try {
        o.clientData(chunk);
      } catch (err) {
        this.observerThrew(err);
      }
    } else if (this.state === 'detecting') this.detectOn(chunk);
  }

  serverData(chunk: Buffer): void {
    const o = this.observer;
    if (o !== undefined) {
      try {
        o.serverData(chunk);
      } catch (err) {
        this.observerThrew(err);
      }
    } else if (this.state === 'detecting') {
      this.serverFirstLen += chunk.length;
      if (this.serverFirstLen > SERVER_FIRST_MAX_BYTES) this.decide('opaque', 'server spoke first');
      else (this.serverFirst ??= []).push(this.options.chunksAreViews ? Buffer.from(chunk) : chunk);
    }
  }

  clientEnd(): void {
    const o = this.observer;
    if (o !== undefined) {
      try {
        o.clientEnd();
      } catch (err) {
        this.observerThrew(err);
      }
    } else if (this.state === 'detecting') this.decide('opaque', 'client ended');
  }

  serverEnd(): void {
    const o = this.observer;
    if (o === undefined) return;
    try {
      o.serverEnd();
    } catch (err) {
      this.observerThrew(err);
    }
  }

  close(reason?: CloseReason): void {
    if (this.state === 'closed') return;
    this.stopDetecting();
    const o = this.observer;
    this.observer = undefined;
    if (o !== undefined) {
      try {
        o.close(reason);
      } catch (err) {
        this.observerThrew(err);
      }
    }
    this.moveTo('closed', reason);
  }

  /**
   * The one place the state changes. Going opaque or unobserved tells the engine, once, that
   * bytes are no longer wanted; at `closed` the engine already knows (it called `close`).
   */
  private moveTo(to: ObservationState, why?: string): void {
    const from = this.state;
    if (from === to || from === 'closed') return;
    this.state = to;
    if (detectLog.isTracing) detectLog.transition(from, to, why === undefined ? { conn: this.info.id } : { conn: this.info.id, why });
    if (to === 'opaque' || to === 'unobserved' || to === 'closed') {
      const wasWanting = this.wantsBytes;
      this.wantsBytes = false;
      if (wasWanting && to !== 'closed') this.onStop();
    }
  }

  private stopDetecting(): void {
    this.detectChunks = undefined;
    this.serverFirst = undefined;
    if (this.detectTimer) clearTimeout(this.detectTimer);
    this.detectTimer = undefined;
  }

  private detectOn(chunk: Buffer): void {
    const chunks = this.detectChunks!;
    if (this.options.chunksAreViews) chunk = Buffer.from(chunk);
    chunks.push(chunk);
    this.detectLen += chunk.length;
    const head = chunks.length === 1 ? chunk : Buffer.concat(chunks, Math.min(this.detectLen, DETECT_MAX_BYTES * 2));
    const d = detectProtocol(head.length > DETECT_MAX_BYTES ? head.subarray(0, DETECT_MAX_BYTES) : head);
    if (d !== 'need-more') this.decide(d);
  }

  private decide(detected: 'h1' | 'h2' | 'opaque', why?: string): void {
    const chunks = this.detectChunks ?? [];
    const fromServer = this.serverFirst;
    this.stopDetecting();
    // An HTTP/1 server never speaks first; a server-first protocol (SMTP's `EHLO x`) only looks like HTTP/1.
    const kind = detected === 'h1' && fromServer ? 'opaque' : detected;
    this.services.metrics.protocolDetected(kind);
    this.moveTo(kind, fromServer ? `${why ?? detected}, server spoke first` : why);
    if (kind === 'h1') this.startObserver(createHttp1Observer, chunks);
    else if (kind === 'h2') {
      this.startObserver(createH2Observer, chunks);
      for (const c of fromServer ?? []) this.serverData(c);
    }
  }

  private startObserver(create: CreateObserver, chunks: Buffer[]): void {
    const { info, services } = this;
    const sink = createExchangeSink(info, services, {
      onGiveUp: (reason: GiveUpReason) => {
        services.metrics.observerGaveUp(reason);
        log.debug('observer gave up', { conn: info.id, reason });
        this.stopObserver('gave up');
      },
      onUpgrade: () => this.stopObserver('upgraded'),
    });
    this.observer = create({ sink, limits: this.options.limits, now: this.options.now ?? performanceNow });
    for (const c of chunks) this.clientData(c);
  }

  /** An observer exception costs this connection's observation, nothing else. */
  private observerThrew(err: unknown): void {
    this.services.metrics.observerGaveUp('internal');
    log.warn('observer threw; connection continues unobserved', { conn: this.info.id, err: String(err) });
    this.stopObserver('observer threw');
  }

  private stopObserver(why: string): void {
    this.observer = undefined;
    this.moveTo('unobserved', why);
  }
}
