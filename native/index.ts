/**
 * The only TypeScript face of meshtap's native addon (native/build/Release/meshtap_native.node,
 * built by scripts/build-native.sh). The addon is loaded lazily on first use, so that a
 * machine without it (no clang/libbpf, not built) still runs everything in explicit mode;
 * using a native feature there throws MeshtapError MT_NATIVE_MISSING with what to do.
 */
import { isAscii } from 'node:buffer';
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import type { Socket } from 'node:net';
import { fileURLToPath } from 'node:url';
import { MeshtapError } from '../common/index.js';
import { decodeRecorderRecords } from './recorder-decode.js';

/** Where an intercepted connection was going, as the application asked for it. */
export interface OriginalDst {
  address: string;
  port: number;
  family: 4 | 6;
}

/** A pinned BPF link, as the kernel describes it. cgroupId 0 / netnsIno 0: target gone. */
export interface LinkInfo {
  id: number;
  progId: number;
  type: number;
  cgroupId?: bigint;
  netnsIno?: number;
  attachType?: number;
}

/** The raw addon surface used by bpf/ (keys and values are encoded in bpf/maps.ts). */
export interface NativeBpf {
  /** Loads one embedded program with maps pinned under pinDir, attaches it to the cgroup
   * or netns at targetPath, pins the link as <pinDir>/link-<name>; returns the pin path. */
  attachProgram(pinDir: string, targetPath: string, name: string): string;
  programNames(): { name: string; scope: 'cgroup' | 'netns' }[];
  mapUpdate(pinPath: string, key: Buffer, value: Buffer): void;
  mapDelete(pinPath: string, key: Buffer): boolean;
  mapLookup(pinPath: string, key: Buffer): Buffer | undefined;
  mapKeys(pinPath: string, limit: number): Buffer[];
  /** Copies socket `fd` of process `pid` (pidfd_getfd) into the SOCKMAP at pinPath[key]. */
  sockmapSetFromProcess(pinPath: string, key: number, pid: number, fd: number): void;
  linkInfo(pinPath: string): LinkInfo | undefined;
  probeFeatures(): Record<string, boolean>;
}

/** TCP counters of one (direction, peer, target) class, read from C++ at scrape time. */
export interface NativeTcpStats {
  direction: 'inbound' | 'outbound';
  peer: 'src' | 'dst';
  target: string;
  opened: number;
  closed: number;
  closedWithError: number;
  open: number;
  readBytes: number;
  writeBytes: number;
}

export interface NativeCounters {
  boundHits: Map<string, number>;
  /** Connections by detected protocol (`h1`, `h2`, `opaque`): counted in C++, not from records. */
  protocolDetected: Map<string, number>;
  /** Observers that stopped following a connection, by reason (GIVE_UP_REASONS, `detect-timeout`). */
  observerErrors: Map<string, number>;
  connectErrors: { direction: 'inbound' | 'outbound'; code: string; count: number }[];
  /** Bytes the workers moved with splice(2) instead of read/write. */
  splicedBytes: number;
  /** Busy polling (native/src/core/busy-poll.h): the bound the engine runs with, and what polling did. */
  busyPoll: NativeBusyPoll;
}

/** The workers' busy polling before they block, summed over workers. */
export interface NativeBusyPoll {
  /** The longest window, µs, as the engine holds it (`busyPollUs`; 0: never polls). */
  maxUs: number;
  /** Windows that found an event before they ran out. */
  caught: number;
  /** Windows that ran out; the worker then blocked. */
  missed: number;
  /** Time polled before an event came, caught windows, ns. */
  caughtNs: number;
  /** Time polled in vain, missed windows, ns. */
  missedNs: number;
}

/** A listener the native engine creates (numeric addresses only: resolve names first). */
export type NativeListenerSpec =
  | { kind: 'forward'; proxy: 'in' | 'out'; host: string; port: number; targetHost: string; targetPort: number; dst: string; /** connect from this numeric address (a local sidecar's own 127.x.y.z) */ localAddress?: string }
  | { kind: 'inbound'; proxy: 'in'; host: string; port: number; appHost: string }
  | { kind: 'outbound'; proxy: 'out'; host: string; port: number };

interface RawEngine {
  listen(spec: NativeListenerSpec): string;
  drain(): Buffer | undefined;
  unobserve(id: number): void;
  setWantBodies(want: boolean): void;
  tcpStats(): NativeTcpStats[];
  counters(): [string, number][];
  httpMetrics(): NativeHttpMetrics;
  recorderQuery(sinceEndNs: number): Buffer;
  recorderStats(): { bytes: number; count: number; evicted: number; oldestEndNs: number };
  setTapped(on: boolean): void;
  setShedding(on: boolean): void;
  shedEvents(): number;
  setTapGate(rps: number): number;
  tapGated(): number;
  setTapJson(policy: (NativeTapJsonPolicy & { originNs: number; timeOrigin: number }) | null): void;
  close(): void;
}

/** Every method of RawEngine, to tell a stale addon from a current one. */
const RAW_ENGINE_METHODS: ReadonlyArray<keyof RawEngine> = [
  'listen', 'drain', 'unobserve', 'setWantBodies', 'tcpStats', 'counters', 'httpMetrics', 'recorderQuery',
  'recorderStats', 'setTapped', 'setShedding', 'shedEvents', 'setTapGate', 'tapGated', 'setTapJson', 'close',
];

interface Addon extends NativeBpf {
  getOriginalDst(fd: number): OriginalDst | undefined;
  NativeEngine: new (options: NativeEngineOptions, doorbell: () => void) => RawEngine;
  routeTemplate(target: string, isGrpc: boolean): string;
  showRequest(secrets: NativeLabelSecrets | undefined, authority: string, path: string, headers: ReadonlyArray<readonly [string, string]>): { authority: string; path: string };
  mayHideValues(secrets: NativeLabelSecrets | undefined, head: Buffer): boolean;
  mayHideFieldValues(secrets: NativeLabelSecrets | undefined, authority: string, path: string, fields: ReadonlyArray<readonly [string, string]>): boolean;
  base64ToUtf8(s: string): string;
  encodeUriComponent(s: string): string;
  decodeUriComponent(s: string): string | null;
  redactUrlCredentials(s: string): string;
  redactAuthority(authority: string): string;
  MetricsHarness: new (limits: NativeMetricsLimits) => NativeMetricsHarness;
  RecorderHarness: new (maxBytes: number) => RawRecorderHarness;
  H2SinkHarness: new (options: NativeH2SinkHarnessOptions) => NativeH2SinkHarness;
  DriverHarness: new (options: { connId: number; inbound: boolean; src: string; dst: string; bodyLimit?: number }) => NativeDriverHarness;
  mallocTrim?(): boolean;
  lowMemoryNotification?(): void;
}

