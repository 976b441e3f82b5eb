/**
 * Prometheus metrics with Linkerd's proxy names, labels and latency buckets (DESIGN §6), so
 * existing dashboards and queries work, plus meshtap's own health (`meshtap_*`).
 *
 * Hot path: per-chunk byte counts are plain number additions on a per-connection-class
 * record, folded into prom-client only at scrape time (`collect`); per-request HTTP metrics are
 * plain numbers too (http-metrics.ts). Label sets are bounded (`maxAuthorities`): a hostile Host header
 * cannot grow memory; past the bound the authority label reads `overflow` and a counter moves.
 */
import type * as prom from 'prom-client';
import { isFailedResponse, type Protocol, type ProxyDirection, type UnprocessedReason } from '../tap-protocol/index.js';
import { createHttpMetrics, latencyBucket, type ExternalHttpRoutes } from './http-metrics.js';
import { DEFAULT_LABEL_SECRETS, requestLabeler, type LabelSecrets, type RequestLabeler } from './metric-labels.js';
import type { GiveUpReason } from './observe.js';
import { Counter, Gauge, Registry } from './prom.js';
import { createRouteMetrics, type ExternalRouteStats, type PeerLabeler, type RouteCursor, type RouteMetrics } from './route-metrics.js';

/** Linkerd's response_latency_ms buckets. */
export const LATENCY_BUCKETS_MS = [
  1, 2, 3, 4, 5, 10, 20, 30, 40, 50, 100, 200, 300, 400, 500, 1000, 2000, 3000, 4000, 5000, 10000, 20000, 30000, 40000,
  50000,
];

/**
 * Linkerd's classification: no response (status 0), HTTP 5xx, or a failing gRPC status (tap-protocol
 * outcome.ts, which `top` and the dashboard read events with). (An exchange that ended with an
 * error is a failure too: its callers pass `isFailed`, outcome.ts isFailedByError.)
 */
export function isFailure(status: number, grpcStatus: number | undefined): boolean {
  return status === 0 || isFailedResponse(status, grpcStatus);
}

export interface WorkloadLabels {
  namespace: string;
  /** Linkerd-style workload label name (`deployment`, `statefulset`, `daemonset`, `pod`, …) and value. */
  workloadKind: string;
  workloadName: string;
  pod: string;
}

/**
 * The `direction` label's values (Linkerd's names). Code says `ProxyDirection` (`in` | `out`,
 * as tap events do) everywhere and the label is made here, once.
 */
export type TrafficDirection = 'inbound' | 'outbound';
export const DIRECTION_LABEL: Readonly<Record<ProxyDirection, TrafficDirection>> = { in: 'inbound', out: 'outbound' };

/** Per connection class (direction × target) byte and connection counts, folded in at scrape. */
export interface TcpStats {
  readonly labels: Record<string, string>;
  opened: number;
  closed: number;
  closedWithError: number;
  open: number;
  readBytes: number;
  writeBytes: number;
}

/** One TCP counter class as an external source reports it (see `setTcpSource`). */
export interface TcpStatsSnapshot {
  direction: string;
  peer: string;
  target: string;
  opened: number;
  closed: number;
  closedWithError: number;
  open: number;
  readBytes: number;
  writeBytes: number;
}

/** Running totals of events counted outside this registry (see `setEventCountSource`). */
export interface ExternalEventCounts {
  boundHits: Iterable<[string, number]>;
  connectErrors: Iterable<{ direction: string; code: string; count: number }>;
  /** Exchanges evicted from (or refused by) an external flight recorder, a running total. */
  recorderEvicted?: number;
  /** Connections by detected protocol (`meshtap_protocol_detected_total`), running totals. */
  protocolDetected?: Iterable<[string, number]>;
  /** Observers' give-ups by reason (`meshtap_observer_errors_total`), running totals. */
  observerErrors?: Iterable<[string, number]>;
  /** The native workers' busy polling (`meshtap_native_busy_poll*`): its bound, and running totals. */
  busyPoll?: { maxUs: number; caught: number; missed: number; caughtNs: number; missedNs: number };
}

/** HTTP and route metrics counted elsewhere (the native engine's C++ observers), read at scrape. */
export type ExternalHttpMetrics = ExternalHttpRoutes & ExternalRouteStats;

