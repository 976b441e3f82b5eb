/**
 * A small real rig for the security suites: an HTTP backend, an in-process sidecar that
 * requires grants (its tap service on 127.0.0.1:0), a grant signer holding the key the sidecar
 * trusts, and a collector that reads one tap stream to its end.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { exportPublicKeyRaw, generateGrantKeyPair, makeGrantClaims, signGrant, type GrantClaims, openTapStream, type TapEvent, type TapMessage, type TapRequest } from '../tap-protocol/index.js';
import { startSidecar, type Sidecar, type SidecarOptions } from '../proxy/index.js';
import { PROJECT_ENGINE } from './support/engines.js';
export { until } from './support/until.js';

export interface SecurityRig {
  sidecar: Sidecar;
  backend: Server;
  /** The sidecar's forward listener (`host:port`). */
  forward: string;
  keys: ReturnType<typeof generateGrantKeyPair>;
  /** A grant for this sidecar's pod (shop/web-1) and tap address, signed with the trusted key. */
  grant(over?: Partial<GrantClaims>): string;
  /** One request through the sidecar; resolves with the status once the body was read. */
  call(path: string, init?: RequestInit): Promise<number>;
  close(): Promise<void>;
}

/** Starts the backend and a grant-requiring sidecar for pod shop/web-1 of deploy/web. */
export async function startSecurityRig(more: Partial<SidecarOptions> = {}, keys = generateGrantKeyPair()): Promise<SecurityRig> {
  const backend = createServer((req, res) => {
    req.resume();
    req.on('end', () => {
      res.writeHead(200, { 'content-type': 'text/plain', 'set-cookie': 'session=s3cret' });
      res.end(`ok ${req.url}`);
    });
  });
  await new Promise<void>((r) => backend.listen(0, '127.0.0.1', r));
  const port = (backend.address() as AddressInfo).port;
  const sidecar = await startSidecar({
    forwards: [{ proxy: 'in', listen: { host: '127.0.0.1', port: 0 }, target: { host: '127.0.0.1', port } }],
    tap: { host: '127.0.0.1', port: 0 },
    identity: { workload: 'deploy/web', namespace: 'shop', pod: 'web-1' },
    tapPublicKey: exportPublicKeyRaw(keys.publicKey),
    requireGrant: true,
    engine: PROJECT_ENGINE,
    ...more,
  });
  const forward = sidecar.listeners[0]!.address;
  return {
    sidecar,
    backend,
    forward,
    keys,
    grant: (over = {}) =>
      signGrant(
        {
          ...makeGrantClaims({ sub: 'tester', pod: 'web-1', namespace: 'shop', aud: sidecar.tapAddress!, bodies: false, revealHeaders: [], matches: [], maxRps: 100 }),
          ...over,
        },
        keys.privateKey,
      ),
    async call(path, init = {}) {
      const res = await fetch(`http://${forward}${path}`, init);
      await res.text();
      return res.status;
    },
    async close() {
      await sidecar.close();
      await new Promise<void>((r) => backend.close(() => r()));
    },
  };
}

export interface Collected {
  messages: TapMessage[];
  events: TapEvent[];
  /** The gRPC failure's `details`, when the stream failed. */
  error?: string;
}

/** Reads a history-only tap (`last`/`sinceMs`, no follow) to its end. */
export async function collectHistory(address: string, request: Partial<TapRequest>): Promise<Collected> {
  const s = openTapStream(address, { matches: [], bodies: false, ...request } as TapRequest, { deadlineMs: 20_000 });
  const out: Collected = { messages: [], events: [] };
  try {
    for await (const m of s.messages) {
      out.messages.push(m);
      if (m.type === 'event') out.events.push(m.event);
    }
  } catch (err) {
    out.error = String((err as { details?: string }).details ?? err);
  } finally {
    s.cancel();
  }
  return out;
}