const ADDON_CANDIDATES = [
  '../native/build/Release/meshtap_native.node', // from native/index.ts (tests, tsx)
  '../../native/build/Release/meshtap_native.node', // from dist/native/index.js
];

let loaded: { addon?: Addon; error?: string } | undefined;

function load(): { addon?: Addon; error?: string } {
  if (loaded) return loaded;
  const require = createRequire(import.meta.url);
  const tried: string[] = [];
  // MESHTAP_NATIVE_ADDON: another build of the addon (scripts/native-sanitize.sh's ASan build).
  const override = process.env.MESHTAP_NATIVE_ADDON;
  for (const rel of override ? [override] : ADDON_CANDIDATES) {
    const path = override ? override : fileURLToPath(new URL(rel, import.meta.url));
    tried.push(path);
    if (!existsSync(path)) continue;
    try {
      loaded = { addon: require(path) as Addon };
      return loaded;
    } catch (err) {
      loaded = { error: `${path}: ${err instanceof Error ? err.message.split('\n')[0] : String(err)}` };
      return loaded;
    }
  }
  loaded = { error: `not built (looked for ${tried.join(', ')})` };
  return loaded;
}

function addon(): Addon {
  const { addon: a, error } = load();
  if (!a) {
    throw new MeshtapError(
      'MT_NATIVE_MISSING',
      `the native addon is unavailable: ${error}; run 'bash scripts/build-native.sh' as root (needs clang, libbpf-dev, bpftool, g++), or use explicit mode: meshtap proxy --forward LISTEN=TARGET`,
    );
  }
  return a;
}

/** Why the addon is unavailable (`not built (looked for …)`), or undefined when it loads. */
export function nativeUnavailableReason(): string | undefined {
  return load().error;
}

/**
 * Whether the loaded addon is a test build with fault injection compiled in (MESHTAP_FAULT_INJECTION,
 * scripts/native-sanitize.sh): its workers then fail on purpose where a test asks them to. Release
 * builds have no such code; tests of failure containment skip there.
 */
export function isNativeFaultInjectionBuild(): boolean {
  return (load().addon as { faultInjection?: boolean } | undefined)?.faultInjection === true;
}

/**
 * glibc's malloc_trim(0) (native/src/malloc-trim.cc): gives the kernel back the free pages inside
 * malloc's arenas. False when nothing was released, or when the addon (or that call) is absent.
 */
export function mallocTrim(): boolean {
  return load().addon?.mallocTrim?.() === true;
}

/**
 * V8's low-memory notification (native/src/malloc-trim.cc): full collections that also shrink the
 * young generation to its smallest size and give V8's pooled pages back, then malloc_trim(0).
 * False when the addon (or that call) is absent. Tens of ms of this thread: for the native
 * sidecar's JS thread, which carries no traffic.
 */
export function reduceMemory(): boolean {
  const addon = load().addon;
  if (addon?.lowMemoryNotification === undefined) return false;
  addon.lowMemoryNotification();
  addon.mallocTrim?.();
  return true;
}

/** Whether the native addon is built and loads here (never throws). */
export function isNativeAvailable(): boolean {
  return load().addon !== undefined;
}

/**
 * The original destination of an accepted, intercepted TCP connection: one
 * getsockopt(SO_ORIGINAL_DST) (SOL_IP 80, or SOL_IPV6 80 on IPv6 sockets) on the socket's
 * fd, answered by meshtap's cgroup/getsockopt program (or by netfilter after an iptables
 * REDIRECT). undefined when the kernel has no entry (the connection was not redirected).
 */
export function getOriginalDst(socket: Socket): OriginalDst | undefined {
  const fd = (socket as unknown as { _handle?: { fd?: number } })._handle?.fd;
  if (typeof fd !== 'number' || fd < 0) return undefined;
  const a = addon();
  try {
    return a.getOriginalDst(fd);
  } catch (err) {
    throw new MeshtapError('MT_ORIGINAL_DST', `original destination lookup failed: ${(err as Error).message}`, { cause: err });
  }
}

/** The BPF half of the addon, for bpf/. Throws MT_NATIVE_MISSING when not built. */
export function loadNativeBpf(): NativeBpf {
  return addon();
}

// ---- the native engine (native/src/core) ----------------------------------------------------

/** Why a native connection ended, as the js engine names it (`CloseReason` in proxy/engine.ts). */
const ABORT_ERRORS = [undefined, 'reset', 'client-error', 'upstream-error', 'upstream-connect-failed', 'idle-timeout'] as const;

/** Receives the decoded records of one batch, in the order the C++ workers wrote them. */
export interface NativeRecordHandler {
  /** A connection JS may follow: `src`/`dst` as the js engine formats them. */
  open(id: number, proxy: 'in' | 'out', src: string, dst: string, atMs: number): void;
  /** Bytes that were forwarded (a view into the batch: copy what you keep past the call). */
  data(id: number, fromClient: boolean, bytes: Buffer, atMs: number): void;
  end(id: number, fromClient: boolean, atMs: number): void;
  close(id: number, abortError: string | undefined, atMs: number): void;
  /** The batch was full: this connection is no longer followed (its bytes still flow). */
  lost(id: number): void;
  connectError(proxy: 'in' | 'out', code: string): void;
  boundHit(bound: string): void;
  /**
   * Detection decided (C++ detects now): `why` is trace text (`timeout` = the detect timeout passed).
   * `h2`: the connection's bytes follow for the js HTTP/2 observer; `h2-native`: C++ observes it
   * and sends HTTP/2 stream records (h2RequestHead, …).
   */
  detected(id: number, kind: 'h1' | 'h2' | 'h2-native' | 'opaque', why: string, atMs: number): void;
  /** HTTP/1 exchange records of the C++ observer (heads and trailers as latin1 text, as sent; `json` as for HTTP/2 below). */
  requestHead(id: number, stream: number, head: string, hasBodies: boolean, atMs: number, json?: NativeEventJson): void;
  responseHead(id: number, stream: number, head: string, atMs: number, json?: NativeEventJson): void;
  /** De-framed body bytes (a view into the batch), sent only for heads with `hasBodies`. */
  body(id: number, stream: number, isRequest: boolean, bytes: Buffer): void;
  exchangeEnd(id: number, stream: number, end: NativeExchangeEnd, atMs: number, json?: NativeEventJson): void;
  /** The observer stopped following the connection; `reason` indexes GIVE_UP_REASONS (proxy/observe.ts). */
  giveUp(id: number, reason: number, atMs: number): void;
  upgraded(id: number, atMs: number): void;
  /**
   * Exchange `stream` continues as HTTP/2 stream 1 (a 101 to h2c): the connection's bytes follow as
   * data records, or (`isNative`) C++ follows it and HTTP/2 stream records follow (stream 1 included).
   */
  h2c(id: number, stream: number, atMs: number, isNative: boolean): void;
  /**
   * HTTP/2 stream records of the C++ observer (core/h2-record-sink.h), for streams begun while
   * tapped; `json`: the event's JSON when C++ wrote it (setTapJson, core/tap-event-json.h).
   */
  h2RequestHead(id: number, stream: number, head: NativeH2Head, hasBodies: boolean, atMs: number, json?: NativeEventJson): void;
  h2ResponseHead(id: number, stream: number, status: number, headers: NativeHeaderList, atMs: number, json?: NativeEventJson): void;
  h2End(id: number, stream: number, end: NativeH2End, atMs: number, json?: NativeEventJson): void;
}

