import { describe, expect, it } from 'vitest';
import type { RecordedExchange } from './format.js';
import { recordedCall } from '../test/support/recorded-exchange.js';
import { describeSkipped, selectByDirection } from './replay-direction.js';

const ex = (id: string, over: Partial<RecordedExchange> = {}): RecordedExchange => recordedCall({ id, ...over });

describe('replay: which exchanges are sent', () => {
  it('regression (unproc13): a stream the server never processed is left out and counted; its retry is sent once', () => {
    // grpc-js: the refused attempt, then its transparent retry (answered); another call past a GOAWAY, retried.
    const recording = [
      ex('1.1', { grpcStatus: 14, error: 'reset', unprocessed: 'refused' }),
      ex('1.3', { status: 200, grpcStatus: 0 }),
      ex('1.5', { grpcStatus: 14, error: 'goaway', unprocessed: 'goaway' }),
      ex('2.1', { status: 200, grpcStatus: 0 }),
      ex('3.1', { proxy: 'out', status: 200, dstWorkload: 'deploy/db' }),
    ];
    const sel = selectByDirection(recording, 'auto');
    expect(sel.selected.map((e) => e.id)).toEqual(['1.3', '2.1']);
    expect(sel.unprocessed).toBe(2);
    expect(describeSkipped(sel)).toBe(
      "replaying the 2 exchanges the workload served; left out its 1 outbound call (1 to deploy/db): to replay those against their destination, use --direction out --to deploy/NAME; left out 2 exchanges the server never processed (HTTP/2 refused or past its GOAWAY; a client's retry is recorded as an exchange of its own)",
    );
    expect(selectByDirection(recording, 'all').selected.map((e) => e.id)).toEqual(['1.3', '2.1', '3.1']);
    // A reset the server did process is sent as before.
    expect(selectByDirection([ex('4.1', { grpcStatus: 13, error: 'reset' })], 'auto').selected).toHaveLength(1);
    expect(describeSkipped(selectByDirection([ex('4.1', { status: 200 })], 'auto'))).toBeUndefined();
  });
});
