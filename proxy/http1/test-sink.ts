/**
 * Test support for the HTTP/1 observer's tests: a recording `ExchangeSink` (a plain test double
 * of the sink interface, not of our code) and a driver that feeds a scripted conversation.
 *
 * Exchanges are mutated in place by observers, so every call is recorded as a snapshot taken
 * at call time; that is what lets tests assert *when* a field became known.
 */
import type { HeaderList } from '../../tap-protocol/index.js';
import {
  createBodyCapture,
  DEFAULT_OBSERVER_LIMITS,
  type BodyCapture,
  type ConnectionObserver,
  type Exchange,
  type ExchangeSink,
  type GiveUpReason,
  type ObserverLimits,
} from '../observe.js';
import { createHttp1Observer } from './observer.js';

export interface BodySnapshot {
  size: number;
  captured: number;
  truncated: boolean;
  /** Captured bytes as latin1 (one char per byte). */
  data: string;
}

export interface ExchangeSnapshot {
  stream: number;
  protocol: string;
  method: string;
  scheme: string;
  authority: string;
  path: string;
  requestHeaders: HeaderList;
  requestTrailers: HeaderList;
  status: number;
  responseHeaders: HeaderList;
  trailers: HeaderList;
  requestBytes: number;
  responseBytes: number;
  startMs: number;
  responseMs: number;
  endMs: number;
  error?: string;
  requestBody?: BodySnapshot;
  responseBody?: BodySnapshot;
}

export type Recorded =
  | { call: 'requestHead' | 'responseHead' | 'end'; ex: ExchangeSnapshot }
  | { call: 'giveUp'; reason: GiveUpReason }
  | { call: 'upgraded' };

function snapshotBody(c: BodyCapture | undefined): BodySnapshot | undefined {
  if (c === undefined) return undefined;
  return { size: c.size, captured: c.captured, truncated: c.truncated, data: Buffer.concat(c.chunks).toString('latin1') };
}

function snapshot(ex: Exchange): ExchangeSnapshot {
  const s: ExchangeSnapshot = {
    stream: ex.stream,
    protocol: ex.protocol,
    method: ex.method,
    scheme: ex.scheme,
    authority: ex.authority,
    path: ex.path,
    requestHeaders: ex.requestHeaders.map(([n, v]) => [n, v]),
    requestTrailers: ex.requestTrailers.map(([n, v]) => [n, v]),
    status: ex.status,
    responseHeaders: ex.responseHeaders.map(([n, v]) => [n, v]),
    trailers: ex.trailers.map(([n, v]) => [n, v]),
    requestBytes: ex.requestBytes,
    responseBytes: ex.responseBytes,
    startMs: ex.startMs,
    responseMs: ex.responseMs,
    endMs: ex.endMs,
  };
  if (ex.error !== undefined) s.error = ex.error;
  const rq = snapshotBody(ex.requestBody);
  if (rq !== undefined) s.requestBody = rq;
  const rs = snapshotBody(ex.responseBody);
  if (rs !== undefined) s.responseBody = rs;
  return s;
}

export interface RecordingSink extends ExchangeSink {
  calls: Recorded[];
}

/** A sink that records snapshots; with `captureLimit` it asks for both bodies. */
export function createRecordingSink(captureLimit?: number): RecordingSink {
  const calls: Recorded[] = [];
  return {
    calls,
    requestHead(ex) {
      if (captureLimit !== undefined) {
        ex.requestBody = createBodyCapture(captureLimit);
        ex.responseBody = createBodyCapture(captureLimit);
      }
      calls.push({ call: 'requestHead', ex: snapshot(ex) });
    },
    responseHead(ex) {
      calls.push({ call: 'responseHead', ex: snapshot(ex) });
    },
    end(ex) {
      calls.push({ call: 'end', ex: snapshot(ex) });
    },
    giveUp(reason) {
      calls.push({ call: 'giveUp', reason });
    },
    upgraded() {
      calls.push({ call: 'upgraded' });
    },
  };
}

/** One step of a scripted conversation. */
export type Step =
  | { c: string | Buffer }
  | { s: string | Buffer }
  | { clientEnd: true }
  | { serverEnd: true }
  | { close: string | undefined };

export interface RunOptions {
  captureLimit?: number;
  limits?: Partial<ObserverLimits>;
  /** Splits each data step's bytes into pieces; default: one piece. */
  split?: (bytes: Buffer, stepIndex: number) => Buffer[];
}

export interface RunResult {
  calls: Recorded[];
  observer: ConnectionObserver;
}

/** Feeds `steps` to a fresh observer; a monotonic counter stands in for the clock. */
export function runConversation(steps: Step[], options: RunOptions = {}): RunResult {
  const sink = createRecordingSink(options.captureLimit);
  let clock = 0;
  const observer = createHttp1Observer({
    sink,
    limits: { ...DEFAULT_OBSERVER_LIMITS, ...options.limits },
    now: () => ++clock,
  });
  steps.forEach((step, i) => {
    if ('c' in step || 's' in step) {
      const raw = 'c' in step ? step.c : step.s;
      const bytes = typeof raw === 'string' ? Buffer.from(raw, 'latin1') : raw;
      const pieces = options.split ? options.split(bytes, i) : [bytes];
      for (const piece of pieces) {
        // A fresh copy, scribbled over after the call: proves the observer keeps no views.
        const view = Buffer.from(piece);
        if ('c' in step) observer.clientData(view);
        else observer.serverData(view);
        view.fill(0xee);
      }
    } else if ('clientEnd' in step) observer.clientEnd();
    else if ('serverEnd' in step) observer.serverEnd();
    else observer.close(step.close);
  });
  return { calls: sink.calls, observer };
}

/** Calls with clock readings removed, for comparing runs that read the clock differently. */
export function withoutTimes(calls: Recorded[]): unknown[] {
  return calls.map((r) => {
    if (!('ex' in r)) return r;
    const { startMs: _s, responseMs: _r, endMs: _e, ...rest } = r.ex;
    return { call: r.call, ex: rest };
  });
}
