/**
 * The sidecar, assembled: listeners as data (explicit forwards, transparent inbound/outbound)
 * → the engine (accept, forward) → observation (detect, observe) → events → metrics, flight
 * recorder, tap hub; plus the admin server, the tap service and registration with the tap API.
 * Reads like a sentence; each concern lives in its own file, and `engine.ts` is the seam.
 */
import type { KeyObject } from 'node:crypto';
import { createServer } from 'node:net';
import { createLogger, MeshtapError, startAdminServer, type AdminServer } from '../common/index.js';
import { DEFAULT_SECRET_QUERY_PARAMS, DEFAULT_SENSITIVE_HEADERS } from '../tap-protocol/index.js';
import type { HostPort, ListenerInfo, ListenerSpec, OpenObservation, OriginalDstLookup, RunningEngine } from './engine.js';
import { IDLE_TIMEOUT_MS } from './forwarder.js';
import type { Identity, ObservationServices } from './exchange-events.js';
import { createFlightRecorder, type FlightRecorder } from './flight-recorder.js';
import { createProxyMetrics, type ProxyMetrics } from './metrics.js';
import type { ObservationOptions } from './observation-driver.js';
import { DEFAULT_OBSERVER_LIMITS } from './observe.js';
import { bodyRedactionRules } from './body-redact.js';
import { createPeerDirectory, loopbackSourceAddress, type PeerDirectory } from './peers.js';
import { createTapHub, type TapHub } from './tap-hub.js';
import { reachableAddress as reachable } from './tap-audience.js';
import { startTapService, type TapService } from './tap-service.js';

export type { HostPort, OriginalDstLookup, ListenerInfo };

/** `--forward [in:|out:]LISTEN=TARGET` */
export interface ForwardSpec {
  proxy: 'in' | 'out';
  listen: HostPort;
  target: HostPort;
}

export interface SidecarOptions {
  forwards: ForwardSpec[];
  /** Transparent inbound: the accepted socket's local address is the original destination; the app is reached on `appHost`. */
  inbound?: { listen: HostPort; appHost?: string };
  /** Transparent outbound: the original destination comes from `lookup`. */
  outbound?: { listen: HostPort; lookup: OriginalDstLookup };
  admin?: HostPort;
  tap?: HostPort;
  identity: Identity;
  /** Register with this tap API (local mode). */
  tapApi?: string;
  /** The tap API's registration token (`--tap-api-token`), sent as a bearer token. */
  tapApiToken?: string;
  /** The tap API's Ed25519 public key (base64 raw), if known up front. */
  tapPublicKey?: string;
  /**
   * The pod's IP (downward API): tells the tap API where a wildcard listener is reached, and is
   * one of the tap addresses grants may be addressed to.
   */
  podIp?: string;
  /** Refuse grant-less loopback taps too. */
  requireGrant?: boolean;
  /** Peer IPs trusted like loopback (the host end of `meshtap run --netns`'s veth); not with requireGrant. */
  tapTrustPeers?: string[];
  recorderBytes?: number;
  recorderBodies?: boolean;
  bodyLimit?: number;
  /** Extra secret body fields (names or JSON paths) redacted besides the defaults (body-redact.ts). */
  redactBodyFields?: string[];
  /** Content types whose bodies are captured (empty: all). */
  captureContentTypes?: string[];
  /** A body over the capture limit: truncated (default) or dropped. */
  bodyOverLimit?: 'truncate' | 'drop';
  /** Milliseconds a second the tap hub may spend decoding compressed bodies (body-redact.ts DECODE_BUDGET_MS_PER_SECOND). */
  decodeBudgetMs?: number;
  sensitiveHeaders?: string[];
  /**
   * Explicit `out:` forwards to a loopback target connect from this sidecar's own loopback
   * address (peers.ts `loopbackSourceAddress`) so the callee's sidecar can name it. Default: on
   * when registering with a tap API (`--tap-api`) and the address can be bound.
   */
  loopbackSource?: boolean;
  /** The pod's labels, registered with the tap API (NetworkPolicy drafts select pods by them). */
  podLabels?: Record<string, string>;
  /** `false` = forwarding only (bench switch `--observe none`). */
  observe?: boolean;
  detectTimeoutMs?: number;
  /** Close connections idle this long (0: never); default `IDLE_TIMEOUT_MS` (1 h, as Envoy). */
  idleTimeoutMs?: number;
  /**
   * `js`: node:net sockets. `native`: C++ epoll workers own the listeners and the forwarding
   * (native/; needs the addon, MT_NATIVE_MISSING otherwise); outbound original destinations then
   * come from BPF's getsockopt in C++ (`outbound.lookup` is not used). Required: the CLI's default
   * (native where built, else js with a line; bin/engine-choice.ts) is the CLI's to decide, and a
   * caller that said nothing once silently ran js where native was meant.
   */
  engine: 'js' | 'native';
  /** Native engine: epoll worker threads (`--native-threads`, default 1). */
  nativeThreads?: number;
  /**
   * Native engine: the longest a worker busy-polls before it blocks, µs (`--busy-poll-us`; 0:
   * never; unset: the engine's default, 50). Polling spares the peers the cost of waking an idle
   * CPU and cuts latency, for some of the sidecar's own CPU (native/src/core/busy-poll.h).
   */
  busyPollUs?: number;
}

