/**
 * The js engine's forwarder: one accepted connection, connected upstream and forwarded both
 * ways at once, with backpressure, half-close and resets mirrored, and the TCP counters. It
 * knows nothing of HTTP: after writing each chunk on, it hands a view of it to the
 * connection's observation (`engine.ts` is the contract), which may stop wanting bytes at any
 * time. Forwarding never waits on observation.
 */
import * as net from 'node:net';
import { createLogger } from '../common/index.js';
import type { CloseReason, ConnectionInfo, ConnectionObservation, HostPort, OpenObservation } from './engine.js';
import type { ProxyMetrics } from './metrics.js';
import { reset } from './sockets.js';

const log = createLogger('proxy.conn');

/** The metrics a forwarder moves: TCP counters, failed upstream connects, idle timeouts. */
export type ForwarderMetrics = Pick<ProxyMetrics, 'tcpStats' | 'upstreamConnectError' | 'boundHit'>;

export interface ForwarderOptions {
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

/** Forwards `client` to `target`; `open` (absent when observation is off) opens its observation. */
export function forwardConnection(
  client: net.Socket,
  target: HostPort & { localAddress?: string },
  info: ConnectionInfo,
  metrics: ForwarderMetrics,
  open: OpenObservation | undefined,
  options: ForwarderOptions,
): void {
  const srcStats = metrics.tcpStats(info.proxy, info.dst, 'src');
  const dstStats = metrics.tcpStats(info.proxy, info.dst, 'dst');
  srcStats.opened++;
  srcStats.open++;

  client.setNoDelay(true);
  client.setKeepAlive(true, KEEPALIVE_DELAY_MS);
  const upstream = net.connect({ host: target.host, port: target.port, allowHalfOpen: true, noDelay: true, keepAlive: true, keepAliveInitialDelay: KEEPALIVE_DELAY_MS, ...(target.localAddress ? { localAddress: target.localAddress } : {}) });
  let upstreamConnected = false;
  let closedCount = 0;
  let closeReason: CloseReason | undefined;
  if (options.idleTimeoutMs > 0) {
    // Every forwarded byte is read or written on the client socket, so its inactivity timer
    // is the connection's. Closed like a FIN from both peers would (graceful, not a reset).
    client.setTimeout(options.idleTimeoutMs, () => {
      metrics.boundHit('idle-timeout');
      log.debug('idle timeout', { conn: info.id, idleTimeoutMs: options.idleTimeoutMs });
      closeReason ??= 'idle-timeout';
      client.destroy();
      upstream.destroy();
    });
  }
  // Dropped as soon as the observation stops wanting bytes: opaque connections then cost a check per chunk.
  let observation: ConnectionObservation | undefined = open?.(info, () => {
    observation = undefined;
  });

  // client -> upstream
  client.on('data', (chunk: Buffer) => {
    srcStats.readBytes += chunk.length;
    dstStats.writeBytes += chunk.length;
    if (!upstream.write(chunk)) client.pause();
    if (observation !== undefined) observation.clientData(chunk);
  });
  upstream.on('drain', () => client.resume());

  // upstream -> client
  upstream.on('data', (chunk: Buffer) => {
    dstStats.readBytes += chunk.length;
    srcStats.writeBytes += chunk.length;
    if (!client.write(chunk)) upstream.pause();
    if (observation !== undefined) observation.serverData(chunk);
  });
  client.on('drain', () => upstream.resume());

  // Half-close travels as is.
  client.on('end', () => {
    upstream.end();
    if (observation !== undefined) observation.clientEnd();
  });
  upstream.on('end', () => {
    client.end();
    if (observation !== undefined) observation.serverEnd();
  });

  upstream.on('connect', () => {
    upstreamConnected = true;
    dstStats.opened++;
    dstStats.open++;
  });

  // Resets are mirrored: an RST on one side becomes an RST on the other.
  client.on('error', (err: NodeJS.ErrnoException) => {
    closeReason ??= err.code === 'ECONNRESET' ? 'reset' : 'client-error';
    reset(upstream);
  });
  upstream.on('error', (err: NodeJS.ErrnoException) => {
    if (!upstreamConnected) {
      metrics.upstreamConnectError(info.proxy, err.code ?? 'unknown');
      log.debug('upstream connect failed', { conn: info.id, target: `${target.host}:${target.port}`, code: err.code });
    }
    closeReason ??= err.code === 'ECONNRESET' ? 'reset' : upstreamConnected ? 'upstream-error' : 'upstream-connect-failed';
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
    if (++closedCount === 2 && observation !== undefined) observation.close(closeReason);
  };
  client.on('close', (hadError) => onClose('client', hadError));
  upstream.on('close', (hadError) => onClose('upstream', hadError));
}