export interface HttpRoute {
  request(): void;
  /**
   * One record per finished exchange for every series it lands in: Linkerd's `response_*` of
   * this route and `route_response_*` through `routes` (the connection's route cursor). The
   * classification and the latency bucket are found once; a connection repeating its last
   * outcome and path reaches every counter through cached references (no Map lookups), so
   * route stats cost only their additions. `latencyMs` undefined: no response (status 0).
   * `isFailed` forces the failure classification: an exchange that ended with an error (a
   * response cut short, a gRPC call without a usable grpc-status: its `grpcStatus` is then the
   * one its client reports, e.g. CANCELLED).
   */
  exchange(cursor: RouteCursor, method: string, path: string, protocol: Protocol, status: number, grpcStatus: number | undefined, latencyMs: number | undefined, isFailed: boolean): void;
  /**
   * An HTTP/2 stream the server never processed ended (its request was counted): not a response,
   * so in no response or route series, only in `meshtap_unprocessed_requests_total`.
   */
  unprocessed(reason: UnprocessedReason): void;
}

export interface ProxyMetrics {
  readonly registry: prom.Registry;
  tcpStats(proxy: ProxyDirection, targetAddr: string, peer: 'src' | 'dst'): TcpStats;
  /**
   * The HTTP metrics of one (direction, authority label, target): resolved once and reused while
   * a connection keeps the same authority, so a request costs additions, not key building.
   * `authority` is the label as `shownRequest` made it.
   */
  httpRoute(proxy: ProxyDirection, authority: string, targetAddr: string): HttpRoute;
  /**
   * A request's `authority` and `path` as its `req` tap event shows them to a viewer revealed
   * nothing (metric-labels.ts): the only way request data becomes a label.
   */
  readonly shownRequest: RequestLabeler;
  /** The policy `shownRequest` follows (the native engine is given the same lists). */
  readonly labelSecrets: LabelSecrets;
  /** Per-route, per-peer statistics (edges and routes, DESIGN §11). */
  readonly routes: RouteMetrics;
  /**
   * Names peers when /metrics is read: `dst_namespace`/`dst_workload` on outbound route and TCP
   * series, `src_namespace`/`src_workload` on inbound route series.
   */
  setPeerLabeler(labeler: PeerLabeler): void;
  request(proxy: ProxyDirection, authority: string, targetAddr: string): void;
  observerGaveUp(reason: GiveUpReason | 'detect-timeout'): void;
  protocolDetected(protocol: 'h1' | 'h2' | 'opaque'): void;
  tapDropped(reason: string, count: number): void;
  /** Called before each scrape of the tap drop counter: drops counted elsewhere (native shedding) are added then. */
  setTapDroppedSync(sync: () => void): void;
  /**
   * TCP counters kept elsewhere (the native engine's, in C++), read at scrape time and shown
   * under the same names and labels as the js engine's.
   */
  setTcpSource(read: () => Iterable<TcpStatsSnapshot>): void;
  /** Bound hits and upstream connect errors counted elsewhere (native engine), as running totals read at scrape time. */
  setEventCountSource(read: () => ExternalEventCounts): void;
  /**
   * HTTP metrics counted elsewhere (the native engine's, in C++), read once per scrape and shown
   * merged with the js observers' under the same names and labels.
   */
  setHttpSource(read: () => ExternalHttpMetrics): void;
  /** Gauge sources read at scrape time. */
  setGaugeSource(name: 'tapSubscribers' | 'tapHeldBytes' | 'recorderBytes' | 'recorderEvents', read: () => number): void;
  recorderDropped(count: number): void;
  /** Body bytes copied for tap subscribers or the flight recorder (what body capture costs). */
  bodyCaptured(bytes: number): void;
  boundHit(bound: string): void;
  upstreamConnectError(proxy: ProxyDirection, code: string): void;
}

