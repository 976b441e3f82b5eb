/**
 * Issue 14: the C++ flight recorder keeps at least 5 minutes of history at 100 exchanges/s with
 * realistic HTTP/1 heads and no bodies within its default bound (`--recorder-bytes`). The heads
 * are the js recorder's depth test's (proxy/test-support/realistic-exchange.ts: a browser-like
 * request with a request id and a traceparent, an API answer with a Date changing every second),
 * from 10 client connections: 5 minutes of them must all be held and come back byte for byte.
 */
import { describe, expect, it } from 'vitest';
import { isNativeAvailable, loadNativeMetricsTools, type NativeRecorderInput } from '../native/index.js';
import { SIDECAR_DEFAULTS } from '../proxy/index.js';
import { realisticExchange } from '../proxy/test-support/realistic-exchange.js';
import { reportBpfSkip } from './bpf-skip.js';

const available = isNativeAvailable();
if (!available) reportBpfSkip('test/native-recorder-depth.test.ts', 'the addon is not built (bash scripts/build-native.sh)');

const RATE_PER_S = 100;
const SECONDS = 300;

function exchange(i: number): NativeRecorderInput {
  const [request, response] = realisticExchange(i);
  const headEnd = response.indexOf('\r\n\r\n') + 4;
  const startNs = 1_000_000_000_000 + i * (1e9 / RATE_PER_S);
  return {
    connId: 1 + (i % 10), stream: 1 + Math.floor(i / 10), inbound: true, isHttp10: false,
    src: `10.0.0.${1 + (i % 10)}:${40000 + (i % 10)}`, dst: '10.0.0.2:8080',
    startNs, responseNs: startNs + 300_000 + (i % 977) * 1000, endNs: startNs + 350_000 + (i % 977) * 1000, status: 200,
    requestHead: request, responseHead: response.slice(0, headEnd), requestTrailers: '', trailers: '',
    requestBytes: 0, responseBytes: response.length - headEnd,
  };
}

describe.skipIf(!available)('C++ flight recorder depth, HTTP/1 with realistic heads (issue 14)', () => {
  it(`holds 5 minutes at 100 exchanges/s in the native default bound, byte for byte`, () => {
    const bound = SIDECAR_DEFAULTS.nativeRecorderBytes;
    const r = loadNativeMetricsTools().createRecorder(bound);
    const total = RATE_PER_S * SECONDS;
    for (let i = 0; i < total; i++) r.push(exchange(i));
    const stats = r.stats();
    console.log(`C++ recorder: ${(stats.bytes / total).toFixed(1)} bytes per realistic HTTP/1 exchange (${total}, ${(stats.bytes / 1048576).toFixed(2)} MiB of ${(bound / 1048576).toFixed(2)})`);
    expect(stats.evicted).toBe(0);
    expect(stats.count).toBe(total);

    const list = r.query();
    expect(list.length).toBe(total);
    for (const i of [0, 1, 2, 99, 4242, total - 1]) {
      const want = exchange(i);
      const got = list.get(i);
      expect(got).toMatchObject({
        connId: want.connId, stream: want.stream, src: want.src, dst: want.dst, status: 200,
        requestHead: want.requestHead, responseHead: want.responseHead, requestTrailers: '', trailers: '', responseBytes: 2,
      });
      expect(got.endMs).toBeCloseTo(want.endNs / 1e6, 6);
    }
  });
});
