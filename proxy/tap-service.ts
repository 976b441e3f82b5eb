/**
 * The sidecar's tap service (`Observe`, gRPC on the tap port): live events and flight
 * recorder history for one subscriber, shaped by what its grant allows.
 *
 * Authorization: a grant signed by the tap API (verified with its public key) is required,
 * except for loopback callers while `trustLoopback` is on (explicit local mode; switched off by
 * `--tap-require-grant`). A grant must be addressed (`aud`) to one of this sidecar's own tap
 * addresses (tap-audience.ts), so a grant handed to another sidecar cannot be replayed here.
 * A grant's bodies/headers/match/rate bound what the subscriber asked.
 */
import type { KeyObject } from 'node:crypto';
import { createServer, isIPv4, isIPv6, type AddressInfo, type Socket } from 'node:net';
import { createLogger, MeshtapError } from '../common/index.js';
import {
  verifyGrant,
  type GrantClaims,
  compileMatches,
  filteredHeaderNames,
  type CompiledMatch,
  type TapRequest,
  GRANT_METADATA_KEY,
  GRPC_STATUS,
  SIDECAR_STOPPED_DETAILS,
  TAP_FLUSH_PATH,
  TAP_OBSERVE_PATH,
  TAP_OBSERVE_PATH_V1,
  WIRE_TOO_OLD_DETAILS,
  FLUSH_TOKEN_MAX_CHARS,
  type FlushReply,
  type FlushRequest,
  type TapEvent,
  type TapMessage,
} from '../tap-protocol/index.js';
import type { FlightRecorder } from './flight-recorder.js';
import type { ProxyMetrics } from './metrics.js';
import { ownTapAddresses } from './tap-audience.js';
import { createTapGrpcServer, type GrpcCall, type TapGrpcServer } from './tap-grpc-server.js';
import type { Subscriber, TapHub } from './tap-hub.js';

const log = createLogger('tap');

export interface TapServiceOptions {
  hub: TapHub;
  recorder: FlightRecorder;
  metrics: ProxyMetrics;
  /** Pod and namespace this sidecar serves (grants must name them). */
  pod: string;
  namespace: string;
  trustLoopback: boolean;
  /** Peer IPs trusted as loopback is (with trustLoopback): the host end of a `meshtap run --netns` veth,
   * reachable only from this machine, as loopback is. */
  trustedPeers?: string[];
  /** The tap API's public key, once known. */
  publicKey: () => KeyObject | string | undefined;
  /** The pod IP (MESHTAP_POD_IP): where the tap API dials a wildcard tap listener. */
  podIp?: string;
  maxSubscribers?: number;
  /** Most history reads at once (MAX_HISTORY_READS; tests lower it). */
  maxHistoryReads?: number;
  /** Most connections the tap port holds at once (MAX_TAP_CONNECTIONS; tests lower it). */
  maxConnections?: number;
  /** Default (and, for trusted callers, only) rate bound per subscriber; 0 = none. */
  defaultMaxRps?: number;
  /** Whether the flight recorder keeps bodies (`--recorder-bodies`), told to history readers. */
  recorderBodies?: boolean;
  /**
   * Hands the tap everything observation still holds (the native engine's records between
   * doorbells), before a `Flush` marker is queued: the marker then follows those events.
   */
  flushObservation?: () => void;
}

export interface TapService {
  readonly address: string;
  /** Ends every tap with MT_SIDECAR_STOPPED (after what is queued), then shuts the server down. */
  close(): Promise<void>;
}

/** A request message: JSON (tap wire, tap-wire.ts). */
const parseJson = (b: Buffer): unknown => JSON.parse(b.toString('utf8'));

/**
 * Most connections open on the tap port. Any peer in the cluster may connect before a grant is
 * checked, and each idle connection held a socket and an HTTP/2 session (~21 KB) for good: 4,000
 * took 82 MB and 4,000 file descriptors of the sidecar, whose proxied traffic needs them too
 * (review8). Taps are few (maxSubscribers, 64 by default), each one connection; past the bound a
 * connection is closed at once and counted (bound `tap-connections`).
 */
