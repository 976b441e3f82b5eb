/**
 * The native engine's C++ HTTP metrics (native/src/core/metrics-http.cc) against the js engine's
 * (proxy/metrics.ts, http-metrics.ts, route-metrics.ts), without traffic: the same generated
 * exchanges go through the js engine's real exchange sink (createExchangeSink: its per-connection
 * caches decide when a bound is counted) and through the C++ registry (fed by MetricsHarness the
 * way the C++ HTTP/1 sink feeds it), with small bounds so that authorities, routes and peers
 * overflow. The C++ side is rendered by a second registry reading it as the native engine's
 * scrape source; both /metrics texts must be identical, bound-hit counts included.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { isNativeAvailable, loadNativeMetricsTools } from '../native/index.js';
import { createExchangeSink } from '../proxy/exchange-events.js';
import { createFlightRecorder } from '../proxy/flight-recorder.js';
import { createProxyMetrics } from '../proxy/metrics.js';
import { createExchange } from '../proxy/observe.js';
import { createTapHub } from '../proxy/tap-hub.js';
import type { Protocol } from '../tap-protocol/index.js';
import { reportBpfSkip } from './bpf-skip.js';

const available = isNativeAvailable();
if (!available) reportBpfSkip('test/native-metrics-aggregate.test.ts', 'the addon is not built (bash scripts/build-native.sh)');

const LIMITS = { maxAuthorities: 4, maxRoutes: 6, maxPeers: 3 };
const WORKLOAD = { namespace: 'shop', workloadKind: 'deployment', workloadName: 'web', pod: 'web-1' };

type Op =
  | { kind: 'open'; inbound: boolean; src: string; dst: string }
  | { kind: 'exchange'; conn: number; authority: string; method: string; path: string; requestHeaders: Array<[string, string]>; protocol: Protocol; status: number; grpcStatus?: number; error?: string; latencyMs: number };

/** A hidden value (an API key) that is also a tenant's subdomain and a path segment: labels must scrub it (sec10). */
const KEY = 'tenantKey-7f3a9c21';

const op: fc.Arbitrary<Op> = fc.oneof(
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('open' as const), inbound: fc.boolean(), src: fc.constantFrom('10.0.0.1:40000', '10.0.0.2:40001', '[fd00::1]:40002', '10.0.0.3:40003', '10.0.0.4:1'), dst: fc.constantFrom('10.1.0.1:80', '10.1.0.2:8080', '[fd00::9]:80', '10.1.0.3:81') }) },
  {
    weight: 5,
    arbitrary: fc.record(
      {
        kind: fc.constant('exchange' as const),
        conn: fc.nat(20),
        authority: fc.constantFrom('web', 'web:8080', 'admin:pw@web', 'u:p@ss@api', 'api', 'db', 'cache', '', 'émoji.local', `${KEY}.api`),
        method: fc.constantFrom('GET', 'POST', 'DELETE', 'BREW', 'get'),
        path: fc.constantFrom('/', '/users/1', '/users/2', '/users/abc/orders/99?x=1', '/a', '/b', '/c', '/d', '/e', '/f/0123abcdef', 'http://x/y/7', '*', 'web:443', '/pkg.S/M', `/t/${KEY}/x`, '//u:pw@h/x'),
        requestHeaders: fc.constantFrom<Array<[string, string]>>([], [['x-api-key', KEY]], [['Cookie', `sid=${KEY}`]], [['accept', '*/*']]),
        protocol: fc.constantFrom<Protocol>('http/1.1', 'http/1.1', 'http/1.0', 'h2', 'grpc'),
        status: fc.constantFrom(0, 200, 200, 204, 404, 500, 503),
        grpcStatus: fc.option(fc.constantFrom(0, 2, 5, 14), { nil: undefined }),
        error: fc.option(fc.constantFrom('reset', 'upstream-closed'), { nil: undefined }),
        latencyMs: fc.constantFrom(0, 1, 2.5, 7, 45, 100, 999, 1000, 4321, 60000),
      },
      { requiredKeys: ['kind', 'conn', 'authority', 'method', 'path', 'requestHeaders', 'protocol', 'status', 'latencyMs'] },
    ),
  },
);