/**
 * A tap event's JSON as C++ wrote it (native/src/core/tap-event-json.h): only for a plain event,
 * one no grant redacts, so that it is what the tap hub sends a subscriber of any grant: `text` is
 * the event object without its identity fields (which go at `identityAt`; an rsp without its
 * requestHeaders, as it leaves); the part `cutFrom`..`cutTo` is an end's body members (sent only to
 * a grant with bodies); `bodyChars` counts the bodies' data characters.
 */
export interface NativeEventJson {
  text: string;
  identityAt: number;
  cutFrom: number;
  cutTo: number;
  bodyChars: number;
}

/** What C++ needs to write tap events' JSON (setTapJson): the tap hub's redaction policy. */
export interface NativeTapJsonPolicy {
  /** Lower-case names of the headers the hub redacts. */
  sensitiveHeaders: readonly string[];
  /** Lower-case names of the secret body fields (proxy/body-redact.ts rules). */
  bodyFields: readonly string[];
}

/**
 * A header list as the C++ HTTP/2 observer reports it: names as HPACK decoded them (octets read as
 * latin1), values as the js observer decodes them (decodeFieldText; UTF-8 in C++), pseudo-headers
 * included, in order.
 */
export type NativeHeaderList = Array<[string, string]>;

/** The request HEADERS of an HTTP/2 stream as the C++ observer saw it (method, … from the pseudo-headers). */
export interface NativeH2Head {
  isGrpc: boolean;
  method: string;
  scheme: string;
  authority: string;
  path: string;
  headers: NativeHeaderList;
}

/** How an HTTP/2 stream ended, as the C++ observer saw it (proxy/h2/stream-tracker.ts's fields). */
export interface NativeH2End extends NativeH2Outcome {
  error: string | undefined;
  requestBytes: number;
  responseBytes: number;
}

/** What an HTTP/2 stream's end adds to its Exchange (stream-tracker.ts), in records and recorder alike. */
export interface NativeH2Outcome {
  requestTrailers: NativeHeaderList;
  trailers: NativeHeaderList;
  /** gRPC only (0 / false otherwise). */
  requestMessages: number;
  responseMessages: number;
  requestCompressed: boolean;
  responseCompressed: boolean;
  grpcStatus?: number | undefined;
  /** Percent-decoded. */
  grpcMessage?: string | undefined;
  /** The server never processed the stream (proxy/observe.ts `unprocessed`). */
  unprocessed?: 'refused' | 'goaway' | undefined;
}

/** An HTTP/2 stream's request side and outcome, as the recorder keeps it and the test harness takes it. */
interface NativeH2Fields extends NativeH2Outcome {
  isGrpc: boolean;
  method: string;
  scheme: string;
  authority: string;
  path: string;
  requestHeaders: NativeHeaderList;
  /** [] when there was no final status. */
  responseHeaders: NativeHeaderList;
}

/** How an HTTP/1 exchange ended, as the C++ observer saw it. */
export interface NativeExchangeEnd {
  error: string | undefined;
  /** The response ended as its framing says (H1Exchange::response_complete; proxy/observe.ts isResponseComplete). */
  responseComplete: boolean;
  requestBytes: number;
  responseBytes: number;
  /** Trailer sections as sent (latin1), '' when none. */
  requestTrailers: string;
  trailers: string;
}

export interface NativeEngineOptions {
  /** epoll worker threads, one SO_REUSEPORT listener socket each (`--native-threads`). */
  threads: number;
  /** false: forwarding only, no record ever reaches JS. */
  observe: boolean;
  /** Bound of the record batch between two JS wakes, bytes. */
  ringBytes?: number;
  /** Most (direction, peer, target) TCP metric classes before `overflow`. */
  maxTargets?: number;
  /** Close connections with no bytes either way for this long (0: never). */
  idleTimeoutMs?: number;
  /** A partial first message is opaque after this long (the js driver's detect timeout). */
  detectTimeoutMs?: number;
  /** Body bytes sent to JS per exchange and direction at most. */
  bodyLimit?: number;
  /** ObserverLimits of the C++ observers. */
  maxHeaderBytes?: number;
  maxStreams?: number;
  /** Pipes each worker may hold for splice(2) (default 16; 0: never splice). */
  maxPipes?: number;
  /** The longest a worker polls before it blocks in epoll_wait, µs (native/src/core/busy-poll.h; 0: never). */
  busyPollUs?: number;
  /** The C++ flight recorder's byte bound (`--recorder-bytes`). */
  recorderBytes?: number;
  /** The C++ flight recorder keeps bodies (`--recorder-bodies`), at most `bodyLimit` bytes each. */
  recorderBodies?: boolean;
  /** Most route records before `[other]` (route-metrics.ts ROUTE_DEFAULTS). */
  maxRoutes?: number;
  /** What labels made from requests must not show (the sidecar's tap policy; proxy/metric-labels.ts). */
  labelSecrets?: NativeLabelSecrets;
  /**
   * Every observed connection's open and detection records reach JS (for MESHTAP_TRACE=detect).
   * Default: a connection is announced only before the first record JS needs (a tapped exchange,
   * HTTP/2 bytes), so one nobody taps costs the JS thread nothing.
   */
  announceConnections?: boolean;
}

