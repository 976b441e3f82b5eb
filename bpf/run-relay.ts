/**
 * `meshtap run --netns --tap-api http://127.0.0.1:PORT`: the sidecar lives in CMD's network
 * namespace, where 127.0.0.1 is the namespace's own loopback, so it could never reach a tap API
 * on the host's loopback (it retried registration forever, silently). This relay listens on the
 * host end of the veth (an address only this machine and the namespace reach) and pipes each
 * connection, byte for byte, to the tap API on the host's loopback; the sidecar is given the
 * relay's URL instead. TCP only: the tap API's own authentication (registration token, bearer
 * tokens) is untouched. Bounded: at most MAX_RELAY_CONNECTIONS at once; past it a connection is
 * refused and counted (said once on stderr by the caller).
 */
import { connect, createServer, type Server, type Socket } from 'node:net';
import { MeshtapError } from '../common/index.js';

/** Most relayed connections at once (a sidecar holds one or two: registration, heartbeats). */
export const MAX_RELAY_CONNECTIONS = 32;

export interface TapApiRelay {
  /** The tap API URL as the sidecar in the namespace must use it. */
  url: string;
  /** Connections refused because MAX_RELAY_CONNECTIONS were open. */
  readonly refused: number;
  close(): Promise<void>;
}

const LOOPBACK_HOSTS = new Set(['localhost', '127.0.0.1', '[::1]']);

/** Whether a tap API URL names the host's loopback (unreachable from another network namespace). */
export function isLoopbackUrl(url: URL): boolean {
  return LOOPBACK_HOSTS.has(url.hostname) || /^127\.\d+\.\d+\.\d+$/.test(url.hostname);
}

/**
 * Starts a relay on `listenHost` to the loopback tap API of `tapApi`; undefined when `tapApi`
 * is not on loopback (the namespace routes to it through the host as it is). An https tap API on
 * loopback cannot be relayed (its certificate names 127.0.0.1/localhost, not the veth's address):
 * that is a one-line refusal naming what to do instead.
 */
export async function startTapApiRelay(tapApi: string, listenHost: string, onRefused: (count: number) => void): Promise<TapApiRelay | undefined> {
  let url: URL;
  try {
    url = new URL(tapApi);
  } catch {
    throw new MeshtapError('MT_USAGE', `--tap-api '${tapApi}' is not a URL (e.g. http://127.0.0.1:8089)`);
  }
  if (!isLoopbackUrl(url)) return undefined;
  if (url.protocol !== 'http:') {
    throw new MeshtapError(
      'MT_USAGE',
      `with --netns the sidecar cannot reach ${url.origin} (the host's loopback, and its certificate names loopback); give the tap API an address the namespace can reach (--tap-api https://HOST-IP:PORT), or leave out --netns`,
    );
  }
  const target = { host: url.hostname.replace(/^\[|\]$/g, ''), port: Number(url.port || 80) };
  const open = new Set<Socket>();
  let refused = 0;
  const server: Server = createServer((client) => {
    if (open.size >= MAX_RELAY_CONNECTIONS) {
      refused++;
      onRefused(refused);
      client.destroy();
      return;
    }
    const upstream = connect(target);
    open.add(client);
    const done = (): void => {
      open.delete(client);
      client.destroy();
      upstream.destroy();
    };
    client.on('error', done).on('close', done);
    upstream.on('error', done).on('close', done);
    client.pipe(upstream);
    upstream.pipe(client);
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', (err) => reject(new MeshtapError('MT_RUN_RELAY', `cannot relay the tap API into the namespace: ${err.message}`, { cause: err })));
    server.listen(0, listenHost, () => resolve());
  });
  const port = (server.address() as { port: number }).port;
  const relayed = new URL(url.href);
  relayed.hostname = listenHost;
  relayed.port = String(port);
  return {
    url: relayed.href.replace(/\/$/, url.href.endsWith('/') ? '/' : ''),
    get refused() {
      return refused;
    },
    close: () =>
      new Promise<void>((resolve) => {
        for (const s of open) s.destroy();
        server.close(() => resolve());
      }),
  };
}