const MAX_TAP_CONNECTIONS = 256;

/**
 * Most history reads (`tap --since/--last`, `record --since`) served at once. Each holds a snapshot
 * of the flight recorder until its client has read it (native: a copy of the C++ recorder, up to
 * `--recorder-bytes`, 4 MiB by default; js: the ring's references, and the chunks they keep from
 * being collected), however slowly its client reads: 64 subscribers reading history at once held 64
 * snapshots. Past it a read is refused (MT_TAP_BUSY, as past maxSubscribers) and counted (bound
 * `tap-history-reads`); live taps are not counted.
 */
const MAX_HISTORY_READS = 8;
/**
 * Longest a history read works in one turn (ms) before it lets the turn go (setImmediate): the
 * js engine forwards on this thread, and a read whose filter takes few exchanges scans the whole
 * recorder between two of them (session 16: a full 8 MiB js recorder, 88k exchanges, held
 * forwarding for ~4 s at once; bench/history-scan-block.sh).
 */
const HISTORY_SLICE_MS = 2;

/** Longest a stopping sidecar waits for its taps to take what is queued before it cuts them. */
const STOP_GRACE_MS = 1_000;

/** An IPv4-mapped 127.0.0.0/8 address as the URL parser writes it (`[::ffff:7f00:1]`). */
const MAPPED_LOOPBACK = /^\[::ffff:7f[0-9a-f]{2}:[0-9a-f]{1,4}\]$/;

/**
 * Whether a gRPC peer (`addr:port`, IPv6 unbracketed as grpc-js writes it) is a loopback
 * address: 127.0.0.0/8, ::1, or IPv4-mapped 127.0.0.0/8. The address is parsed, not matched
 * by prefix: `::1:2` or `::127.0.0.1` are not loopback, however they start.
 */
export function isLoopbackPeer(peer: string): boolean {
  let p = peer.replace(/^ipv[46]:/, '');
  if (p.startsWith('[')) p = p.slice(1, p.indexOf(']'));
  else if (p.lastIndexOf(':') > 0) p = p.slice(0, p.lastIndexOf(':'));
  if (isIPv4(p)) return p.startsWith('127.');
  if (!isIPv6(p)) return false;
  const canonical = new URL(`http://[${p}]`).hostname;
  return canonical === '[::1]' || MAPPED_LOOPBACK.test(canonical);
}

/** Whether a gRPC peer (`ipv4:a.b.c.d:port` or `a.b.c.d:port`) is one of `trusted` (IPs). */
function isTrustedPeer(peer: string, trusted: string[] | undefined): boolean {
  if (!trusted?.length) return false;
  let p = peer.replace(/^ipv[46]:/, '');
  if (p.startsWith('[')) p = p.slice(1, p.indexOf(']'));
  else if (p.lastIndexOf(':') > 0) p = p.slice(0, p.lastIndexOf(':'));
  return trusted.includes(p);
}

type Access = { ok: true; bodies: boolean; reveal: ReadonlySet<string> | 'all'; match: CompiledMatch; maxRps?: number } | { ok: false; status: number; message: string };

function and(a: CompiledMatch, b: CompiledMatch): CompiledMatch {
  const order = { req: 0, rsp: 1, end: 2 } as const;
  const readsSecrets = a.readsSecrets !== false || b.readsSecrets !== false;
  const matchesAll = a.matchesAll === true && b.matchesAll === true;
  return { test: (e) => a.test(e) && b.test(e), point: order[a.point] >= order[b.point] ? a.point : b.point, readsSecrets, matchesAll };
}

/** A refusal when `matches` filter on a header this subscriber would only see redacted (a filter on its value is an oracle). */
function hiddenHeaderFilter(matches: TapRequest['matches'], reveal: ReadonlySet<string> | 'all', o: TapServiceOptions): Access | undefined {
  if (reveal === 'all') return undefined;
  const name = filteredHeaderNames(matches).find((h) => o.hub.sensitiveHeaders.has(h) && !reveal.has(h));
  if (name === undefined) return undefined;
  return { ok: false, status: GRPC_STATUS.PERMISSION_DENIED, message: `MT_GRANT_NO_HEADERS: filtering on header '${name}' needs it revealed too (--reveal-header ${name})` };
}

