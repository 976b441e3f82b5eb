/**
 * What the bench measures: scenarios (protocol × response size) and, per scenario, the
 * loads run against every target. Kept as data so `--only` can pick a subset and the
 * report can say exactly what ran.
 */

/** The wire protocol a scenario speaks (decides which targets can carry it). */
export type Protocol = 'h1' | 'h2' | 'grpc' | 'tcp';

/**
 * `max`: as fast as possible (wrk for HTTP/1, h2load for h2 and gRPC);
 * `rate`: a fixed moderate rate for latency (h2load --rps logs every request in µs);
 * `grpc-js`: a grpc-js client loop; `stream`: opaque TCP throughput (iperf3).
 */
export type LoadKind = 'max' | 'rate' | 'grpc-js' | 'stream';

export interface Scenario {
  name: string;
  title: string;
  protocol: Protocol;
  /** Response body bytes (gRPC: message bytes). */
  responseBytes: number;
  loads: LoadKind[];
}

export const SCENARIOS: Scenario[] = [
  { name: 'h1-small', title: 'HTTP/1.1 keep-alive, 100 B response', protocol: 'h1', responseBytes: 100, loads: ['max', 'rate'] },
  { name: 'h1-64k', title: 'HTTP/1.1 keep-alive, 64 KiB response', protocol: 'h1', responseBytes: 65536, loads: ['max'] },
  { name: 'h2-small', title: 'HTTP/2 (h2c), many streams per connection, 100 B response', protocol: 'h2', responseBytes: 100, loads: ['max', 'rate'] },
  { name: 'h2-64k', title: 'HTTP/2 (h2c), many streams per connection, 64 KiB response', protocol: 'h2', responseBytes: 65536, loads: ['max'] },
  { name: 'grpc', title: 'gRPC unary, 5 B request, 100 B response', protocol: 'grpc', responseBytes: 100, loads: ['max', 'grpc-js', 'rate'] },
  { name: 'tcp', title: 'opaque TCP stream (iperf3)', protocol: 'tcp', responseBytes: 0, loads: ['stream'] },
];

/** Durations and shape of one bench run. */
export interface RunShape {
  repeats: number;
  /** Seconds per measurement (whole seconds: wrk, h2load and iperf3 take no fractions). */
  durationS: number;
  /** Seconds of warm-up per target and scenario (not measured; 0 = none). */
  warmupS: number;
  /** Requests per second of the `rate` load. */
  rateRps: number;
}

export const FULL_SHAPE: RunShape = { repeats: 3, durationS: 3, warmupS: 1, rateRps: 2000 };
export const QUICK_SHAPE: RunShape = { repeats: 1, durationS: 1, warmupS: 0, rateRps: 1000 };