/** What the native engines of this process handed the JS thread so far (see `nativeDeliveries`). */
export interface NativeDeliveries {
  /** Doorbell wakes of the JS thread. */
  wakes: number;
  /** Records decoded, every kind. */
  records: number;
  /** The most record batches the JS thread held at once (taken from C++, not yet fully handled). */
  maxBatchesHeld: number;
}

const deliveries: NativeDeliveries = { wakes: 0, records: 0, maxBatchesHeld: 0 };

/**
 * How many wakes and records the native engines of this process cost the JS thread since it
 * started: the proof that, with nobody tapping, HTTP/1 and opaque connections cost none.
 */
export function nativeDeliveries(): NativeDeliveries {
  return { ...deliveries };
}

/** The running native engine, as proxy/ drives it. */
export interface NativeEngine {
  /** Creates the listener's sockets in C++; returns the bound address (`127.0.0.1:4140`). Throws MT_LISTEN. */
  listen(spec: NativeListenerSpec): string;
  /** JS stops following connection `id` (opaque, gave up, upgraded): no more records for it. */
  unobserve(id: number): void;
  /** Whether exchanges whose request head comes from now on send their body bytes (tap bodies, --recorder-bodies). */
  setWantBodies(want: boolean): void;
  tcpStats(): NativeTcpStats[];
  /** Totals counted in C++ since start: bound hits by bound, upstream connect errors by direction and code. */
  counters(): NativeCounters;
  /** Handles every pending record now, on the calling (JS) thread. */
  flush(): void;
  /** HTTP metrics of the exchanges observed in C++, one consistent read (at scrape time). */
  httpMetrics(): NativeHttpMetrics;
  /** Exchanges in the C++ flight recorder that ended at or after `sinceEpochMs` (all without), oldest first. */
  recorderQuery(sinceEpochMs?: number): NativeRecordedList;
  recorderStats(): NativeRecorderStats;
  /** Whether a tap subscriber is attached: only then do exchanges observed in C++ reach JS. */
  setTapped(on: boolean): void;
  /**
   * Whether every attached tap subscriber is not reading (its queue full): exchanges starting now
   * do not reach JS; their events are counted instead (`shedEvents`), decided at each request head.
   */
  setShedding(on: boolean): void;
  /** Events of exchanges not sent to JS while shedding, since the engine started (kept after close). */
  shedEvents(): number;
  /**
   * The tap gate (core/tap-gate.h): at most `rps` tapped exchanges per second (a 2 s burst) reach
   * JS from now on, the rest are counted, decided at each request head; 0 turns it off. Returns
   * `tapGated()` as of the switch, exactly (what was gated under the previous rate).
   */
  setTapGate(rps: number): number;
  /** Exchanges the tap gate kept from JS since the engine started (kept after close). */
  tapGated(): number;
  /**
   * While a policy is set, HTTP/2 streams starting now bring their plain events' JSON
   * (NativeEventJson, written on the worker threads); undefined: not any more.
   */
  setTapJson(policy: NativeTapJsonPolicy | undefined): void;
  /** Stops the workers, closes every listener and connection. Idempotent. */
  close(): void;
}

const RECORD_HEADER_BYTES = 24;

/** performance.now() of a CLOCK_MONOTONIC instant in ns (both count from the same clock as libuv's hrtime). */
function monotonicToPerfMs(originNs: number, hi: number, lo: number): number {
  return (hi * 4294967296 + lo - originNs) / 1e6;
}

/**
 * Decodes records of one batch (layout: native/src/core/event-ring.h) from offset `at`, at most
 * `maxRecords` of them; returns the offset where it stopped (batch.length when done).
 */