function decideAccess(req: TapRequest, grant: string | undefined, peer: string, audiences: () => string[], o: TapServiceOptions): Access {
  // 0, negative or not a number would read as "no limit" further on and widen the grant's rate.
  if (req.maxRps !== undefined && (typeof req.maxRps !== 'number' || !Number.isFinite(req.maxRps) || req.maxRps <= 0)) {
    return { ok: false, status: GRPC_STATUS.INVALID_ARGUMENT, message: `MT_BAD_REQUEST: maxRps must be a positive number, not ${JSON.stringify(req.maxRps)}` };
  }
  // The request's filters are compiled only once the peer may tap: compiling regexes is the one
  // costly step here, and a peer without a grant must not be able to spend the JS thread on it.
  const compileRequest = (): CompiledMatch | Access => {
    try {
      return compileMatches(req.matches ?? []);
    } catch (err) {
      return { ok: false, status: GRPC_STATUS.INVALID_ARGUMENT, message: (err as Error).message };
    }
  };
  const asked = new Set((req.revealHeaders ?? []).map((h) => h.toLowerCase()));
  if (!grant) {
    if (o.trustLoopback && (isLoopbackPeer(peer) || isTrustedPeer(peer, o.trustedPeers))) {
      const match = compileRequest();
      if ('ok' in match) return match;
      return { ok: true, bodies: !!req.bodies, reveal: asked.has('*') ? 'all' : asked, match, maxRps: req.maxRps };
    }
    return { ok: false, status: GRPC_STATUS.PERMISSION_DENIED, message: 'MT_GRANT_REQUIRED: this sidecar only serves taps authorized by the tap API (use meshtap tap --tap-api URL)' };
  }
  const key = o.publicKey();
  if (!key) return { ok: false, status: GRPC_STATUS.UNAVAILABLE, message: 'MT_GRANT_NO_KEY: this sidecar does not know the tap API public key yet' };
  const v = verifyGrant(grant, { publicKey: key, pod: o.pod, namespace: o.namespace, audiences: audiences() });
  if (!v.ok) return { ok: false, status: GRPC_STATUS.PERMISSION_DENIED, message: `${v.error.code}: ${v.error.message}` };
  const claims: GrantClaims = v.value;
  if (req.bodies && !claims.bodies) {
    return { ok: false, status: GRPC_STATUS.PERMISSION_DENIED, message: 'MT_GRANT_NO_BODIES: the grant does not allow bodies' };
  }
  const allowed = new Set(claims.revealHeaders.map((h) => h.toLowerCase()));
  let reveal: ReadonlySet<string> | 'all';
  if (allowed.has('*')) reveal = asked.has('*') ? 'all' : asked;
  else {
    for (const h of asked) {
      if (!allowed.has(h)) return { ok: false, status: GRPC_STATUS.PERMISSION_DENIED, message: `MT_GRANT_NO_HEADERS: the grant does not reveal header '${h}'` };
    }
    reveal = asked;
  }
  const hidden = hiddenHeaderFilter(req.matches ?? [], reveal, o) ?? hiddenHeaderFilter(claims.matches ?? [], reveal, o);
  if (hidden) return hidden;
  const match = compileRequest();
  if ('ok' in match) return match;
  let grantMatch: CompiledMatch;
  try {
    grantMatch = compileMatches(claims.matches ?? []);
  } catch (err) {
    return { ok: false, status: GRPC_STATUS.PERMISSION_DENIED, message: `MT_GRANT_MALFORMED: ${(err as Error).message}` };
  }
  const maxRps = Math.min(req.maxRps ?? Infinity, claims.maxRps || Infinity);
  return { ok: true, bodies: !!req.bodies, reveal, match: and(match, grantMatch), maxRps: Number.isFinite(maxRps) ? maxRps : undefined };
}

