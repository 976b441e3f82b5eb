/**
 * Which recorded response answers a request: exchanges keyed by method + path (with query),
 * plus a SHA-256 of the request body with `--match body`. Repeated requests for one key
 * cycle through its recorded responses in recorded order.
 */
import { createHash } from 'node:crypto';
import { isUnobserved } from '../tap-protocol/index.js';
import { decodeBody, type RecordedExchange } from './format.js';
import { joinGrpcFrames } from './grpc-frames.js';
import { asRecorded, redactedParamNames } from './redacted-query.js';
import { sortByStart } from './replay-schedule.js';

export type MockMatch = 'default' | 'body';

/** SHA-256 (hex) of a request body as it crosses the wire (gRPC: the length-prefixed stream). */
export function bodyHash(bytes: Buffer): string {
  return createHash('sha256').update(bytes).digest('hex');
}

/** The request body bytes of a recorded exchange, as they crossed the wire. */
export function recordedRequestBytes(ex: RecordedExchange): Buffer {
  return ex.protocol === 'grpc' ? joinGrpcFrames(ex.requestMessages ?? []) : decodeBody(ex.requestBody);
}

function keyOf(method: string, path: string, hash?: string): string {
  return `${method.toUpperCase()} ${path}${hash ? ` #${hash}` : ''}`;
}

export interface MockIndex {
  /** The next recorded exchange for this request, or undefined when none matches. */
  next(method: string, path: string, body?: Buffer): RecordedExchange | undefined;
  readonly size: number;
}

export function createMockIndex(exchanges: readonly RecordedExchange[], match: MockMatch = 'default'): MockIndex {
  const byKey = new Map<string, { list: RecordedExchange[]; at: number }>();
  // Parameters recorded as [redacted] match any value (the recording cannot say which was sent).
  const redacted = redactedParamNames(exchanges.map((ex) => ex.path));
  for (const ex of sortByStart(exchanges)) {
    if (ex.status === undefined && ex.grpcStatus === undefined) continue; // no response was recorded
    // The server never processed it (its gRPC 14 is the client's view, not an answer); the
    // client's retry, when it made one, is an exchange of its own.
    if (ex.unprocessed !== undefined) continue;
    // Its response was not seen whole (the observer gave up on the connection): not an answer to give.
    if (isUnobserved(ex.error, ex.responseComplete === true, ex.status)) continue;
    const key = keyOf(ex.method, ex.path, match === 'body' ? bodyHash(recordedRequestBytes(ex)) : undefined);
    const entry = byKey.get(key);
    if (entry) entry.list.push(ex);
    else byKey.set(key, { list: [ex], at: 0 });
  }
  return {
    size: byKey.size,
    next(method, path, body) {
      const hash = match === 'body' ? bodyHash(body ?? Buffer.alloc(0)) : undefined;
      const entry = byKey.get(keyOf(method, path, hash)) ?? (redacted ? byKey.get(keyOf(method, asRecorded(path, redacted), hash)) : undefined);
      if (!entry) return undefined;
      const ex = entry.list[entry.at % entry.list.length];
      entry.at++;
      return ex;
    },
  };
}
