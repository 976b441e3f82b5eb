import { describe, expect, it } from 'vitest';
import type { RecordedExchange } from './format.js';
import { recordedCall } from '../test/support/recorded-exchange.js';
import { createMockIndex } from './mock-index.js';

const call = (over: Partial<RecordedExchange>): RecordedExchange => recordedCall({ path: '/unproc.Svc/Refused', ...over });

describe('mock index', () => {
  it('regression (unproc13): a stream the server never processed is no recorded answer; the retry is served every time', () => {
    // grpc-js: the first attempt refused (RST_STREAM REFUSED_STREAM, gRPC 14 as its client reports), the transparent retry answered.
    const refused = call({ id: '1.1', ts: '2026-12-07T16:00:00.000Z', grpcStatus: 14, error: 'reset', unprocessed: 'refused' });
    const goaway = call({ id: '1.3', ts: '2026-12-07T16:00:00.001Z', grpcStatus: 14, error: 'goaway', unprocessed: 'goaway' });
    const answered = call({ id: '2.1', ts: '2026-12-07T16:00:00.002Z', status: 200, grpcStatus: 0, responseHeaders: [[':status', '200']] });
    const index = createMockIndex([refused, goaway, answered]);
    expect(index.size).toBe(1);
    for (let i = 0; i < 3; i++) expect(index.next('POST', '/unproc.Svc/Refused')?.id).toBe('2.1');
    // A reset the server did process stays a recorded outcome (as before).
    const reset = call({ id: '3.1', grpcStatus: 13, error: 'reset' });
    expect(createMockIndex([reset]).next('POST', '/unproc.Svc/Refused')?.id).toBe('3.1');
  });
});