/**
 * The exposition's lines, sorted (series order within a family means nothing to Prometheus, and
 * C++ keeps bound-hit totals by name, not by first hit), without the one line that differs by
 * construction: when each registry was made.
 */
const exposition = async (text: Promise<string>): Promise<string> =>
  (await text)
    .split('\n')
    .filter((l) => !l.startsWith('meshtap_start_time_seconds'))
    .sort()
    .join('\n');

describe.skipIf(!available)('C++ HTTP metrics aggregate as the js engine does', () => {
  it('renders the same /metrics for the same exchanges, bounds and bound hits included', async () => {
    const tools = loadNativeMetricsTools();
    await fc.assert(
      fc.asyncProperty(fc.array(op, { minLength: 1, maxLength: 120 }), async (ops) => {
        const js = createProxyMetrics(WORKLOAD, LIMITS);
        const services = { identity: {}, metrics: js, recorder: createFlightRecorder(1 << 20), hub: createTapHub(), bodyLimit: 1024, recorderBodies: false };
        const harness = tools.createHarness(LIMITS);
        const sinks: Array<{ sink: ReturnType<typeof createExchangeSink>; id: number; streams: number }> = [];
        for (const o of ops) {
          if (o.kind === 'open') {
            const id = sinks.length + 1;
            sinks.push({ id, streams: 0, sink: createExchangeSink({ id, proxy: o.inbound ? 'in' : 'out', src: o.src, dst: o.dst }, services, { onGiveUp() {}, onUpgrade() {} }) });
            harness.open(id, o.inbound, o.src, o.dst);
            continue;
          }
          if (sinks.length === 0) continue;
          const s = sinks[o.conn % sinks.length]!;
          const ex = createExchange(++s.streams, o.protocol, 1000);
          Object.assign(ex, { method: o.method, scheme: 'http', authority: o.authority, path: o.path, requestHeaders: o.requestHeaders });
          s.sink.requestHead(ex);
          harness.request(s.id, o.authority, o.path, o.requestHeaders);
          if (o.status !== 0) {
            ex.status = o.status;
            ex.responseMs = 1000 + o.latencyMs;
            s.sink.responseHead(ex);
          }
          if (o.grpcStatus !== undefined) ex.grpcStatus = o.grpcStatus;
          if (o.error !== undefined) ex.error = o.error;
          ex.endMs = 1000 + o.latencyMs + 1;
          s.sink.end(ex);
          harness.end(s.id, { authority: o.authority, method: o.method, path: o.path, requestHeaders: o.requestHeaders, protocol: o.protocol, status: o.status, grpcStatus: o.grpcStatus, isFailed: o.error !== undefined, latencyMs: o.latencyMs });
        }
        const fromNative = createProxyMetrics(WORKLOAD, LIMITS);
        fromNative.setHttpSource(() => harness.snapshot());
        fromNative.setEventCountSource(() => ({
          boundHits: harness.counters().map(([key, n]) => [key.split('\t')[1]!, n] as [string, number]),
          connectErrors: [],
        }));
        const text = await exposition(js.registry.metrics());
        // The key shows only where a request that did not hide it carried it.
        const isHidden = (h: Array<[string, string]>) => h.some(([, v]) => v.includes(KEY));
        if (!ops.some((o) => o.kind === 'exchange' && (o.authority.includes(KEY) || o.path.includes(KEY)) && !isHidden(o.requestHeaders))) expect(text).not.toContain(KEY);
        expect(await exposition(fromNative.registry.metrics())).toBe(text);
      }),
      { numRuns: 150 },
    );
  });
});
