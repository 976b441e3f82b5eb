/**
 * A recorded gRPC exchange (an `end` as `record` writes it) with the fields a test does not care
 * about filled in; `over` sets the rest.
 */
import type { RecordedExchange } from '../../record/index.js';

export function recordedCall(over: Partial<RecordedExchange>): RecordedExchange {
  return {
    kind: 'end',
    id: '1.1',
    ts: '2026-12-07T16:00:00.000Z',
    proxy: 'in',
    src: '10.0.0.1:5000',
    dst: '10.0.0.2:8080',
    protocol: 'grpc',
    method: 'POST',
    scheme: 'http',
    authority: 'api',
    path: '/pkg.Svc/Call',
    durationMs: 1,
    ...over,
  };
}