export function decodeNativeRecords(batch: Buffer, at: number, maxRecords: number, originNs: number, h: NativeRecordHandler): number {
  const end = batch.length;
  for (let n = 0; n < maxRecords && at + RECORD_HEADER_BYTES <= end; n++) {
    deliveries.records++;
    const type = batch[at];
    const code = batch[at + 1];
    const id = batch.readUInt32LE(at + 4);
    const len = batch.readUInt32LE(at + 8);
    const t = monotonicToPerfMs(originNs, batch.readUInt32LE(at + 20), batch.readUInt32LE(at + 16));
    const from = at + RECORD_HEADER_BYTES;
    at = from + ((len + 7) & ~7);
    switch (type) {
      case 1: {
        const text = batch.toString('latin1', from, from + len);
        const nl = text.indexOf('\n');
        h.open(id, code === 0 ? 'in' : 'out', text.slice(0, nl), text.slice(nl + 1), t);
        break;
      }
      case 2:
      case 3:
        h.data(id, type === 2, batch.subarray(from, from + len), t);
        break;
      case 4:
      case 5:
        h.end(id, type === 4, t);
        break;
      case 6:
        h.close(id, ABORT_ERRORS[code], t);
        break;
      case 7:
        h.connectError(code === 0 ? 'in' : 'out', batch.toString('latin1', from, from + len));
        break;
      case 8:
        h.boundHit(batch.toString('latin1', from, from + len));
        break;
      case 9:
        h.lost(id);
        break;
      case 10:
        h.detected(id, code === 1 ? 'h1' : code === 2 ? 'h2' : code === 4 ? 'h2-native' : 'opaque', batch.toString('latin1', from, from + len), t);
        break;
      case 11:
      case 12: {
        // code bit 2: the head's length, then the head, then the event's JSON (event-ring.h kH1HeadJson).
        let head: string;
        let json: NativeEventJson | undefined;
        if ((code & 2) !== 0) {
          const headEnd = from + 8 + batch.readUInt32LE(from + 4);
          head = batch.toString('latin1', from + 8, headEnd);
          h2At = headEnd;
          json = readEventJson(batch, from + len);
        } else head = batch.toString('latin1', from + 4, from + len);
        if (type === 11) h.requestHead(id, batch.readUInt32LE(from), head, (code & 1) !== 0, t, json);
        else h.responseHead(id, batch.readUInt32LE(from), head, t, json);
        break;
      }
      case 13:
        h.body(id, batch.readUInt32LE(from), code === 0, batch.subarray(from + 4, from + len));
        break;
      case 14: {
        const errLen = batch.readUInt32LE(from + 4);
        const reqTrailersLen = batch.readUInt32LE(from + 8);
        const trailersLen = batch.readUInt32LE(from + 12);
        const requestBytes = batch.readUInt32LE(from + 20) * 4294967296 + batch.readUInt32LE(from + 16);
        const responseBytes = batch.readUInt32LE(from + 28) * 4294967296 + batch.readUInt32LE(from + 24);
        let p = from + 32;
        const error = errLen > 0 ? batch.toString('latin1', p, p + errLen) : undefined;
        p += errLen;
        const requestTrailers = reqTrailersLen > 0 ? batch.toString('latin1', p, p + reqTrailersLen) : '';
        p += reqTrailersLen;
        const trailers = trailersLen > 0 ? batch.toString('latin1', p, p + trailersLen) : '';
        h2At = p + trailersLen;
        h.exchangeEnd(id, batch.readUInt32LE(from), { error, responseComplete: (code & 1) !== 0, requestBytes, responseBytes, requestTrailers, trailers }, t, readEventJson(batch, from + len));
        break;
      }
      case 15:
        h.giveUp(id, code, t);
        break;
      case 16:
        h.upgraded(id, t);
        break;
      case 17:
        h.h2c(id, batch.readUInt32LE(from), t, code === 1);
        break;
      case 18: {
        h2At = from + 4;
        const head: NativeH2Head = { isGrpc: (code & 2) !== 0, method: readStr(batch), scheme: readStr(batch), authority: readStr(batch), path: readStr(batch), headers: readFields(batch) };
        h.h2RequestHead(id, batch.readUInt32LE(from), head, (code & 1) !== 0, t, readEventJson(batch, from + len));
        break;
      }
      case 19:
        h2At = from + 8;
        h.h2ResponseHead(id, batch.readUInt32LE(from), batch.readUInt32LE(from + 4), readFields(batch), t, readEventJson(batch, from + len));
        break;
      case 20: {
        const flags = batch.readUInt32LE(from + 4);
        h2At = from + 40;
        const error = readStr(batch, 'latin1');
        const grpcMessage = readStr(batch);
        const requestTrailers = readFields(batch);
        const trailers = readFields(batch);
        h.h2End(
          id,
          batch.readUInt32LE(from),
          {
            error: (flags & 16) !== 0 ? error : undefined,
            grpcStatus: (flags & 1) !== 0 ? batch.readUInt32LE(from + 12) * 4294967296 + batch.readUInt32LE(from + 8) : undefined,
            grpcMessage: (flags & 2) !== 0 ? grpcMessage : undefined,
            requestCompressed: (flags & 4) !== 0,
            responseCompressed: (flags & 8) !== 0,
            unprocessed: (flags & 32) !== 0 ? 'refused' : (flags & 64) !== 0 ? 'goaway' : undefined,
            requestMessages: batch.readUInt32LE(from + 16),
            responseMessages: batch.readUInt32LE(from + 20),
            requestBytes: batch.readUInt32LE(from + 28) * 4294967296 + batch.readUInt32LE(from + 24),
            responseBytes: batch.readUInt32LE(from + 36) * 4294967296 + batch.readUInt32LE(from + 32),
            requestTrailers,
            trailers,
          },
          t,
          readEventJson(batch, from + len),
        );
        break;
      }
    }
  }
  return at;
}

/**
 * The read position of `readStr` / `readFields` in an HTTP/2 record payload (event-ring.h): module
 * state rather than a reader object, so a record costs no closures (the JS thread decodes three or
 * four of these per tapped gRPC call; its allocations are what its young-generation GC pays for).
 */
let h2At = 0;

/**
 * Recent ASCII header blocks and their lists (readFields), the last block of each length: found by
 * its length and compared whole (hashing a fresh 300-character string for a string-keyed Map cost
 * ~0.6 µs, as much as the list it saves). Bounded: at most FIELDS_CACHE_ENTRIES blocks of at most
 * FIELDS_CACHE_MAX_CHARS each (~128 KiB with their lists), emptied when full.
 */
const fieldsCache = new Map<number, { text: string; list: NativeHeaderList }>();
const FIELDS_CACHE_ENTRIES = 64;
const FIELDS_CACHE_MAX_CHARS = 1024;

/** The str at h2At (UTF-8 unless said); moves h2At past it. */
function readStr(batch: Buffer, encoding: 'latin1' | 'utf8' = 'utf8'): string {
  const n = batch.readUInt32LE(h2At);
  const s = n === 0 ? '' : batch.toString(encoding, h2At + 4, h2At + 4 + n);
  h2At += 4 + n;
  return s;
}

/**
 * The event JSON at h2At if the record has one (it ends at `end`): core/h2-record-sink.cc
 * PutEventJson. ASCII (a plain event's strings are), so its byte offsets are character offsets.
 */
function readEventJson(batch: Buffer, end: number): NativeEventJson | undefined {
  if (h2At >= end) return undefined;
  const at = h2At;
  h2At += 16;
  return { identityAt: batch.readUInt32LE(at), cutFrom: batch.readUInt32LE(at + 4), cutTo: batch.readUInt32LE(at + 8), bodyChars: batch.readUInt32LE(at + 12), text: readStr(batch, 'latin1') };
}

/** The fields at h2At; moves h2At past them. */
function readFields(batch: Buffer): NativeHeaderList {
  const n = batch.readUInt32LE(h2At);
  let at = h2At + 4;
  if (n === 0) {
    h2At = at;
    return [];
  }
  const out: NativeHeaderList = [];
  // A block of ASCII bytes reads the same as latin1 and as UTF-8: decoded in one call and cut
  // into names and values (a decode per name and value was a tenth of the JS thread under a
  // gRPC tap). Otherwise names as latin1, values as UTF-8, one by one.
  let end = at;
  for (let i = 0; i < n; i++) end += 8 + batch.readUInt32LE(end) + batch.readUInt32LE(end + 4);
  if (isAscii(batch.subarray(at, end))) {
    const text = batch.toString('latin1', at, end);
    // The same block as a recent one (a client's calls repeat their headers, a server its
    // trailers): the same list. Lists are never changed once made (observers and redaction assign
    // or copy whole lists), and a list is a function of its block's bytes, which `text` holds
    // whole (lengths included).
    const known = text.length <= FIELDS_CACHE_MAX_CHARS ? fieldsCache.get(text.length) : undefined;
    if (known !== undefined && known.text === text) {
      h2At = end;
      return known.list;
    }
    let p = 0;
    for (let i = 0; i < n; i++) {
      const nameLen = batch.readUInt32LE(at + p);
      const valueLen = batch.readUInt32LE(at + p + 4);
      p += 8;
      out.push([text.slice(p, p + nameLen), text.slice(p + nameLen, p + nameLen + valueLen)]);
      p += nameLen + valueLen;
    }
    if (text.length <= FIELDS_CACHE_MAX_CHARS) {
      if (fieldsCache.size >= FIELDS_CACHE_ENTRIES && known === undefined) fieldsCache.clear();
      fieldsCache.set(text.length, { text, list: out });
    }
    h2At = end;
    return out;
  }
  for (let i = 0; i < n; i++) {
    const nameLen = batch.readUInt32LE(at);
    const valueLen = batch.readUInt32LE(at + 4);
    const p = at + 8;
    out.push([batch.toString('latin1', p, p + nameLen), batch.toString('utf8', p + nameLen, p + nameLen + valueLen)]);
    at = p + nameLen + valueLen;
  }
  h2At = end;
  return out;
}

