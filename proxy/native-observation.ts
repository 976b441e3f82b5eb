/**
 * Observation of one native-engine connection on the JS thread: protocol detection, then the
 * js HTTP/1 or HTTP/2 observer, fed from the record batches the C++ workers hand over.
 *
 * Part 1 of the native engine (issue 13): C++ forwards every connection; until its own
 * observers land, the bytes of connections worth observing reach these js observers in
 * batches, so every feature (tap, recorder, metrics) works under `--engine native`. The rules
 * are proxy/connection.ts's, read by the same observers; when this observer stops wanting
 * bytes (opaque, gave up, upgraded) `onDone` tells C++ to stop copying them.
 *
 * TEMPORARY: the detection part mirrors proxy/connection.ts until that file's observation
 * driver is split out (issue 12); then this file becomes a thin adapter over it.
 */
import { createLogger } from '../common/index.js';
import { detectProtocol, DETECT_MAX_BYTES } from './detect.js';
import { createExchangeSink, type ConnectionInfo, type ObservationServices } from './exchange-events.js';
import { createH2Observer } from './h2/index.js';
import { createHttp1Observer } from './http1/index.js';
import type { ConnectionObserver, CreateObserver, GiveUpReason, ObserverLimits } from './observe.js';

const log = createLogger('proxy.native');
const detectLog = createLogger('detect');

/** As proxy/connection.ts: server bytes kept while the client has not shown its protocol. */
const SERVER_FIRST_MAX_BYTES = 16 * 1024;

export interface NativeObservationOptions {
  detectTimeoutMs: number;
  limits: ObserverLimits;
  /** The time of the record being handled (performance.now() scale). */
  now: () => number;
  /** Observation of this connection is over for good: stop sending its bytes. */
  onDone: () => void;
}

export interface NativeObservation {
  data(fromClient: boolean, bytes: Buffer): void;
  end(fromClient: boolean): void;
  close(abortError: string | undefined): void;
}

export function observeNativeConnection(info: ConnectionInfo, services: ObservationServices, o: NativeObservationOptions): NativeObservation {
  const { metrics } = services;
  let observer: ConnectionObserver | undefined;
  let detecting = true;
  let isDone = false;
  let detectChunks: Buffer[] | undefined = [];
  let detectLen = 0;
  let detectTimer: NodeJS.Timeout | undefined;
  let serverFirst: Buffer[] | undefined;
  let serverFirstLen = 0;

  const done = () => {
    if (isDone) return;
    isDone = true;
    o.onDone();
  };
  const stopDetecting = () => {
    detecting = false;
    detectChunks = undefined;
    serverFirst = undefined;
    if (detectTimer) clearTimeout(detectTimer);
    detectTimer = undefined;
  };
  const observerThrew = (err: unknown) => {
    metrics.observerGaveUp('internal');
    log.warn('observer threw; connection continues unobserved', { conn: info.id, err: String(err) });
    observer = undefined;
    done();
  };
  const call = (f: (obs: ConnectionObserver) => void) => {
    if (observer === undefined) return;
    try {
      f(observer);
    } catch (err) {
      observerThrew(err);
    }
  };

  const startObserver = (create: CreateObserver, chunks: Buffer[]) => {
    const sink = createExchangeSink(info, services, {
      onGiveUp(reason: GiveUpReason) {
        metrics.observerGaveUp(reason);
        log.debug('observer gave up', { conn: info.id, reason });
        observer = undefined;
        done();
      },
      onUpgrade() {
        observer = undefined;
        done();
      },
    });
    observer = create({ sink, limits: o.limits, now: o.now });
    for (const c of chunks) call((obs) => obs.clientData(c));
  };

  const decide = (detected: 'h1' | 'h2' | 'opaque', why?: string) => {
    const chunks = detectChunks ?? [];
    const fromServer = serverFirst;
    stopDetecting();
    const kind = detected === 'h1' && fromServer ? 'opaque' : detected;
    metrics.protocolDetected(kind);
    if (detectLog.isTracing) detectLog.debug(`detecting -> ${kind}`, { conn: info.id, why: fromServer ? `${why ?? detected}, server spoke first` : why });
    if (kind === 'h1') startObserver(createHttp1Observer, chunks);
    else if (kind === 'h2') {
      startObserver(createH2Observer, chunks);
      for (const c of fromServer ?? []) call((obs) => obs.serverData(c));
    } else done();
  };

  const detectOn = (chunk: Buffer) => {
    detectChunks!.push(chunk);
    detectLen += chunk.length;
    const head = detectChunks!.length === 1 ? chunk : Buffer.concat(detectChunks!, Math.min(detectLen, DETECT_MAX_BYTES * 2));
    const d = detectProtocol(head.length > DETECT_MAX_BYTES ? head.subarray(0, DETECT_MAX_BYTES) : head);
    if (d !== 'need-more') decide(d);
  };

  detectTimer = setTimeout(() => {
    if (detecting && detectLen > 0) {
      metrics.observerGaveUp('detect-timeout');
      decide('opaque', 'timeout');
    }
  }, o.detectTimeoutMs);
  detectTimer.unref();

  return {
    data(fromClient, view) {
      if (observer !== undefined) {
        // A view into the batch: the observers copy what they keep (heads, captures, partial
        // frames), so no copy here; detection below keeps its chunks, so it copies them.
        if (fromClient) call((obs) => obs.clientData(view));
        else call((obs) => obs.serverData(view));
      } else if (detecting) {
        const bytes = Buffer.from(view);
        if (fromClient) detectOn(bytes);
        else {
          serverFirstLen += bytes.length;
          if (serverFirstLen > SERVER_FIRST_MAX_BYTES) decide('opaque', 'server spoke first');
          else (serverFirst ??= []).push(bytes);
        }
      }
    },
    end(fromClient) {
      if (observer !== undefined) call((obs) => (fromClient ? obs.clientEnd() : obs.serverEnd()));
      else if (detecting && fromClient) decide('opaque', 'client ended');
    },
    close(abortError) {
      stopDetecting();
      call((obs) => obs.close(abortError));
      observer = undefined;
    },
  };
}