export interface Sidecar {
  readonly listeners: ListenerInfo[];
  readonly adminAddress?: string;
  readonly tapAddress?: string;
  readonly metrics: ProxyMetrics;
  readonly recorder: FlightRecorder;
  readonly hub: TapHub;
  /** Who the other sidecars are, as of the last registration heartbeat (read-only: tests wait on it). */
  readonly peers: Pick<PeerDirectory, 'version' | 'lookup'>;
  close(): Promise<void>;
}

/**
 * The flight recorder's default bound differs per engine because their records do: each holds at
 * least 5 minutes at 100 exchanges/s with realistic heads (js 271 B per exchange, C++ 130 B:
 * docs/decisions.md), and the C++ ring's pages are resident once it has filled.
 */
export const DEFAULTS = {
  recorderBytes: 8 * 1024 * 1024,
  nativeRecorderBytes: 4 * 1024 * 1024,
  bodyLimit: 64 * 1024,
  detectTimeoutMs: 1000,
  idleTimeoutMs: IDLE_TIMEOUT_MS,
  /** The native engine's busy-poll bound, µs (native/src/core/engine-shared.h busy_poll_max_ns). */
  busyPollUs: 50,
  /** The largest bound accepted: past ~100 µs a worker under load burns its whole CPU polling (docs/decisions.md). */
  maxBusyPollUs: 1000,
};

const WORKLOAD_LABEL: Record<string, string> = {
  deploy: 'deployment', deployment: 'deployment', sts: 'statefulset', statefulset: 'statefulset', ds: 'daemonset',
  daemonset: 'daemonset', job: 'job', cronjob: 'cronjob', rs: 'replicaset', replicaset: 'replicaset', po: 'pod', pod: 'pod',
};

/**
 * The sidecar's listeners as data, in the order they are opened (forwards, inbound, outbound).
 * `sourceAddress`: explicit `out:` forwards to 127.0.0.1 connect from it (peers.ts).
 */
export function listenerSpecs(o: Pick<SidecarOptions, 'forwards' | 'inbound' | 'outbound'>, sourceAddress?: string): ListenerSpec[] {
  const specs: ListenerSpec[] = o.forwards.map((f) => ({
    kind: 'forward',
    proxy: f.proxy,
    listen: f.listen,
    target: f.proxy === 'out' && sourceAddress && f.target.host === '127.0.0.1' ? { ...f.target, localAddress: sourceAddress } : f.target,
  }));
  if (o.inbound) specs.push({ kind: 'inbound', proxy: 'in', listen: o.inbound.listen, target: { host: o.inbound.appHost ?? '127.0.0.1' } });
  if (o.outbound) specs.push({ kind: 'outbound', proxy: 'out', listen: o.outbound.listen, lookup: o.outbound.lookup });
  return specs;
}

