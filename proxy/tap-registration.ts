/**
 * Sidecar → tap API registration (local mode): POSTs this sidecar's identity and addresses to
 * `/v1/sidecars` every `intervalMs` (the tap API forgets a sidecar after a few missed beats), so
 * a restarted tap API learns about the sidecar again on the next beat without any handshake.
 * Each reply carries the tap API's grant-signing public key, handed to `onPublicKey` whenever
 * it changes (first time, key rotation, a different tap API).
 *
 * Registration is authenticated: the tap API's registration token goes along as a bearer token
 * (`--tap-api-token` / MESHTAP_TAP_API_TOKEN). A refused token (401/403) is its own state with
 * its own warning, so an operator can tell "wrong token" from "tap API down".
 *
 * Each sidecar process makes a random instance key when registration starts and sends it with
 * every heartbeat and its goodbye: the tap API binds a live registration to it, so nobody else
 * (not even a holder of the registration token) can replace or remove it, and two sidecars
 * given the same pod name are told apart. A refusal for that reason (409) is a state of its
 * own, logged as an error naming the pod and the sidecar that holds it; heartbeats go on, so a
 * restarted sidecar takes its pod back once the old registration expires.
 *
 * Never throws into the sidecar and never blocks it: failures are logged (as state changes, not
 * per attempt) and retried with capped exponential backoff plus jitter. The tap plane is
 * observation; a dead control plane or a refused registration must not cost the data path
 * anything.
 */
import { randomBytes } from 'node:crypto';
import { createLogger } from '../common/index.js';

/** The header a goodbye carries the instance key in (the tap API's INSTANCE_KEY_HEADER). */
const INSTANCE_KEY_HEADER = 'x-meshtap-instance-key';

export interface RegistrationIdentity {
  /** `deploy/web`, `sts/db`, … (absent for a bare pod). */
  workload?: string;
  namespace: string;
  pod: string;
}

/** Another sidecar's inbound address and the workload behind it. */
export interface RegistrationPeer {
  address: string;
  workload?: string;
  namespace: string;
}

export interface RegistrationOptions {
  /** Tap API base URL (`--tap-api` / MESHTAP_TAP_API), e.g. `http://127.0.0.1:8089`. */
  tapApiUrl: string;
  identity: RegistrationIdentity;
  /** The tap API's registration token, sent as `Authorization: Bearer` (never logged). */
  token?: string;
  /** `host:port` where the tap API can reach this sidecar's tap service (not 0.0.0.0). */
  tapAddress: string;
  /** `host:port` of the admin server (`/metrics`), for `meshtap stat`. */
  adminAddress?: string;
  /** Called with the base64 raw Ed25519 public key whenever it changes. */
  onPublicKey?(publicKey: string): void;
  /**
   * Addresses where this sidecar receives traffic for its workload (explicit `in:` forwards,
   * the inbound listener). The tap API tells other sidecars, so their outbound events can name
   * the destination workload (`dstWorkload`, what `tap --to` filters on).
   */
  inboundAddresses?: string[];
  /**
   * Source IPs this sidecar's outbound connections come from (explicit local mode's loopback
   * address): the tap API tells other sidecars, so their inbound events name the caller.
   */
  sourceAddresses?: string[];
  /** The pod's labels (for NetworkPolicy drafts from observed edges). */
  labels?: Record<string, string>;
  /** Called with the other sidecars' inbound addresses → workloads, on every heartbeat reply. */
  onPeers?(peers: RegistrationPeer[]): void;
  /** Heartbeat period (default 2 s; the tap API's TTL is 6 s). */
  intervalMs?: number;
  /** Longest wait between retries while the tap API is unreachable (default 10 s). */
  maxBackoffMs?: number;
  /** Per-request timeout (default 5 s). */
  requestTimeoutMs?: number;
}

export interface Registration {
  /** Stops heartbeating and tells the tap API goodbye (best effort, bounded). */
  stop(): Promise<void>;
}

export const DEFAULT_REGISTRATION_INTERVAL_MS = 2_000;

