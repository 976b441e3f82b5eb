/**
 * The sidecar, assembled: listeners (explicit forwards, transparent inbound/outbound) →
 * connection (forward, detect, observe) → events → metrics, flight recorder, tap hub; plus the
 * admin server, the tap service and registration with the tap API. Reads like a sentence;
 * each concern lives in its own file.
 */
import * as net from 'node:net';
import type { KeyObject } from 'node:crypto';
import { createLogger, MeshtapError, startAdminServer, type AdminServer } from '../common/index.js';
import { formatAddr, IDLE_TIMEOUT_MS, proxyConnection, reset, type ConnectionOptions } from './connection.js';
import { DEFAULT_SENSITIVE_HEADERS } from '../tap-protocol/index.js';
import type { Identity, ObservationServices } from './exchange-events.js';
import { createFlightRecorder, type FlightRecorder } from './flight-recorder.js';
import { createProxyMetrics, type ProxyMetrics } from './metrics.js';
import { DEFAULT_OBSERVER_LIMITS } from './observe.js';
import { createTapHub, type TapHub } from './tap-hub.js';
import { reachableAddress as reachable } from './tap-audience.js';
import { startTapService, type TapService } from './tap-service.js';

const log = createLogger('proxy');

export interface HostPort {
  host: string;
  port: number;
}

/** `--forward [in:|out:]LISTEN=TARGET` */
export interface ForwardSpec {
  proxy: 'in' | 'out';
  listen: HostPort;
  target: HostPort;
}

/** Where an outbound connection was really going (BPF's SO_ORIGINAL_DST, or a test's table). */
export type OriginalDstLookup = (socket: net.Socket) => HostPort | undefined;

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
  recorderBytes?: number;
  recorderBodies?: boolean;
  bodyLimit?: number;
  sensitiveHeaders?: string[];
  /** `false` = forwarding only (bench switch `--observe none`). */
  observe?: boolean;
  detectTimeoutMs?: number;
  /**
   * `js` (default): node:net sockets. `native`: C++ epoll workers own the listeners and the
   * forwarding (native/; needs the addon, MT_NATIVE_MISSING otherwise); outbound original
   * destinations then come from BPF's getsockopt in C++ (`outbound.lookup` is not used).
   */
  engine?: 'js' | 'native';
  /** Native engine: epoll worker threads (`--native-threads`, default 1). */
  nativeThreads?: number;
  /** Close connections idle this long (0: never); default `IDLE_TIMEOUT_MS` (1 h, as Envoy). */
  idleTimeoutMs?: number;
}

export interface ListenerInfo {
  kind: 'forward' | 'inbound' | 'outbound';
  proxy: 'in' | 'out';
  address: string;
  target?: string;
}

export interface Sidecar {
  readonly listeners: ListenerInfo[];
  readonly adminAddress?: string;
  readonly tapAddress?: string;
  readonly metrics: ProxyMetrics;
  readonly recorder: FlightRecorder;
  readonly hub: TapHub;
  close(): Promise<void>;
}

export const DEFAULTS = {
  recorderBytes: 8 * 1024 * 1024,
  bodyLimit: 64 * 1024,
  detectTimeoutMs: 1000,
  idleTimeoutMs: IDLE_TIMEOUT_MS,
};

const WORKLOAD_LABEL: Record<string, string> = {
  deploy: 'deployment', deployment: 'deployment', sts: 'statefulset', statefulset: 'statefulset', ds: 'daemonset',
  daemonset: 'daemonset', job: 'job', cronjob: 'cronjob', rs: 'replicaset', replicaset: 'replicaset', po: 'pod', pod: 'pod',
};

function listen(server: net.Server, at: HostPort, what: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const onError = (err: NodeJS.ErrnoException) => reject(new MeshtapError('MT_LISTEN', `${what}: cannot listen on ${formatAddr(at.host, at.port)}: ${err.code ?? err.message}`, { cause: err }));
    server.once('error', onError);
    server.listen({ host: at.host, port: at.port, backlog: 1024 }, () => {
      server.off('error', onError);
      server.on('error', (err) => log.error('listener error', { what, err: String(err) }));
      const a = server.address() as net.AddressInfo;
      resolve(formatAddr(a.address, a.port));
    });
  });
}

