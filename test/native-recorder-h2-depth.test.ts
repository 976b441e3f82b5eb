/**
 * Issue 14: the C++ flight recorder keeps at least 5 minutes of history at 100 exchanges/s with
 * headers and no bodies within the native default bound (`--recorder-bytes`). The streams are
 * grpc-js unary calls with the header lists grpc-js and a grpc-js server send (9 request fields,
 * 5 response fields with a `date` changing every second, 2 trailer fields), from 100 client
 * connections, through the C++ HTTP/2 sinks (H2SinkHarness) untapped: 5 minutes of them must all
 * be held, and come back field for field.
 */
import { describe, expect, it } from 'vitest';
import { createNativeH2SinkHarness, decodeRecorderRecords, isNativeAvailable, type NativeH2ExchangeInput } from '../native/index.js';
import { SIDECAR_DEFAULTS } from '../proxy/index.js';
import { reportBpfSkip } from './bpf-skip.js';

const available = isNativeAvailable();
if (!available) reportBpfSkip('test/native-recorder-h2-depth.test.ts', 'the addon is not built (bash scripts/build-native.sh)');

const DEFAULT_RECORDER_BYTES = SIDECAR_DEFAULTS.nativeRecorderBytes;
const RATE_PER_S = 100;
const SECONDS = 300;
const METHODS = ['/echo.Echo/Unary', '/echo.Echo/Lookup', '/shop.Cart/Add', '/shop.Cart/Get'];

function call(i: number): NativeH2ExchangeInput {
  const startNs = 1_000_000_000_000 + i * (1e9 / RATE_PER_S);
  const second = Math.floor(i / RATE_PER_S);
  const date = new Date(Date.UTC(2026, 11, 6, 11, 0, 0) + second * 1000).toUTCString();
  const path = METHODS[i % METHODS.length]!;
  return {
    stream: 1 + 2 * Math.floor(i / 100),
    isGrpc: true,
    method: 'POST',
    scheme: 'http',
    authority: 'echo.shop.svc.cluster.local:50051',
    path,
    requestHeaders: [
      [':authority', 'echo.shop.svc.cluster.local:50051'], [':method', 'POST'], [':path', path], [':scheme', 'http'],
      ['grpc-accept-encoding', 'identity,deflate,gzip'], ['accept-encoding', 'identity'], ['content-type', 'application/grpc'], ['te', 'trailers'], ['user-agent', 'grpc-node-js/1.12.6'],
    ],
    requestTrailers: [],
    status: 200,
    responseHeaders: [[':status', '200'], ['content-type', 'application/grpc+proto'], ['grpc-accept-encoding', 'identity,deflate,gzip'], ['grpc-encoding', 'identity'], ['date', date]],
    trailers: [['grpc-status', '0'], ['grpc-message', '']],
    grpcStatus: 0,
    grpcMessage: '',
    requestBytes: 5 + (i % 40),
    responseBytes: 5 + (i % 90),
    requestMessages: 1,
    responseMessages: 1,
    requestCompressed: false,
    responseCompressed: false,
    startNs,
    responseNs: startNs + 400_000 + (i % 977) * 1000,
    endNs: startNs + 450_000 + (i % 977) * 1000,
  };
}

describe.skipIf(!available)('C++ flight recorder depth (issue 14)', () => {
  it('holds 5 minutes of grpc-js unary calls at 100/s in the native default bound', () => {
    // One harness per client connection would be closer to the engine; the recorder is shared by
    // all of them there too, so one recorder fed every call in time order is the same ring.
    const harness = createNativeH2SinkHarness({ connId: 7, inbound: true, src: '10.0.0.1:40000', dst: '10.0.0.2:50051', recorderBytes: DEFAULT_RECORDER_BYTES });
    const total = RATE_PER_S * SECONDS;
    for (let i = 0; i < total; i++) {
      const ex = call(i);
      harness.requestHead(ex);
      harness.responseHead(ex);
      harness.end(ex);
    }
    const stats = harness.recorderStats();
    expect(stats.evicted).toBe(0);
    expect(stats.count).toBe(total);
    expect(stats.bytes).toBeLessThanOrEqual(DEFAULT_RECORDER_BYTES);
    const perExchange = stats.bytes / total;
    console.log(`C++ recorder: ${perExchange.toFixed(1)} bytes per grpc-js unary call (${total} calls, ${(stats.bytes / 1048576).toFixed(2)} MiB)`);
    expect(perExchange).toBeLessThan(100);

    const list = decodeRecorderRecords(harness.recorderQuery(0), 0);
    expect(list.length).toBe(total);
    for (const i of [0, 1, 4242, total - 1]) {
      const want = call(i);
      const got = list.get(i);
      expect(got.h2).toMatchObject({ isGrpc: true, method: 'POST', path: want.path, requestHeaders: want.requestHeaders, responseHeaders: want.responseHeaders, trailers: want.trailers, grpcStatus: 0, grpcMessage: '', requestMessages: 1, responseMessages: 1 });
      expect([got.status, got.requestBytes, got.responseBytes, got.endMs]).toEqual([200, want.requestBytes, want.responseBytes, want.endNs / 1e6]);
    }
  });
});