/**
 * Records handled per macrotask. A batch gathers up to a millisecond of traffic; handling it
 * in one go would emit its events as one burst, which a tap subscriber's bounded queue sees
 * as one instant (the js engine hands over one socket read per macrotask). Yielding between
 * slices lets tap streams flush as they would under the js engine.
 */
const RECORDS_PER_SLICE = 64;

/**
 * Starts the native engine's epoll workers. Records reach `handler` in batches: the workers
 * ring a doorbell at most about once per millisecond and JS takes everything pending at once.
 * Throws MT_NATIVE_MISSING when the addon is not built.
 */
export function startNativeEngine(options: NativeEngineOptions, handler: NativeRecordHandler): NativeEngine {
  const a = addon();
  if (typeof a.NativeEngine !== 'function') {
    throw new MeshtapError('MT_NATIVE_MISSING', 'the native addon is built without the engine; rebuild it: bash scripts/build-native.sh');
  }
  // An addon built from older sources (a checkout updated without a rebuild) lacks what this face
  // calls: say so before a worker starts, instead of a TypeError from a running engine.
  const missing = RAW_ENGINE_METHODS.filter((m) => typeof (a.NativeEngine.prototype as Partial<Record<keyof RawEngine, unknown>>)[m] !== 'function');
  if (missing.length > 0) {
    throw new MeshtapError('MT_NATIVE_STALE', `the native addon is older than this meshtap (its engine has no ${missing.join(', ')}); rebuild it: bash scripts/build-native.sh (or use --engine js)`);
  }
  // Both clocks are libuv's hrtime (CLOCK_MONOTONIC): their offset converts record times.
  const originNs = Number(process.hrtime.bigint()) - performance.now() * 1e6;
  let raw: RawEngine | undefined;
  // Batches taken but not fully handled yet, in order (see RECORDS_PER_SLICE). At most one,
  // except for a flush: a JS thread that falls behind leaves the records in C++'s bounded ring
  // (whose overflow is counted as lost there) instead of piling up batches here.
  const backlog: { batch: Buffer; at: number }[] = [];
  let isScheduled = false;
  // The doorbell rang while a batch was still being handled: take the next one when it is done.
  // C++ rings no more until then (its bell stays pending until drain()).
  let isBellHeld = false;
  const take = () => {
    const batch = raw?.drain();
    if (batch === undefined) return;
    backlog.push({ batch, at: 0 });
    if (backlog.length > deliveries.maxBatchesHeld) deliveries.maxBatchesHeld = backlog.length;
  };
  const work = (maxRecords: number) => {
    while (backlog.length > 0) {
      const head = backlog[0]!;
      head.at = decodeNativeRecords(head.batch, head.at, maxRecords, originNs, handler);
      if (head.at < head.batch.length) break;
      backlog.shift();
    }
    if (backlog.length === 0 && isBellHeld) {
      isBellHeld = false;
      take();
    }
    if (backlog.length > 0 && !isScheduled && maxRecords !== Infinity) {
      isScheduled = true;
      setImmediate(() => {
        isScheduled = false;
        work(RECORDS_PER_SLICE);
      });
    }
  };
  const ring = () => {
    if (backlog.length > 0) {
      isBellHeld = true;
      return;
    }
    take();
    if (!isScheduled) work(RECORDS_PER_SLICE);
  };
  const drain = () => {
    isBellHeld = false;
    take();
    work(Infinity);
  };
  // shedEvents() and tapGated() as last read (the counts stay readable after close).
  let shed = 0;
  let gated = 0;
  let isClosed = false;
  raw = new a.NativeEngine(options, () => {
    deliveries.wakes++;
    ring();
  });
  const engine = raw;
  return {
    listen(spec) {
      try {
        return engine.listen(spec);
      } catch (err) {
        const code = (err as { code?: string }).code ?? (err as Error).message;
        throw new MeshtapError('MT_LISTEN', `cannot listen on ${spec.host.includes(':') ? `[${spec.host}]` : spec.host}:${spec.port}: ${code}`, { cause: err });
      }
    },
    unobserve: (id) => engine.unobserve(id),
    setWantBodies: (want) => engine.setWantBodies(want),
    tcpStats: () => engine.tcpStats(),
    counters() {
      const busyPoll: NativeBusyPoll = { maxUs: 0, caught: 0, missed: 0, caughtNs: 0, missedNs: 0 };
      const out: NativeCounters = { boundHits: new Map(), protocolDetected: new Map(), observerErrors: new Map(), connectErrors: [], splicedBytes: 0, busyPoll };
      for (const [key, count] of engine.counters()) {
        const parts = key.split('\t');
        if (parts[0] === 'bound') out.boundHits.set(parts[1]!, count);
        else if (parts[0] === 'busypoll') {
          if (parts[1] === 'max-ns') busyPoll.maxUs = count / 1000;
          else if (parts[1] === 'caught') busyPoll.caught = count;
          else if (parts[1] === 'missed') busyPoll.missed = count;
          else if (parts[1] === 'caught-ns') busyPoll.caughtNs = count;
          else if (parts[1] === 'missed-ns') busyPoll.missedNs = count;
        }
        else if (parts[0] === 'detected') out.protocolDetected.set(parts[1]!, count);
        else if (parts[0] === 'gaveup') out.observerErrors.set(parts[1]!, count);
        else if (parts[0] === 'splice') out.splicedBytes = count;
        else out.connectErrors.push({ direction: parts[1] as 'inbound' | 'outbound', code: parts[2]!, count });
      }
      return out;
    },
    flush: () => drain(),
    httpMetrics: () => engine.httpMetrics(),
    recorderQuery(sinceEpochMs) {
      // Pre-filtered in C++ by end time, a millisecond early: the caller compares event times (ms) exactly.
      const sinceNs = sinceEpochMs === undefined ? 0 : Math.max(0, (sinceEpochMs - 1 - performance.timeOrigin) * 1e6 + originNs);
      return decodeRecorderRecords(engine.recorderQuery(sinceNs), originNs);
    },
    recorderStats() {
      const s = engine.recorderStats();
      return { bytes: s.bytes, count: s.count, evicted: s.evicted, oldestEndMs: s.count > 0 ? (s.oldestEndNs - originNs) / 1e6 : undefined };
    },
    setTapped: (on) => engine.setTapped(on),
    setShedding: (on) => engine.setShedding(on),
    shedEvents() {
      if (!isClosed) shed = engine.shedEvents();
      return shed;
    },
    setTapGate(rps) {
      if (!isClosed) gated = engine.setTapGate(rps);
      return gated;
    },
    setTapJson(policy) {
      if (!isClosed) engine.setTapJson(policy === undefined ? null : { ...policy, originNs, timeOrigin: performance.timeOrigin });
    },
    tapGated() {
      if (!isClosed) gated = engine.tapGated();
      return gated;
    },
    close() {
      if (!isClosed) shed = engine.shedEvents();
      if (!isClosed) gated = engine.tapGated();
      isClosed = true;
      engine.close();
      drain(); // everything left, and the close records of connections still open
    },
  };
}

