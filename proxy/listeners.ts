/**
 * The js engine's accepting side: listeners described as data (`ListenerSpec`, `engine.ts`)
 * become `net` servers; each accepted socket gets its `ConnectionInfo` (original destination
 * included) and goes to the forwarder with its observation.
 */
import * as net from 'node:net';
import { createLogger, MeshtapError } from '../common/index.js';
import type { ConnectionInfo, HostPort, ListenerInfo, ListenerSpec, OpenObservation, RunningEngine } from './engine.js';
import { forwardConnection, type ForwarderOptions } from './forwarder.js';
import type { ProxyMetrics } from './metrics.js';
import { formatAddr, reset } from './sockets.js';

const log = createLogger('proxy');

let nextConnectionId = 1;

/** Listens on every spec, in order; on a failure, what was opened is closed and the error thrown. */
export async function startListeners(
  specs: readonly ListenerSpec[],
  metrics: ProxyMetrics,
  open: OpenObservation | undefined,
  options: ForwarderOptions,
): Promise<RunningEngine> {
  const servers: net.Server[] = [];
  const sockets = new Set<net.Socket>();
  const listeners: ListenerInfo[] = [];

  const forward = (s: net.Socket, target: HostPort, proxy: 'in' | 'out', dst: string) => {
    const info: ConnectionInfo = { id: nextConnectionId++, proxy, src: formatAddr(s.remoteAddress, s.remotePort), dst };
    forwardConnection(s, target, info, metrics, open, options);
  };
  const newServer = (onConn: (s: net.Socket) => void) => {
    const server = net.createServer({ allowHalfOpen: true, noDelay: true }, (s) => {
      sockets.add(s);
      s.once('close', () => sockets.delete(s));
      s.on('error', () => {}); // replaced by the connection's own handler; never unhandled
      onConn(s);
    });
    servers.push(server);
    return server;
  };
  const close = () => {
    for (const s of servers) s.close();
    for (const s of sockets) s.destroy();
  };

  try {
    for (const spec of specs) {
      if (spec.kind === 'forward') {
        const target = formatAddr(spec.target.host, spec.target.port);
        const server = newServer((s) => forward(s, spec.target, spec.proxy, target));
        listeners.push({ kind: 'forward', proxy: spec.proxy, address: await listen(server, spec.listen, 'forward'), target });
      } else if (spec.kind === 'inbound') {
        const appHost = spec.target.host;
        let ownPort = 0;
        const server = newServer((s) => {
          // sk_lookup handed us a connection for the pod's port: that port is the original destination.
          const port = s.localPort ?? 0;
          if (port === ownPort) {
            metrics.boundHit('inbound-loop');
            reset(s);
            return;
          }
          forward(s, { host: appHost, port }, 'in', formatAddr(s.localAddress, port));
        });
        const address = await listen(server, spec.listen, 'inbound');
        ownPort = (server.address() as net.AddressInfo).port;
        listeners.push({ kind: 'inbound', proxy: 'in', address });
      } else {
        const lookup = spec.lookup;
        const server = newServer((s) => {
          let orig: HostPort | undefined;
          try {
            orig = lookup(s);
          } catch (err) {
            log.warn('original destination lookup failed', { err: String(err) });
          }
          if (!orig) {
            metrics.upstreamConnectError('out', 'no-original-dst');
            reset(s);
            return;
          }
          forward(s, orig, 'out', formatAddr(orig.host, orig.port));
        });
        listeners.push({ kind: 'outbound', proxy: 'out', address: await listen(server, spec.listen, 'outbound') });
      }
    }
  } catch (err) {
    close();
    throw err;
  }
  return { listeners, close };
}

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