export async function startTapService(listen: { host: string; port: number }, o: TapServiceOptions): Promise<TapService> {
  const maxSubscribers = o.maxSubscribers ?? 64;
  const maxHistoryReads = o.maxHistoryReads ?? MAX_HISTORY_READS;
  /** History reads under way (each holds a recorder snapshot). */
  let historyReads = 0;
  let bound = '';
  // Live taps, so that close() can end each one with a reason instead of a reset.
  const open = new Set<() => void>();
  const audiences = (): string[] => ownTapAddresses(bound, o.podIp);
  // Live taps opened with a flushToken, for `Flush` (at most maxSubscribers: only open taps are kept).
  const flushable = new Map<string, Subscriber>();

  // The tap port is a plain listener; its gRPC server (node:http2, tap-grpc-server.ts) is made with
  // its first connection (most sidecars never see a tap) and serves every connection handed to it.
  let server: TapGrpcServer | undefined;
  const inject = (socket: Socket): void => {
    socket.on('error', () => {}); // the HTTP/2 session reports it and closes
    server ??= createTapGrpcServer(
      new Map([
        [TAP_OBSERVE_PATH, { parse: parseJson, handle: (call) => observe(call as GrpcCall<TapRequest | null>) }],
        [TAP_FLUSH_PATH, { parse: parseJson, handle: (call) => flush(call as GrpcCall<FlushRequest | null>) }],
        // Callers of the version 1 wire (one message per event) are told what to upgrade, not left to a bare UNIMPLEMENTED.
        [TAP_OBSERVE_PATH_V1, { parse: (b) => b, handle: (call) => call.fail(GRPC_STATUS.FAILED_PRECONDITION, WIRE_TOO_OLD_DETAILS) }],
      ]),
      { onBoundHit: (bound) => o.metrics.boundHit(bound) },
    );
    server.inject(socket);
  };

  const observe = (call: GrpcCall<TapRequest | null>): void => {
    const req = call.request ?? ({ matches: [], bodies: false } as TapRequest);
    const grant = call.header(GRANT_METADATA_KEY) ?? req.grant;
    const access = decideAccess(req, grant, call.peer, audiences, o);
    if (!access.ok) {
      log.info('tap refused', { peer: call.peer, reason: access.message });
      return call.fail(access.status, access.message);
    }
    // Filters test the event as this grant is shown it (tap-hub redactedMatch): never an oracle for a secret.
    access.match = o.hub.redactedMatch(access.match, access);
    if (o.hub.count >= maxSubscribers) {
      o.metrics.boundHit('tap-subscribers');
      return call.fail(GRPC_STATUS.RESOURCE_EXHAUSTED, `MT_TAP_BUSY: this sidecar already serves ${maxSubscribers} taps`);
    }
    const wantsHistory = req.last !== undefined || req.sinceMs !== undefined;
    if (wantsHistory && historyReads >= maxHistoryReads) {
      o.metrics.boundHit('tap-history-reads');
      return call.fail(GRPC_STATUS.RESOURCE_EXHAUSTED, `MT_TAP_BUSY: this sidecar already serves ${maxHistoryReads} history reads (--since, --last); try again once one ends`);
    }
    const sub = o.hub.subscribe({
      match: access.match,
      bodies: access.bodies,
      endsOnly: req.endsOnly === true,
      reveal: access.reveal,
      maxRps: access.maxRps ?? (o.defaultMaxRps || undefined),
      writer: { write: (batch, written) => call.write(batch, written) },
    });
    const stopping = (): void => sub.finish(() => call.fail(GRPC_STATUS.UNAVAILABLE, SIDECAR_STOPPED_DETAILS));
    // A history-only tap already ends by itself once its history is out.
    if (!(req.last !== undefined || req.sinceMs !== undefined) || req.follow === true) open.add(stopping);
    const token = typeof req.flushToken === 'string' && req.flushToken.length <= FLUSH_TOKEN_MAX_CHARS ? req.flushToken : undefined;
    if (token !== undefined) flushable.set(token, sub);
    // Over however it ends: finished, cancelled by the client, past its deadline, connection gone.
    call.onClose(() => {
      open.delete(stopping);
      if (token !== undefined && flushable.get(token) === sub) flushable.delete(token);
      sub.close();
    });

    // Live delivery starts in the same tick as the history's snapshot, so nothing falls between them;
    // a history-only tap takes no live events.
    sub.live = !wantsHistory || req.follow === true;
    if (wantsHistory) {
      // A snapshot of the recorder now, made into events as the subscriber takes them (tap-hub
      // sendHistory): a read holds a few batches of its history, not all of it (session 15).
      const cursor = o.recorder.cursor(
        { sinceEpochMs: req.sinceMs !== undefined ? Date.now() - req.sinceMs : undefined, last: req.last },
        (e) => access.match.test(e),
      );
      const start = o.recorder.historyStartMs;
      const end: TapMessage = { type: 'history-end', ...(start !== undefined ? { historyStartMs: start } : {}), recorderBodies: o.recorderBodies === true };
      let ended = false;
      let released = false;
      /** The end of this turn's slice, and the wake-up of a read that let its turn go. */
      let sliceEnd: number | undefined;
      let later: NodeJS.Immediate | undefined;
      historyReads++;
      sub.sendHistory({
        next: (wake) => {
          if (ended) return undefined;
          let e: TapEvent | undefined | null;
          sliceEnd ??= performance.now() + HISTORY_SLICE_MS;
          try {
            e = cursor.next(sliceEnd);
          } catch (err) {
            // A record that does not decode ends this read, said so; the sidecar and its other taps go on.
            ended = true;
            log.warn('history read failed', { err: String(err) });
            call.fail(GRPC_STATUS.INTERNAL, `MT_HISTORY: reading the flight recorder failed: ${(err as Error).message}`);
            return undefined;
          }
          if (e === null) {
            // The slice is over: on in a later turn, after the I/O that waited (a new slice then).
            later = setImmediate(() => {
              later = undefined;
              sliceEnd = undefined;
              wake();
            });
            return null;
          }
          if (e !== undefined) return { type: 'event', event: o.hub.shape(e, access) };
          ended = true;
          return end;
        },
        close: () => {
          if (later !== undefined) clearImmediate(later);
          later = undefined;
          cursor.close();
          if (!released) historyReads--;
          released = true;
        },
      });
      if (req.follow !== true) sub.finish(() => call.end());
    }
  };

  /**
   * A `flushed` marker into the live tap opened with this token, after every event observation
   * holds now. The token is the capability (random, known to that subscriber only); nothing
   * else is revealed: an unknown token reads `found: false`.
   */
  const flush = (call: GrpcCall<FlushRequest | null>): void => {
    const token = call.request?.token;
    const sub = typeof token === 'string' ? flushable.get(token) : undefined;
    if (sub !== undefined) {
      try {
        o.flushObservation?.();
        o.hub.countShed(); // and the losses counted in C++ (shed, gated): told before the marker
      } catch (err) {
        log.warn('flush before a tap marker failed', { err: String(err) });
      }
      sub.send({ type: 'flushed', token: token as string }, true);
    }
    call.write(JSON.stringify({ found: sub !== undefined } satisfies FlushReply));
    call.end();
  };

  const host = listen.host.includes(':') ? `[${listen.host}]` : listen.host;
  const listener = createServer(inject);
  listener.maxConnections = o.maxConnections ?? MAX_TAP_CONNECTIONS;
  listener.on('drop', () => o.metrics.boundHit('tap-connections'));
  const port = await new Promise<number>((resolve, reject) => {
    listener.once('error', (err) => reject(new MeshtapError('MT_LISTEN', `tap: cannot listen on ${host}:${listen.port}: ${err.message}`, { cause: err })));
    listener.listen(listen.port, listen.host, () => resolve((listener.address() as AddressInfo).port));
  });
  listener.on('error', (err) => log.warn('tap listener error', { err: String(err) }));
  bound = `${host}:${port}`;
  return {
    address: bound,
    close: () =>
      new Promise<void>((resolve) => {
        listener.close();
        for (const stop of [...open]) stop();
        open.clear();
        if (server === undefined) return resolve();
        void server.close(STOP_GRACE_MS).then(resolve);
      }),
  };
}