/** `address` when this host can bind it (127.0.0.0/8 on Linux), else undefined: forwarding never depends on it. */
async function bindableSource(address: string): Promise<string | undefined> {
  const probe = createServer();
  return new Promise((resolve) => {
    probe.once('error', () => {
      createLogger('proxy').warn('cannot use a loopback source address; callers of this sidecar are not named', { address });
      resolve(undefined);
    });
    probe.listen({ host: address, port: 0 }, () => probe.close(() => resolve(address)));
  });
}

export async function startSidecar(o: SidecarOptions): Promise<Sidecar> {
  const [kind, name] = (o.identity.workload ?? '').split('/');
  const sensitiveHeaders = (o.sensitiveHeaders ?? [...DEFAULT_SENSITIVE_HEADERS]).map((h) => h.toLowerCase());
  const bodyRedaction = bodyRedactionRules(o.redactBodyFields ?? []);
  // Metric labels hide what the tap hides from a viewer revealed nothing (metric-labels.ts).
  const labelSecrets = { sensitiveHeaders, queryParams: [...new Set([...DEFAULT_SECRET_QUERY_PARAMS, ...bodyRedaction.fields])] };
  const metrics = createProxyMetrics({
    namespace: o.identity.namespace ?? '',
    workloadKind: WORKLOAD_LABEL[kind ?? ''] ?? '',
    workloadName: name ?? '',
    pod: o.identity.pod ?? '',
  }, { engine: o.engine, labelSecrets });
  /** Other sidecars' inbound and source addresses → workloads, from the tap API. */
  const peers = createPeerDirectory();
  metrics.setPeerLabeler((direction, address) => {
    const p = peers.lookup(address);
    if (!p) return undefined;
    const side = direction === 'outbound' ? 'dst' : 'src';
    return p.workload ? { [`${side}_namespace`]: p.namespace, [`${side}_workload`]: p.workload } : { [`${side}_namespace`]: p.namespace };
  });
  const recorderBytes = o.recorderBytes ?? (o.engine === 'native' ? DEFAULTS.nativeRecorderBytes : DEFAULTS.recorderBytes);
  const recorder = createFlightRecorder(recorderBytes, (n) => metrics.recorderDropped(n));
  const hub = createTapHub({
    sensitiveHeaders,
    bodyRedaction,
    bodyLimit: o.bodyLimit ?? DEFAULTS.bodyLimit,
    ...(o.decodeBudgetMs !== undefined ? { decodeBudgetMs: o.decodeBudgetMs } : {}),
    onDropped: (r, n) => metrics.tapDropped(r, n),
    onBoundHit: (b) => metrics.boundHit(b),
  });
  metrics.setGaugeSource('tapSubscribers', () => hub.count);
  metrics.setGaugeSource('tapHeldBytes', () => hub.heldChars);
  // History is read from the engine's recorder when it keeps one (native: C++ records merged with these).
  let history: FlightRecorder = recorder;
  metrics.setGaugeSource('recorderBytes', () => history.bytes);
  metrics.setGaugeSource('recorderEvents', () => history.size);
  const services: ObservationServices = {
    identity: o.identity,
    metrics,
    recorder,
    hub,
    bodyLimit: o.bodyLimit ?? DEFAULTS.bodyLimit,
    recorderBodies: o.recorderBodies ?? false,
    captureContentTypes: (o.captureContentTypes ?? []).map((t) => t.toLowerCase()),
    bodyOverLimit: o.bodyOverLimit ?? 'truncate',
    peers,
  };
  const observation: ObservationOptions = {
    detectTimeoutMs: o.detectTimeoutMs ?? DEFAULTS.detectTimeoutMs,
    limits: DEFAULT_OBSERVER_LIMITS,
  };

  let engine: RunningEngine | undefined;
  let listeners: ListenerInfo[] = [];
  let ready = false;
  let admin: AdminServer | undefined;
  let tap: TapService | undefined;
  let registration: { stop(): Promise<void> } | undefined;
  let publicKey: KeyObject | string | undefined = o.tapPublicKey;

  const closeAll = async () => {
    ready = false;
    await registration?.stop().catch(() => {});
    engine?.close();
    await Promise.all([admin?.close(), tap?.close()]);
  };

  const sourceAddress = (o.loopbackSource ?? o.tapApi !== undefined) && o.identity.pod ? await bindableSource(loopbackSourceAddress(o.identity.namespace ?? 'default', o.identity.pod)) : undefined;
  try {
    const specs = listenerSpecs(o, sourceAddress);
    const idleTimeoutMs = o.idleTimeoutMs ?? DEFAULTS.idleTimeoutMs;
    if (o.engine === 'native') {
      const { startNativeDataPath } = await import('./native-engine.js');
      engine = await startNativeDataPath(specs, { threads: o.nativeThreads ?? 1, observe: o.observe ?? true, idleTimeoutMs, recorderBytes, ...(o.busyPollUs !== undefined ? { busyPollUs: o.busyPollUs } : {}) }, services, observation);
    } else {
      // The js engine's listeners and observers are loaded only for it: the native engine observes
      // in C++, and these modules cost an idle native sidecar memory (docs/decisions.md).
      const [{ startListeners }, { createObservationDriver }] = await Promise.all([import('./listeners.js'), import('./observation-driver.js')]);
      const open: OpenObservation | undefined = (o.observe ?? true) ? (info, onStop) => createObservationDriver(info, services, observation, onStop) : undefined;
      engine = await startListeners(specs, metrics, open, { idleTimeoutMs });
    }
    listeners = engine.listeners;
    history = engine.recorder ?? recorder;
    if (o.tap) {
      tap = await startTapService(o.tap, {
        hub,
        recorder: history,
        metrics,
        pod: o.identity.pod ?? '',
        namespace: o.identity.namespace ?? '',
        trustLoopback: !o.requireGrant,
        trustedPeers: o.requireGrant ? [] : (o.tapTrustPeers ?? []),
        publicKey: () => publicKey,
        recorderBodies: o.recorderBodies ?? false,
        flushObservation: () => engine?.flush?.(),
        ...(o.podIp ? { podIp: o.podIp } : {}),
      });
    }
    if (o.admin) admin = await startAdminServer(o.admin, { what: 'admin', registry: metrics.registry, isReady: () => ready, beforeScrape: () => engine?.flush?.() });
    if (o.tapApi) {
      if (!tap) throw new MeshtapError('MT_USAGE', '--tap-api needs --tap (the tap API reaches the sidecar on its tap port)');
      const { startRegistration } = await import('./tap-registration.js');
      registration = startRegistration({
        tapApiUrl: o.tapApi,
        ...(o.tapApiToken ? { token: o.tapApiToken } : {}),
        identity: { workload: o.identity.workload, namespace: o.identity.namespace ?? 'default', pod: o.identity.pod ?? '' },
        tapAddress: reachable(tap.address, o.podIp),
        adminAddress: admin ? reachable(admin.address, o.podIp) : undefined,
        onPublicKey: (key) => {
          // A key given on the command line (or by the injector) is pinned; otherwise trust the registration's.
          if (!o.tapPublicKey) publicKey = key;
        },
        inboundAddresses: listeners.filter((l) => l.proxy === 'in').map((l) => reachable(l.address, o.podIp)),
        ...(sourceAddress ? { sourceAddresses: [sourceAddress] } : {}),
        ...(o.podLabels ? { labels: o.podLabels } : {}),
        onPeers: (list) => peers.replace(list),
      });
    }
  } catch (err) {
    await closeAll();
    throw err;
  }
  ready = true;
  return {
    listeners,
    adminAddress: admin?.address,
    tapAddress: tap?.address,
    metrics,
    recorder: history,
    hub,
    peers,
    close: closeAll,
  };
}
