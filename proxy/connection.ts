/**
 * One proxied connection: connect upstream, forward bytes both ways at once (with
 * backpressure, half-close and resets mirrored), and only then let an observer read a view
 * of what was forwarded. Forwarding never waits on observation, and nothing an observer does
 * can break the connection: a throw costs that connection's observation, never its bytes.
 */
import * as net from 'node:net';
import { createLogger, formatHostPort } from '../common/index.js';
import { detectProtocol, DETECT_MAX_BYTES } from './detect.js';
import { createExchangeSink, type ConnectionInfo, type ObservationServices } from './exchange-events.js';
import { createH2Observer } from './h2/index.js';
import { createHttp1Observer } from './http1/index.js';
import type { TrafficDirection } from './metrics.js';
import type { ConnectionObserver, CreateObserver, GiveUpReason, ObserverLimits } from './observe.js';

const log = createLogger('proxy.conn');
const detectLog = createLogger('detect');

export interface ConnectionOptions {
  observe: boolean;
  detectTimeoutMs: number;
  limits: ObserverLimits;
  /** Close a connection with no bytes either way for this long (0: never). See `IDLE_TIMEOUT_MS`. */
  idleTimeoutMs: number;
}

/**
 * TCP keepalive on both legs, first probe after this much silence: a peer that vanished (power
 * loss, a dropped NAT entry) is found by the kernel and both sockets are freed, while a healthy
 * connection, however long and quiet, is never cut by it (its peer answers the probes).
 */
export const KEEPALIVE_DELAY_MS = 60_000;
/**
 * Default idle timeout, Envoy's: a peer that is alive but neither sends nor closes (a backend
 * that hangs) would otherwise hold both sockets forever. Bytes in either direction reset it.
 */
export const IDLE_TIMEOUT_MS = 3_600_000;

let nextConnectionId = 1;

/** The observers' clock, shared by every connection. */
const performanceNow = (): number => performance.now();

/**
 * Most server bytes held (by reference) while the client has not yet shown its protocol. An
 * HTTP/2 server's connection preface (SETTINGS, maybe WINDOW_UPDATE) is far smaller; a server
 * that says more before the client speaks is not HTTP, and the connection goes opaque.
 */
const SERVER_FIRST_MAX_BYTES = 16 * 1024;

/** Sends an RST where the platform allows it (a socket still connecting may refuse); never throws. */
export function reset(socket: net.Socket): void {
  if (socket.destroyed) return;
  try {
    socket.resetAndDestroy();
  } catch {
    socket.destroy();
  }
}

export function formatAddr(address: string | undefined, port: number | undefined): string {
  if (!address) return `unknown:${port ?? 0}`;
  const a = address.startsWith('::ffff:') && address.includes('.') ? address.slice(7) : address;
  return formatHostPort(a, `${port}`);
}

/**
 * Proxies `client` to `target`. `dst` is the original destination shown in events (for
 * inbound, the address the client connected to; for outbound, what the app asked for).
 */