/** Starts registering; the first attempt happens immediately. */
export function startRegistration(options: RegistrationOptions): Registration {
  const log = createLogger('tap-registration');
  const interval = options.intervalMs ?? DEFAULT_REGISTRATION_INTERVAL_MS;
  const maxBackoff = options.maxBackoffMs ?? 10_000;
  const timeoutMs = options.requestTimeoutMs ?? 5_000;
  const base = options.tapApiUrl.replace(/\/+$/, '');
  const instanceKey = randomBytes(32).toString('hex');
  const body = JSON.stringify({
    instanceKey,
    ...(options.identity.workload ? { workload: options.identity.workload } : {}),
    namespace: options.identity.namespace,
    pod: options.identity.pod,
    tapAddress: options.tapAddress,
    ...(options.adminAddress ? { adminAddress: options.adminAddress } : {}),
    ...(options.inboundAddresses?.length ? { inboundAddresses: options.inboundAddresses } : {}),
    ...(options.sourceAddresses?.length ? { sourceAddresses: options.sourceAddresses } : {}),
    ...(options.labels && Object.keys(options.labels).length > 0 ? { labels: options.labels } : {}),
  });
  const headers: Record<string, string> = options.token ? { authorization: `Bearer ${options.token}` } : {};
  let state: 'starting' | 'registered' | 'unreachable' | 'refused' | 'conflict' = 'starting';
  let stopped = false;
  let timer: NodeJS.Timeout | undefined;
  let inflight: AbortController | undefined;
  let failures = 0;
  let lastKey: string | undefined;
  let lastInstance: string | undefined;

  const setState = (next: typeof state, fields?: Record<string, unknown>): void => {
    if (next === state) return;
    const level = next === 'conflict' ? 'error' : next === 'unreachable' || next === 'refused' ? 'warn' : 'info';
    log[level](`tap API registration ${state} -> ${next}`, { tapApi: base, ...fields });
    state = next;
  };

  const beat = async (): Promise<void> => {
    timer = undefined;
    if (stopped) return;
    inflight = new AbortController();
    const t = setTimeout(() => inflight?.abort(), timeoutMs);
    try {
      const res = await fetch(`${base}/v1/sidecars`, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body, signal: inflight.signal });
      const text = await res.text();
      if (res.status === 401 || res.status === 403) throw new RegistrationRefused(res.status, messageOf(text), options.token !== undefined);
      if (res.status === 409) throw new RegistrationConflict(options.identity, messageOf(text));
      if (!res.ok) throw new Error(`HTTP ${res.status}: ${messageOf(text)}`);
      const reply = JSON.parse(text) as { publicKey?: unknown; instance?: unknown; ttlMs?: unknown; peers?: unknown };
      if (typeof reply.instance === 'string' && lastInstance !== undefined && reply.instance !== lastInstance) {
        log.info('tap API restarted; registered again', { tapApi: base });
      }
      if (typeof reply.instance === 'string') lastInstance = reply.instance;
      if (typeof reply.publicKey === 'string' && reply.publicKey !== lastKey) {
        lastKey = reply.publicKey;
        try {
          options.onPublicKey?.(reply.publicKey);
        } catch (err) {
          log.error('onPublicKey failed', { error: (err as Error).message });
        }
      }
      if (Array.isArray(reply.peers) && options.onPeers) {
        const peers = reply.peers.filter(
          (p): p is RegistrationPeer => typeof p === 'object' && p !== null && typeof p.address === 'string' && typeof p.namespace === 'string' && (p.workload === undefined || typeof p.workload === 'string'),
        );
        try {
          options.onPeers(peers);
        } catch (err) {
          log.error('onPeers failed', { error: (err as Error).message });
        }
      }
      failures = 0;
      setState('registered');
      // Beat well within the server's TTL even if it is shorter than our interval.
      const ttl = typeof reply.ttlMs === 'number' && reply.ttlMs > 0 ? reply.ttlMs : Infinity;
      schedule(Math.min(interval, ttl / 3));
    } catch (err) {
      if (stopped) return;
      failures++;
      if (err instanceof RegistrationRefused) setState('refused', { error: err.message });
      else if (err instanceof RegistrationConflict) setState('conflict', { error: err.message });
      else setState('unreachable', { error: describe(err) });
      // A conflict ends when the other registration expires: retry at the heartbeat pace to take the pod back within one TTL.
      const backoff = err instanceof RegistrationConflict ? interval : Math.min(maxBackoff, interval * 2 ** Math.min(failures - 1, 10));
      schedule(backoff * (0.75 + Math.random() * 0.5));
    } finally {
      clearTimeout(t);
      inflight = undefined;
    }
  };

  const schedule = (ms: number): void => {
    if (stopped) return;
    timer = setTimeout(() => void beat(), ms);
    timer.unref();
  };

  void beat();
  return {
    async stop() {
      if (stopped) return;
      stopped = true;
      if (timer) clearTimeout(timer);
      inflight?.abort();
      if (state !== 'registered') return;
      const ns = encodeURIComponent(options.identity.namespace);
      const pod = encodeURIComponent(options.identity.pod);
      try {
        await fetch(`${base}/v1/sidecars/${ns}/${pod}`, { method: 'DELETE', headers: { ...headers, [INSTANCE_KEY_HEADER]: instanceKey }, signal: AbortSignal.timeout(1_000) }).then((r) => r.text());
      } catch {
        // the TTL forgets us anyway
      }
    },
  };
}

/** The tap API said no to our credentials: a state of its own, with what to do about it. */
class RegistrationRefused extends Error {
  constructor(status: number, detail: string, hadToken: boolean) {
    const todo = hadToken
      ? 'the registration token is wrong; give this sidecar the tap API\'s registration token (--tap-api-token or MESHTAP_TAP_API_TOKEN)'
      : 'this sidecar sent no registration token; give it the tap API\'s registration token (--tap-api-token or MESHTAP_TAP_API_TOKEN)';
    super(`the tap API refused the registration (HTTP ${status}: ${detail}): ${todo}; traffic is forwarded as usual, only tapping through the tap API is off`);
  }
}

/** Another live sidecar holds our pod name at the tap API: say which, and what to do. */
class RegistrationConflict extends Error {
  constructor(identity: RegistrationIdentity, detail: string) {
    super(
      `the tap API refused to register pod ${identity.namespace}/${identity.pod}: ${detail}; ` +
        'this sidecar cannot be tapped through the tap API until that is resolved (traffic is forwarded as usual; retrying)',
    );
  }
}

function messageOf(text: string): string {
  try {
    const s = JSON.parse(text) as { message?: unknown };
    if (typeof s.message === 'string') return s.message;
  } catch {
    // not JSON
  }
  return text.slice(0, 200);
}

function describe(err: unknown): string {
  const e = err as { name?: string; message?: string; cause?: { code?: string; message?: string } };
  if (e.name === 'AbortError') return 'timed out';
  return e.cause?.code ?? e.cause?.message ?? e.message ?? String(err);
}