// ---- HTTP metrics and the flight recorder in C++ (core/metrics-http.h, core/recorder-ring.h) ----

/** Latency buckets as counted (not cumulative), one per LATENCY_BUCKETS_MS bound then +Inf. */
export interface NativeLatency {
  buckets: number[];
  sum: number;
  count: number;
}

/** What the C++ HTTP metrics hold (the js engine's http-metrics.ts and route-metrics.ts records). */
export interface NativeHttpMetrics {
  routes: Array<{
    direction: 'inbound' | 'outbound';
    authority: string;
    target: string;
    requests: number;
    /** Requests the server never processed (HTTP/2 refused or past a GOAWAY); absent when none. */
    unprocessed?: { refused: number; goaway: number };
    responses: Array<{ status: number; grpcStatus?: number; failure: boolean; count: number }>;
    latency: Array<{ status: number } & NativeLatency>;
  }>;
  peers: Array<{
    direction: 'inbound' | 'outbound';
    target: string;
    source?: string;
    records: Array<{ method: string; route: string; protocol: string; success: number; failure: number } & NativeLatency>;
  }>;
}

export interface NativeRecorderStats {
  bytes: number;
  count: number;
  evicted: number;
  /** performance.now() ms of the oldest held exchange's end; undefined when empty. */
  oldestEndMs: number | undefined;
}

/** What a C++ flight-recorder exchange holds, whichever way it goes (into the recorder or out of it). */
interface NativeExchangeFields {
  connId: number;
  stream: number;
  isHttp10: boolean;
  src: string;
  dst: string;
  /** 0: no response. */
  status: number;
  requestHead: string;
  responseHead: string;
  requestTrailers: string;
  trailers: string;
  requestBytes: number;
  responseBytes: number;
  error?: string;
  /** HTTP/1: the response came whole (H1Exchange::response_complete). */
  responseComplete?: boolean;
  /** With --recorder-bodies: per direction the bytes kept, the whole size, whether cut. */
  bodies?: Array<{ data: Buffer; size: number; truncated: boolean }>;
}

/**
 * One exchange of the C++ flight recorder, decoded: heads as sent (latin1), times in performance.now()
 * ms. An HTTP/2 or gRPC stream has `h2` (its heads and trailer texts are then '').
 */
export interface NativeRecordedExchange extends NativeExchangeFields {
  proxy: 'in' | 'out';
  startMs: number;
  responseMs: number;
  endMs: number;
  h2?: NativeRecordedH2;
}

/** What an HTTP/2 stream record holds beyond the shared fields (proxy/h2/stream-tracker.ts's Exchange). */
export interface NativeRecordedH2 extends NativeH2Fields {
  /** Stream 1 of a connection upgraded from HTTP/1: its request was HTTP/1. */
  isFromH2c: boolean;
  /** A final response head was seen: `status` 0 with it is a missing or malformed `:status` (its fields are kept). */
  hasResponseHead: boolean;
}

/**
 * A recorder query answer (layout: native/src/core/recorder-ring.h), decoded one exchange at a
 * time when read: a `--last 10` query over a full recorder decodes 10, not every record.
 */
export interface NativeRecordedList {
  readonly length: number;
  /** Exchange `i` (0 = oldest). */
  get(i: number): NativeRecordedExchange;
}


export interface NativeMetricsLimits {
  maxAuthorities?: number;
  maxRoutes?: number;
  maxPeers?: number;
  /** What labels made from requests must not show (proxy/metric-labels.ts LabelSecrets); default: the defaults. */
  secrets?: NativeLabelSecrets;
}

/** Lower-case sensitive header names and secret query parameter names (proxy/metric-labels.ts LabelSecrets). */
export interface NativeLabelSecrets {
  readonly sensitiveHeaders: readonly string[];
  readonly queryParams: readonly string[];
}

/** The C++ HTTP metrics registry fed from JS (tests compare it with the js engine's on the same exchanges). */
export interface NativeMetricsHarness {
  open(id: number, inbound: boolean, src: string, dst: string): void;
  /** Raw authority, path and request headers: the harness makes the labels as the C++ sinks do. */
  request(id: number, authority: string, path: string, requestHeaders?: ReadonlyArray<readonly [string, string]>): void;
  end(id: number, o: { authority: string; method: string; path: string; requestHeaders?: ReadonlyArray<readonly [string, string]>; protocol: string; status: number; grpcStatus?: number; isFailed: boolean; latencyMs?: number; unprocessed?: 'refused' | 'goaway' }): void;
  snapshot(): NativeHttpMetrics;
  counters(): [string, number][];
}

interface RawRecorderHarness {
  push(ex: NativeRecorderInput): void;
  query(sinceEndNs: number): Buffer;
  stats(): { bytes: number; count: number; evicted: number; oldestEndNs: number };
}

/** One exchange as the C++ HTTP/1 observer hands it to the recorder (times: CLOCK_MONOTONIC ns). */
export interface NativeRecorderInput extends NativeExchangeFields {
  inbound: boolean;
  startNs: number;
  responseNs: number;
  endNs: number;
}

/** The C++ flight recorder fed from JS, for tests (`originNs` 0: record times read as ns / 1e6). */
export interface NativeRecorderHarness {
  push(ex: NativeRecorderInput): void;
  query(sinceEndNs?: number): NativeRecordedList;
  stats(): { bytes: number; count: number; evicted: number; oldestEndNs: number };
}