export async function startSidecar(o: SidecarOptions): Promise<Sidecar> {
  const [kind, name] = (o.identity.workload ?? '').split('/');
  const metrics = createProxyMetrics({
    namespace: o.identity.namespace ?? '',
    workloadKind: WORKLOAD_LABEL[kind ?? ''] ?? '',
    workloadName: name ?? '',
    pod: o.identity.pod ?? '',
  }, { engine: o.engine ?? 'js' });
  const recorder = createFlightRecorder(o.recorderBytes ?? DEFAULTS.recorderBytes, (n) => metrics.recorderDropped(n));
  const hub = createTapHub({ sensitiveHeaders: o.sensitiveHeaders ?? [...DEFAULT_SENSITIVE_HEADERS], onDropped: (r, n) => metrics.tapDropped(r, n) });
  metrics.setGaugeSource('tapSubscribers', () => hub.count);
  metrics.setGaugeSource('recorderBytes', () => recorder.bytes);
  metrics.setGaugeSource('recorderEvents', () => recorder.size);
  const services: ObservationServices = {
    identity: o.identity,
    metrics,
    recorder,
    hub,
    bodyLimit: o.bodyLimit ?? DEFAULTS.bodyLimit,
    recorderBodies: o.recorderBodies ?? false,
    peerOf: (address) => peers.get(address),
  };
  /** Other sidecars' inbound addresses → workloads, from the tap API (names outbound destinations). */
  let peers = new Map<string, { workload?: string; namespace: string }>();
  const connOptions: ConnectionOptions = {
    observe: o.observe ?? true,
    detectTimeoutMs: o.detectTimeoutMs ?? DEFAULTS.detectTimeoutMs,
    limits: DEFAULT_OBSERVER_LIMITS,
    idleTimeoutMs: o.idleTimeoutMs ?? DEFAULTS.idleTimeoutMs,
  };

  const servers: net.Server[] = [];
  const sockets = new Set<net.Socket>();
  const listeners: ListenerInfo[] = [];
  let ready = false;
  let admin: AdminServer | undefined;
  let tap: TapService | undefined;
  let registration: { stop(): Promise<void> } | undefined;
  let publicKey: KeyObject | string | undefined = o.tapPublicKey;

  const track = (s: net.Socket) => {
    sockets.add(s);
    s.once('close', () => sockets.delete(s));
  };
  const newServer = (onConn: (s: net.Socket) => void) => {
    const server = net.createServer({ allowHalfOpen: true, noDelay: true }, (s) => {
      track(s);
      s.on('error', () => {}); // replaced by the connection's own handler; never unhandled
      onConn(s);
    });
    servers.push(server);
    return server;
  };

  let native: { close(): void } | undefined;
  const closeAll = async () => {
    ready = false;
    await registration?.stop().catch(() => {});
    native?.close();
    for (const s of servers) s.close();
    for (const s of sockets) s.destroy();
    await Promise.all([admin?.close(), tap?.close()]);
  };

  try {
    if (o.engine === 'native') {
      const { startNativeDataPath } = await import('./native-engine.js');
      const path = await startNativeDataPath(
        { threads: o.nativeThreads ?? 1, forwards: o.forwards, inbound: o.inbound, outbound: o.outbound },
        services,
        connOptions,
      );
      native = path;
      listeners.push(...path.listeners);
    }
    for (const f of o.engine === 'native' ? [] : o.forwards) {
      const target = formatAddr(f.target.host, f.target.port);
      const server = newServer((s) => proxyConnection(s, f.target, { proxy: f.proxy, dst: target }, services, connOptions));
      const address = await listen(server, f.listen, 'forward');
      listeners.push({ kind: 'forward', proxy: f.proxy, address, target });
    }
    if (o.inbound && o.engine !== 'native') {
      const appHost = o.inbound.appHost ?? '127.0.0.1';
      let ownPort = 0;
      const server = newServer((s) => {
        // sk_lookup handed us a connection for the pod's port: that port is the original destination.
        const port = s.localPort ?? 0;
        if (port === ownPort) {
          metrics.boundHit('inbound-loop');
          reset(s);
          return;
        }
        proxyConnection(s, { host: appHost, port }, { proxy: 'in', dst: formatAddr(s.localAddress, port) }, services, connOptions);
      });
      const address = await listen(server, o.inbound.listen, 'inbound');
      ownPort = (server.address() as net.AddressInfo).port;
      listeners.push({ kind: 'inbound', proxy: 'in', address });
    }
    if (o.outbound && o.engine !== 'native') {
      const lookup = o.outbound.lookup;
      const server = newServer((s) => {
        let orig: HostPort | undefined;
        try {
          orig = lookup(s);
        } catch (err) {
          log.warn('original destination lookup failed', { err: String(err) });
        }
        if (!orig) {
          metrics.upstreamConnectError('outbound', 'no-original-dst');
          reset(s);
          return;
        }
        proxyConnection(s, orig, { proxy: 'out', dst: formatAddr(orig.host, orig.port) }, services, connOptions);
      });
      const address = await listen(server, o.outbound.listen, 'outbound');
      listeners.push({ kind: 'outbound', proxy: 'out', address });
    }
    if (o.tap) {
      tap = await startTapService(o.tap, {
        hub,
        recorder,
        metrics,
        pod: o.identity.pod ?? '',
        namespace: o.identity.namespace ?? '',
        trustLoopback: !o.requireGrant,
        publicKey: () => publicKey,
        recorderBodies: o.recorderBodies ?? false,
        ...(o.podIp ? { podIp: o.podIp } : {}),
      });
    }
    if (o.admin) admin = await startAdminServer(o.admin, { what: 'admin', registry: metrics.registry, isReady: () => ready });
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
        onPeers: (list) => {
          peers = new Map(list.map((p) => [p.address, { workload: p.workload, namespace: p.namespace }]));
        },
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
    recorder,
    hub,
    close: closeAll,
  };
}