export function proxyConnection(
  client: net.Socket,
  target: { host: string; port: number },
  meta: { proxy: 'in' | 'out'; dst: string },
  services: ObservationServices,
  options: ConnectionOptions,
): void {
  const info: ConnectionInfo = {
    id: nextConnectionId++,
    proxy: meta.proxy,
    src: formatAddr(client.remoteAddress, client.remotePort),
    dst: meta.dst,
  };
  const direction: TrafficDirection = meta.proxy === 'in' ? 'inbound' : 'outbound';
  const { metrics } = services;
  const srcStats = metrics.tcpStats(direction, info.dst, 'src');
  const dstStats = metrics.tcpStats(direction, info.dst, 'dst');
  srcStats.opened++;
  srcStats.open++;

  client.setNoDelay(true);
  client.setKeepAlive(true, KEEPALIVE_DELAY_MS);
  const upstream = net.connect({ host: target.host, port: target.port, allowHalfOpen: true, noDelay: true, keepAlive: true, keepAliveInitialDelay: KEEPALIVE_DELAY_MS });
  if (options.idleTimeoutMs > 0) {
    // Every forwarded byte is read or written on the client socket, so its inactivity timer
    // is the connection's. Closed like a FIN from both peers would (graceful, not a reset).
    client.setTimeout(options.idleTimeoutMs, () => {
      metrics.boundHit('idle-timeout');
      log.debug('idle timeout', { conn: info.id, idleTimeoutMs: options.idleTimeoutMs });
      abortError ??= 'idle-timeout';
      client.destroy();
      upstream.destroy();
    });
  }
  let upstreamConnected = false;
  let closedCount = 0;
  let observer: ConnectionObserver | undefined;
  let detecting = options.observe;
  let detectChunks: Buffer[] | undefined;
  let detectLen = 0;
  let detectTimer: NodeJS.Timeout | undefined;
  let abortError: string | undefined;
  // Server bytes that arrived before the client's bytes decided anything: HTTP/2 servers send
  // their SETTINGS on accept, which can beat the client's preface here. Already forwarded;
  // kept (by reference, bounded) only so an h2 observer can read them in order.
  let serverFirst: Buffer[] | undefined;
  let serverFirstLen = 0;

  const stopObserving = () => {
    detecting = false;
    detectChunks = undefined;
    serverFirst = undefined;
    if (detectTimer) clearTimeout(detectTimer);
    detectTimer = undefined;
  };

  const startObserver = (create: CreateObserver, chunks: Buffer[]) => {
    const sink = createExchangeSink(info, services, {
      onGiveUp(reason: GiveUpReason) {
        metrics.observerGaveUp(reason);
        log.debug('observer gave up', { conn: info.id, reason });
        observer = undefined;
      },
      onUpgrade() {
        observer = undefined;
      },
    });
    observer = create({ sink, limits: options.limits, now: performanceNow });
    for (const c of chunks) observeClientData(c);
  };

  /** An observer exception costs this connection's observation, nothing else. */
  const observerThrew = (err: unknown) => {
    metrics.observerGaveUp('internal');
    log.warn('observer threw; connection continues unobserved', { conn: info.id, err: String(err) });
    observer = undefined;
  };
  // One function per observer call rather than a closure per chunk: these run for every chunk.
  const observeClientData = (chunk: Buffer) => {
    try {
      observer?.clientData(chunk);
    } catch (err) {
      observerThrew(err);
    }
  };
  const observeServerData = (chunk: Buffer) => {
    try {
      observer?.serverData(chunk);
    } catch (err) {
      observerThrew(err);
    }
  };
  const observeEnd = (side: 'client' | 'server') => {
    try {
      if (side === 'client') observer?.clientEnd();
      else observer?.serverEnd();
    } catch (err) {
      observerThrew(err);
    }
  };
  const observeClose = () => {
    try {
      observer?.close(abortError);
    } catch (err) {
      observerThrew(err);
    }
  };

  const decide = (detected: 'h1' | 'h2' | 'opaque', why?: string) => {
    const chunks = detectChunks ?? [];
    const fromServer = serverFirst;
    stopObserving();
    // An HTTP/1 server never speaks first; a server-first protocol (SMTP's `EHLO x`) only looks like HTTP/1.
    const kind = detected === 'h1' && fromServer ? 'opaque' : detected;
    metrics.protocolDetected(kind);
    if (detectLog.isTracing) detectLog.debug(`detecting -> ${kind}`, { conn: info.id, why: fromServer ? `${why ?? detected}, server spoke first` : why });
    if (kind === 'h1') startObserver(createHttp1Observer, chunks);
    else if (kind === 'h2') {
      startObserver(createH2Observer, chunks);
      for (const c of fromServer ?? []) observeServerData(c);
    }
  };

  const detectOn = (chunk: Buffer) => {
    detectChunks!.push(chunk);
    detectLen += chunk.length;
    const head = detectChunks!.length === 1 ? chunk : Buffer.concat(detectChunks!, Math.min(detectLen, DETECT_MAX_BYTES * 2));
    const d = detectProtocol(head.length > DETECT_MAX_BYTES ? head.subarray(0, DETECT_MAX_BYTES) : head);
    if (d !== 'need-more') decide(d);
  };

  if (detecting) {
    detectChunks = [];
    // Bytes are never held back, so the timeout only bounds how long a *partial* first message
    // (e.g. half a preface) keeps detection open. A client that has sent nothing yet (a pre-opened
    // keep-alive connection) stays detectable until its first bytes.
    detectTimer = setTimeout(() => {
      if (detecting && detectLen > 0) {
        metrics.observerGaveUp('detect-timeout');
        decide('opaque', 'timeout');
      }
    }, options.detectTimeoutMs);
    detectTimer.unref();
  }

  // client -> upstream
  client.on('data', (chunk: Buffer) => {
    srcStats.readBytes += chunk.length;
    dstStats.writeBytes += chunk.length;
    if (!upstream.write(chunk)) client.pause();
    if (observer) observeClientData(chunk);
    else if (detecting) detectOn(chunk);
  });
  upstream.on('drain', () => client.resume());

  // upstream -> client
  upstream.on('data', (chunk: Buffer) => {
    dstStats.readBytes += chunk.length;
    srcStats.writeBytes += chunk.length;
    if (!client.write(chunk)) upstream.pause();
    if (observer) observeServerData(chunk);
    else if (detecting) {
      serverFirstLen += chunk.length;
      if (serverFirstLen > SERVER_FIRST_MAX_BYTES) decide('opaque', 'server spoke first');
      else (serverFirst ??= []).push(chunk);
    }
  });
  client.on('drain', () => upstream.resume());

  // Half-close travels as is.
  client.on('end', () => {
    upstream.end();
    if (observer) observeEnd('client');
    else if (detecting) decide('opaque', 'client ended');
  });
  upstream.on('end', () => {
    client.end();
    if (observer) observeEnd('server');
  });

  upstream.on('connect', () => {
    upstreamConnected = true;
    dstStats.opened++;
    dstStats.open++;
  });

  // Resets are mirrored: an RST on one side becomes an RST on the other.
  client.on('error', (err: NodeJS.ErrnoException) => {
    abortError ??= err.code === 'ECONNRESET' ? 'reset' : 'client-error';
    reset(upstream);
  });
  upstream.on('error', (err: NodeJS.ErrnoException) => {
    if (!upstreamConnected) {
      metrics.upstreamConnectError(direction, err.code ?? 'unknown');
      log.debug('upstream connect failed', { conn: info.id, target: `${target.host}:${target.port}`, code: err.code });
    }
    abortError ??= err.code === 'ECONNRESET' ? 'reset' : upstreamConnected ? 'upstream-error' : 'upstream-connect-failed';
    reset(client);
  });

  const onClose = (side: 'client' | 'upstream', hadError: boolean) => {
    if (side === 'client') {
      srcStats.open--;
      srcStats.closed++;
      if (hadError) srcStats.closedWithError++;
      if (!upstream.destroyed) upstream.destroy();
    } else {
      if (upstreamConnected) {
        dstStats.open--;
        dstStats.closed++;
        if (hadError) dstStats.closedWithError++;
      }
      if (!client.destroyed) client.destroy();
    }
    if (++closedCount === 2) {
      stopObserving();
      if (observer) observeClose();
      observer = undefined;
    }
  };
  client.on('close', (hadError) => onClose('client', hadError));
  upstream.on('close', (hadError) => onClose('upstream', hadError));
}