/** Recorder query answers are decoded in recorder-decode.ts (the layout: core/recorder-ring.h). */
export { decodeRecorderRecords };

/** The C++ label helpers and metrics registry, for the tests that hold them to the TypeScript originals. Throws MT_NATIVE_MISSING. */
export function loadNativeMetricsTools(): {
  routeTemplate(target: string, isGrpc: boolean): string;
  redactAuthority(authority: string): string;
  /** A request's labels as the C++ sinks make them (native/src/core/metrics-secrets.h ShowRequest). */
  showRequest(secrets: NativeLabelSecrets | undefined, authority: string, path: string, requestHeaders: ReadonlyArray<readonly [string, string]>): { authority: string; path: string };
  /** Whether an HTTP/1 request head (its octets) may hide a value (metrics-secrets.h MayHideValues): when not, its labels are made without decoding it. */
  mayHideValues(secrets: NativeLabelSecrets | undefined, head: Buffer): boolean;
  /** The same for a request whose fields are apart (metrics-secrets.h MayHideFieldValues, the HTTP/2 sink's pre-check). */
  mayHideFieldValues(secrets: NativeLabelSecrets | undefined, authority: string, path: string, fields: ReadonlyArray<readonly [string, string]>): boolean;
  /** The ported JS built-ins (null where decodeURIComponent throws). */
  base64ToUtf8(s: string): string;
  encodeUriComponent(s: string): string;
  decodeUriComponent(s: string): string | null;
  redactUrlCredentials(s: string): string;
  createHarness(limits?: NativeMetricsLimits): NativeMetricsHarness;
  createRecorder(maxBytes: number): NativeRecorderHarness;
} {
  const a = addon();
  return {
    routeTemplate: (t, g) => a.routeTemplate(t, g),
    redactAuthority: (x) => a.redactAuthority(x),
    showRequest: (secrets, authority, path, headers) => a.showRequest(secrets, authority, path, headers),
    mayHideValues: (secrets, head) => a.mayHideValues(secrets, head),
    mayHideFieldValues: (secrets, authority, path, fields) => a.mayHideFieldValues(secrets, authority, path, fields),
    base64ToUtf8: (x) => a.base64ToUtf8(x),
    encodeUriComponent: (x) => a.encodeUriComponent(x),
    decodeUriComponent: (x) => a.decodeUriComponent(x),
    redactUrlCredentials: (x) => a.redactUrlCredentials(x),
    createHarness: (limits = {}) => new a.MetricsHarness(limits),
    createRecorder(maxBytes) {
      const r = new a.RecorderHarness(maxBytes);
      return { push: (ex) => r.push(ex), query: (since = 0) => decodeRecorderRecords(r.query(since), 0), stats: () => r.stats() };
    },
  };
}

/** One HTTP/2 stream as the C++ observer fills core/h2-exchange.h (strings latin1 octets; times CLOCK_MONOTONIC ns). */
export interface NativeH2ExchangeInput extends NativeH2Fields {
  stream: number;
  /** Stream 1 after a 101 to h2c, with what the HTTP/1 sinks decided at its request head. */
  fromH2c?: boolean;
  toJs?: boolean;
  bodiesToJs?: boolean;
  status: number;
  requestBytes: number;
  responseBytes: number;
  startNs: number;
  responseNs: number;
  endNs: number;
  error?: string;
}

export interface NativeH2SinkHarnessOptions {
  connId: number;
  inbound: boolean;
  src: string;
  dst: string;
  bodyLimit?: number;
  recorderBytes?: number;
  recorderBodies?: boolean;
}

/**
 * The C++ HTTP/2 sinks (record sink to JS, metrics and flight recorder, teed as the engine tees
 * them) fed step by step from JS without traffic (native/src/h2-sink-napi.cc), for the tests that
 * hold them to the js engine's exchange sink. Record times and recorder times are ns / 1e6 (origin 0).
 */
export interface NativeH2SinkHarness {
  setTapped(on: boolean): void;
  setWantBodies(on: boolean): void;
  /** As NativeEngine.setTapJson, with record times read as ns / 1e6 (originNs 0) and this timeOrigin. */
  setTapJson(policy: (NativeTapJsonPolicy & { originNs: number; timeOrigin: number }) | null): void;
  /** Returns whether the sinks asked for the stream's DATA bytes (capture_bodies). */
  requestHead(ex: NativeH2ExchangeInput): boolean;
  responseHead(ex: NativeH2ExchangeInput): void;
  /** DATA payload of a stream whose sinks asked for it (ignored otherwise, as the observer does). */
  body(stream: number, isRequest: boolean, data: Buffer): void;
  end(ex: NativeH2ExchangeInput): void;
  giveUp(reason: number): void;
  /** The records the record sink wrote since the last drain (decode with decodeNativeRecords, originNs 0). */
  drain(): Buffer | undefined;
  httpMetrics(): NativeHttpMetrics;
  recorderQuery(sinceEndNs: number): Buffer;
  recorderStats(): { bytes: number; count: number; evicted: number; oldestEndNs: number };
}

/**
 * One connection's C++ observation (native/src/driver-napi.cc: detection, the HTTP/1 and HTTP/2
 * observers and their sinks) fed bytes as a worker feeds them, with the caller's clock (ns), for
 * the tests that hold its records to the js engine's. Record times read as ns / 1e6 (origin 0).
 */
export interface NativeDriverHarness {
  setTapped(on: boolean): void;
  setWantBodies(on: boolean): void;
  setTapJson(policy: (NativeTapJsonPolicy & { originNs: number; timeOrigin: number }) | null): void;
  data(fromClient: boolean, bytes: Buffer, nowNs: number): void;
  end(fromClient: boolean, nowNs: number): void;
  close(nowNs: number): void;
  drain(): Buffer | undefined;
}

/** A C++ observation driver harness (see NativeDriverHarness). Throws MT_NATIVE_MISSING. */
export function createNativeDriverHarness(options: { connId: number; inbound: boolean; src: string; dst: string; bodyLimit?: number }): NativeDriverHarness {
  return new (addon().DriverHarness)(options);
}

/** A C++ HTTP/2 sink harness (see NativeH2SinkHarness). Throws MT_NATIVE_MISSING. */
export function createNativeH2SinkHarness(options: NativeH2SinkHarnessOptions): NativeH2SinkHarness {
  return new (addon().H2SinkHarness)(options);
}
