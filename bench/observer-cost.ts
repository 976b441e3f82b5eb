/**
 * Observation cost in isolation: an HTTP/1 observer and the real exchange sink (metrics,
 * flight recorder, tap hub) fed the same request/response pair many times in process, so the
 * CPU per exchange excludes sockets and the kernel. `parse` uses a sink that does nothing.
 *
 *   npm run build && node dist/bench/observer-cost.js [full|parse] [responseBodyBytes]
 *
 * A figure for comparing commits on the same machine; the bench (run.ts) is the real thing.
 */
import { createExchangeSink } from '../proxy/exchange-events.js';
import { createFlightRecorder } from '../proxy/flight-recorder.js';
import { createHttp1Observer } from '../proxy/http1/index.js';
import { createProxyMetrics } from '../proxy/metrics.js';
import { DEFAULT_OBSERVER_LIMITS, type ExchangeSink } from '../proxy/observe.js';
import { createTapHub } from '../proxy/tap-hub.js';

const mode = process.argv[2] ?? 'full';
const bodyBytes = Number(process.argv[3] ?? 100);
const EXCHANGES = 300_000;
const WARMUP = 20_000;

const metrics = createProxyMetrics({ namespace: 'default', workloadKind: 'deployment', workloadName: 'web', pod: 'web-0' });
const recorder = createFlightRecorder(8 << 20);
const services = { identity: { workload: 'deploy/web', namespace: 'default', pod: 'web-0' }, metrics, recorder, hub: createTapHub(), bodyLimit: 65536, recorderBodies: false };
const nullSink: ExchangeSink = { requestHead() {}, responseHead() {}, end() {}, giveUp() {}, upgraded() {} };
const sink = mode === 'parse' ? nullSink : createExchangeSink({ id: 1, proxy: 'in', src: '127.0.0.1:5555', dst: '127.0.0.1:8080' }, services, { onGiveUp() {}, onUpgrade() {} });
const observer = createHttp1Observer({ sink, limits: DEFAULT_OBSERVER_LIMITS, now: () => performance.now() });

const request = Buffer.from('GET /index.html HTTP/1.1\r\nHost: 127.0.0.1:8080\r\nUser-Agent: wrk\r\nAccept: */*\r\n\r\n');
const response = Buffer.from(
  `HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: ${bodyBytes}\r\nDate: Mon, 23 Nov 2026 03:00:00 GMT\r\nConnection: keep-alive\r\n\r\n` + 'x'.repeat(bodyBytes),
);

for (let i = 0; i < WARMUP; i++) {
  observer.clientData(request);
  observer.serverData(response);
}
const cpu0 = process.cpuUsage();
for (let i = 0; i < EXCHANGES; i++) {
  observer.clientData(request);
  observer.serverData(response);
}
const cpu = process.cpuUsage(cpu0);
console.log(
  `${mode}: ${((cpu.user + cpu.system) / EXCHANGES).toFixed(2)} µs CPU per exchange (${bodyBytes} B responses), ` +
    `rss ${(process.memoryUsage().rss / 1e6).toFixed(0)} MB, recorder ${recorder.size} exchanges`,
);