export function createProxyMetrics(
  workload: WorkloadLabels,
  options: { maxAuthorities?: number; maxRoutes?: number; maxPeers?: number; engine?: string; labelSecrets?: LabelSecrets } = {},
): ProxyMetrics {
  const registry = new Registry();
  const base: Record<string, string> = { namespace: workload.namespace };
  if (workload.workloadKind && workload.workloadName) base[workload.workloadKind] = workload.workloadName;
  if (workload.pod) base.pod = workload.pod;
  registry.setDefaultLabels(base);
  const maxAuthorities = options.maxAuthorities ?? 1000;
  const authorities = new Set<string>();

  let eventSource: (() => ExternalEventCounts) | undefined;
  /** Folds an external source's totals into a counter: only what grew since the last scrape. */
  const seen = new Map<string, number>();
  const foldIn = (counter: prom.Counter, key: string, labels: Record<string, string>, total: number) => {
    const delta = total - (seen.get(key) ?? 0);
    if (delta > 0) counter.inc(labels, delta);
    seen.set(key, total);
  };
  const boundHits = new Counter({
    name: 'meshtap_bound_hit_total',
    help: 'A configured bound was reached (observation degraded, traffic untouched)',
    labelNames: ['bound'],
    registers: [registry],
    collect(this: prom.Counter) {
      for (const [bound, total] of eventSource?.().boundHits ?? []) foldIn(this, `bound|${bound}`, { bound }, total);
    },
  });
  const boundedAuthority = (authority: string): string => {
    if (authorities.has(authority)) return authority;
    if (authorities.size >= maxAuthorities) {
      boundHits.inc({ bound: 'metric-authorities' });
      return 'overflow';
    }
    authorities.add(authority);
    return authority;
  };

  const http = createHttpMetrics(registry, LATENCY_BUCKETS_MS);
  const routes = createRouteMetrics(registry, LATENCY_BUCKETS_MS, {
    ...(options.maxRoutes ? { maxRoutes: options.maxRoutes } : {}),
    ...(options.maxPeers ? { maxPeers: options.maxPeers } : {}),
    onBoundHit: (bound) => boundHits.inc({ bound }),
  });
  /** The external HTTP source's one read per scrape (prom-client asks every metric in the same tick). */
  let httpSnapshot: ExternalHttpMetrics | undefined;
  const httpSourceOnce = (read: () => ExternalHttpMetrics) => (): ExternalHttpMetrics => {
    if (httpSnapshot === undefined) {
      httpSnapshot = read();
      setImmediate(() => (httpSnapshot = undefined));
    }
    return httpSnapshot;
  };
  let peerLabeler: PeerLabeler = () => undefined;
  /** Outbound TCP series name their destination at scrape time, like route series. */
  const tcpLabels = (s: TcpStats): Record<string, string> => {
    if (s.labels.direction !== 'outbound') return s.labels;
    let named: Record<string, string> | undefined;
    try {
      named = peerLabeler('outbound', s.labels.target_addr!);
    } catch {
      named = undefined;
    }
    return named ? { ...s.labels, ...named } : s.labels;
  };

  const tcp = new Map<string, TcpStats>();
  let tcpSource: (() => Iterable<TcpStatsSnapshot>) | undefined;
  /** The js engine's classes, then the external source's (read once per metric per scrape). */
  function* allTcpStats(): Iterable<TcpStats> {
    yield* tcp.values();
    if (tcpSource === undefined) return;
    for (const s of tcpSource()) yield { ...s, labels: { direction: s.direction, peer: s.peer, target_addr: s.target } };
  }
  const tcpLabelNames = ['direction', 'peer', 'target_addr', 'dst_namespace', 'dst_workload'];
  const tcpGauge = (name: string, help: string, kind: 'counter' | 'gauge', read: (s: TcpStats) => number, extra?: (s: TcpStats) => Array<[Record<string, string>, number]>) => {
    const cfg = {
      name,
      help,
      labelNames: extra ? [...tcpLabelNames, 'errno'] : tcpLabelNames,
      registers: [registry],
      collect(this: prom.Gauge | prom.Counter) {
        this.reset();
        for (const s of allTcpStats()) {
          const labels = tcpLabels(s);
          if (extra) for (const [l, v] of extra(s)) (this as prom.Gauge).set ? (this as prom.Gauge).set({ ...labels, ...l }, v) : (this as prom.Counter).inc({ ...labels, ...l }, v);
          else if (kind === 'gauge') (this as prom.Gauge).set(labels, read(s));
          else if (read(s) > 0) (this as prom.Counter).inc(labels, read(s));
        }
      },
    };
    return kind === 'gauge' ? new Gauge(cfg) : new Counter(cfg);
  };
  tcpGauge('tcp_open_total', 'Total count of opened connections', 'counter', (s) => s.opened);
  tcpGauge('tcp_close_total', 'Total count of closed connections', 'counter', () => 0, (s) => {
    const out: Array<[Record<string, string>, number]> = [];
    if (s.closed - s.closedWithError > 0) out.push([{ errno: '' }, s.closed - s.closedWithError]);
    if (s.closedWithError > 0) out.push([{ errno: 'ECONNRESET' }, s.closedWithError]);
    return out;
  });
  tcpGauge('tcp_open_connections', 'Number of currently-open connections', 'gauge', (s) => s.open);
  tcpGauge('tcp_read_bytes_total', 'Total count of bytes read from peers', 'counter', (s) => s.readBytes);
  tcpGauge('tcp_write_bytes_total', 'Total count of bytes written to peers', 'counter', (s) => s.writeBytes);

  const gaveUp = new Counter({
    name: 'meshtap_observer_errors_total',
    help: 'Connections the observer stopped following (forwarded unchanged from then on), by reason',
    labelNames: ['reason'],
    registers: [registry],
    collect(this: prom.Counter) {
      for (const [reason, total] of eventSource?.().observerErrors ?? []) foldIn(this, `gaveup|${reason}`, { reason }, total);
    },
  });
  const detected = new Counter({
    name: 'meshtap_protocol_detected_total',
    help: 'Connections by detected protocol',
    labelNames: ['protocol'],
    registers: [registry],
    collect(this: prom.Counter) {
      for (const [protocol, total] of eventSource?.().protocolDetected ?? []) foldIn(this, `detected|${protocol}`, { protocol }, total);
    },
  });
  let tapDroppedSync: (() => void) | undefined;
  const tapDropped = new Counter({
    name: 'meshtap_tap_dropped_events_total',
    help: 'Tap events dropped for a subscriber (slow consumer, rate limit)',
    labelNames: ['reason'],
    registers: [registry],
    collect() {
      tapDroppedSync?.();
    },
  });
  const bodyCaptured = new Counter({ name: 'meshtap_body_capture_bytes_total', help: 'Body bytes copied for tap subscribers or the flight recorder', registers: [registry] });
  const recorderDropped = new Counter({
    name: 'meshtap_recorder_evicted_total',
    help: 'Exchanges evicted from the flight recorder (oldest first) to stay within its byte bound',
    registers: [registry],
    collect(this: prom.Counter) {
      const total = eventSource?.().recorderEvicted;
      if (total !== undefined) foldIn(this, 'recorder-evicted', {}, total);
    },
  });
  const connectErrors = new Counter({
    name: 'meshtap_upstream_connect_errors_total',
    help: 'Upstream connects that failed (the client connection was reset)',
    labelNames: ['direction', 'code'],
    registers: [registry],
    collect(this: prom.Counter) {
      for (const e of eventSource?.().connectErrors ?? []) foldIn(this, `connect|${e.direction}|${e.code}`, { direction: e.direction, code: e.code }, e.count);
    },
  });
  const gaugeSources = new Map<string, () => number>();
  const sourceGauge = (name: string, help: string, key: string) =>
    new Gauge({
      name,
      help,
      registers: [registry],
      collect(this: prom.Gauge) {
        this.set(gaugeSources.get(key)?.() ?? 0);
      },
    });
  sourceGauge('meshtap_tap_subscribers', 'Live tap subscribers', 'tapSubscribers');
  // Each subscriber's queue and in-flight bounds, history reads included (tap-hub sendHistory).
  sourceGauge('meshtap_tap_held_bytes', 'Tap message characters held for subscribers: queued, or written but not yet sent on', 'tapHeldBytes');
  sourceGauge('meshtap_recorder_bytes', 'Estimated bytes held by the flight recorder', 'recorderBytes');
  sourceGauge('meshtap_recorder_events', 'Exchanges held by the flight recorder', 'recorderEvents');
  // When the counters started: a reader (the tap API's edges) knows a sidecar younger than its
  // window counted everything in it from zero.
  new Gauge({ name: 'meshtap_start_time_seconds', help: 'When these counters started (unix seconds)', registers: [registry] }).set(Date.now() / 1000);
  new Gauge({ name: 'meshtap_engine', help: 'Data path engine in use', labelNames: ['engine'], registers: [registry] }).set({ engine: options.engine ?? 'js' }, 1);
  if (options.engine === 'native') registerBusyPollMetrics(registry, () => eventSource?.().busyPoll, foldIn);

  function httpRoute(proxy: ProxyDirection, authority: string, targetAddr: string): HttpRoute {
    const route = http.route(DIRECTION_LABEL[proxy], boundedAuthority(authority), targetAddr);
    return {
      request: () => void route.requests++,
      exchange(cursor, method, path, protocol, status, grpcStatus, latencyMs, isFailed) {
        const failure = isFailed || isFailure(status, grpcStatus);
        const lat = status === 0 ? undefined : latencyMs;
        const bucket = lat === undefined ? -1 : latencyBucket(http.bounds, lat);
        http.countResponse(route, status, failure, grpcStatus, lat, bucket);
        routes.recordAt(cursor, method, path, protocol, failure, lat, bucket);
      },
      unprocessed: (reason) => void route.unprocessed[reason]++,
    };
  }

  const labelSecrets = options.labelSecrets ?? DEFAULT_LABEL_SECRETS;
  return {
    registry,
    shownRequest: requestLabeler(labelSecrets),
    labelSecrets,
    tcpStats(proxy, targetAddr, peer) {
      const key = `${proxy}|${peer}|${targetAddr}`;
      let s = tcp.get(key);
      if (!s) {
        let label = targetAddr;
        let at = key;
        if (tcp.size >= maxAuthorities && targetAddr !== 'overflow') {
          boundHits.inc({ bound: 'metric-targets' });
          label = 'overflow';
          at = `${proxy}|${peer}|overflow`;
          const overflow = tcp.get(at);
          if (overflow) return overflow;
        }
        s = { labels: { direction: DIRECTION_LABEL[proxy], peer, target_addr: label }, opened: 0, closed: 0, closedWithError: 0, open: 0, readBytes: 0, writeBytes: 0 };
        tcp.set(at, s);
      }
      return s;
    },
    httpRoute,
    routes,
    setPeerLabeler(l) {
      peerLabeler = l;
      routes.setPeerLabeler(l);
    },
    request(proxy, authority, targetAddr) {
      httpRoute(proxy, authority, targetAddr).request();
    },
    observerGaveUp: (reason) => gaveUp.inc({ reason }),
    protocolDetected: (protocol) => detected.inc({ protocol }),
    tapDropped: (reason, count) => tapDropped.inc({ reason }, count),
    setTapDroppedSync(sync) {
      tapDroppedSync = sync;
    },
    bodyCaptured: (bytes) => bodyCaptured.inc(bytes),
    setTcpSource: (read) => void (tcpSource = read),
    setEventCountSource: (read) => void (eventSource = read),
    setHttpSource(read) {
      const once = httpSourceOnce(read);
      http.setSource(once);
      routes.setSource(once);
    },
    setGaugeSource: (name, read) => void gaugeSources.set(name, read),
    recorderDropped: (count) => recorderDropped.inc(count),
    boundHit: (bound) => boundHits.inc({ bound }),
    upstreamConnectError: (proxy, code) => connectErrors.inc({ direction: DIRECTION_LABEL[proxy], code }),
  };
}

