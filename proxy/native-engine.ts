/**
 * The native engine's data path (`--engine native`): listeners, accept, connect and
 * forwarding live in C++ epoll workers (native/); this file starts them, resolves names
 * first (C++ takes numeric addresses only), and turns their record batches into observation
 * (proxy/native-observation.ts), metrics and counts, the same ones the js engine produces.
 */
import { lookup } from 'node:dns/promises';
import { isIP } from 'node:net';
import { startNativeEngine, type NativeEngine } from '../native/index.js';
import { formatAddr, type ConnectionOptions } from './connection.js';
import type { ObservationServices } from './exchange-events.js';
import { observeNativeConnection, type NativeObservation } from './native-observation.js';
import type { ForwardSpec, HostPort, ListenerInfo } from './sidecar.js';

export interface NativeDataPathOptions {
  threads: number;
  forwards: ForwardSpec[];
  inbound?: { listen: HostPort; appHost?: string };
  outbound?: { listen: HostPort };
}

export interface NativeDataPath {
  readonly listeners: ListenerInfo[];
  close(): void;
}

async function numeric(host: string): Promise<string> {
  if (isIP(host) !== 0) return host;
  if (host.startsWith('[') && host.endsWith(']')) return host.slice(1, -1);
  return (await lookup(host)).address;
}

export async function startNativeDataPath(o: NativeDataPathOptions, services: ObservationServices, conn: ConnectionOptions): Promise<NativeDataPath> {
  const { metrics } = services;
  const open = new Map<number, NativeObservation>();
  let recordMs = 0;
  const now = () => recordMs;
  let engine: NativeEngine | undefined;

  engine = startNativeEngine(
    { threads: o.threads, observe: conn.observe },
    {
      open(id, proxy, src, dst, atMs) {
        recordMs = atMs;
        const info = { id, proxy, src, dst };
        open.set(id, observeNativeConnection(info, services, {
          detectTimeoutMs: conn.detectTimeoutMs,
          limits: conn.limits,
          now,
          onDone() {
            open.delete(id);
            engine?.unobserve(id);
          },
        }));
      },
      data(id, fromClient, bytes, atMs) {
        recordMs = atMs;
        open.get(id)?.data(fromClient, bytes);
      },
      end(id, fromClient, atMs) {
        recordMs = atMs;
        open.get(id)?.end(fromClient);
      },
      close(id, abortError, atMs) {
        recordMs = atMs;
        const obs = open.get(id);
        if (obs === undefined) return;
        open.delete(id);
        obs.close(abortError);
      },
      lost(id) {
        metrics.boundHit('native-event-batch');
        const obs = open.get(id);
        if (obs === undefined) return;
        open.delete(id);
        obs.close('observer-lost');
      },
      connectError: (direction, code) => metrics.upstreamConnectError(direction, code),
      boundHit: (bound) => metrics.boundHit(bound),
    },
  );
  metrics.setTcpSource(() => engine?.tcpStats() ?? []);

  const listeners: ListenerInfo[] = [];
  try {
    for (const f of o.forwards) {
      const target = formatAddr(f.target.host, f.target.port);
      const address = engine.listen({
        kind: 'forward',
        proxy: f.proxy,
        host: await numeric(f.listen.host),
        port: f.listen.port,
        targetHost: await numeric(f.target.host),
        targetPort: f.target.port,
        dst: target,
      });
      listeners.push({ kind: 'forward', proxy: f.proxy, address, target });
    }
    if (o.inbound) {
      const address = engine.listen({ kind: 'inbound', proxy: 'in', host: await numeric(o.inbound.listen.host), port: o.inbound.listen.port, appHost: await numeric(o.inbound.appHost ?? '127.0.0.1') });
      listeners.push({ kind: 'inbound', proxy: 'in', address });
    }
    if (o.outbound) {
      const address = engine.listen({ kind: 'outbound', proxy: 'out', host: await numeric(o.outbound.listen.host), port: o.outbound.listen.port });
      listeners.push({ kind: 'outbound', proxy: 'out', address });
    }
  } catch (err) {
    engine.close();
    throw err;
  }
  return {
    listeners,
    close() {
      const e = engine;
      engine = undefined;
      e?.close();
      for (const obs of open.values()) obs.close('connection-closed');
      open.clear();
    },
  };
}