/**
 * The native workers' busy polling (native/src/core/busy-poll.h), read from the engine at scrape:
 * the bound it runs with (`--busy-poll-us`), and whether polling pays here: windows that caught an
 * event against windows that ran out, and the CPU time spent polling.
 */
function registerBusyPollMetrics(
  registry: prom.Registry,
  read: () => ExternalEventCounts['busyPoll'],
  foldIn: (counter: prom.Counter, key: string, labels: Record<string, string>, total: number) => void,
): void {
  new Gauge({
    name: 'meshtap_native_busy_poll_max_seconds',
    help: 'The longest a native worker polls before it blocks (--busy-poll-us; 0: never polls)',
    registers: [registry],
    collect(this: prom.Gauge) {
      const b = read();
      if (b) this.set(b.maxUs / 1e6);
    },
  });
  type BusyPoll = NonNullable<ReturnType<typeof read>>;
  /** One counter by result (caught | missed), folded in from the engine's running totals. */
  const byResult = (name: string, help: string, caught: (b: BusyPoll) => number, missed: (b: BusyPoll) => number): void => {
    new Counter({
      name,
      help,
      labelNames: ['result'],
      registers: [registry],
      collect(this: prom.Counter) {
        const b = read();
        if (!b) return;
        // Both series from the first scrape (a rate() over them needs no first increment).
        for (const result of ['caught', 'missed']) this.inc({ result }, 0);
        foldIn(this, `${name}|caught`, { result: 'caught' }, caught(b));
        foldIn(this, `${name}|missed`, { result: 'missed' }, missed(b));
      },
    });
  };
  byResult(
    'meshtap_native_busy_polls_total',
    'Busy-poll windows of the native workers, by result: caught (an event came while polling) or missed (the window ran out, the worker blocked)',
    (b) => b.caught,
    (b) => b.missed,
  );
  byResult(
    'meshtap_native_busy_poll_seconds_total',
    'CPU time the native workers spent busy polling, by result: caught (polled until an event came) or missed (polled in vain, then blocked)',
    (b) => b.caughtNs / 1e9,
    (b) => b.missedNs / 1e9,
  );
}
