/**
 * Names the other end of tap events in the tap API, from the pods it knows (issue 15: "inbound
 * events name their caller"). In a cluster a sidecar knows its callers only by pod IP (no
 * registration tells it who is who), so `tap`/`top` on a callee showed bare IPs; the tap API
 * knows every meshed pod's IP and workload, and fills `srcWorkload`/`srcNamespace` of inbound
 * events (and `dstWorkload`/`dstNamespace` of outbound events that went to a pod IP) on their
 * way through the fan-out. Fields a sidecar already set are kept (local sidecars name peers
 * themselves).
 *
 * Names come from a cached pod list: read once before a tap starts, read again when a pod
 * watch says pods changed, when older than `maxAgeMs`, or (at most every `missRefreshMs`) when
 * an address is not known yet (a pod that just started). An address a read made after its first
 * miss still did not name (an unmeshed caller, a Service IP) causes no more reads until the list
 * is stale anyway, so unmeshed traffic costs no API calls. Naming never waits: an event that
 * arrives while the list is being read is named from the previous list. An address two
 * workloads claim names neither (resolve.ts).
 *
 * What a viewer may learn: the caller's namespace and workload (never its pod), as `linkerd viz
 * tap` shows a source's `src_res`/`src_ns` and as `edges` lists callers of a namespace: the
 * caller made itself known by connecting, and the viewer already sees its address.
 */
import type { TapEvent } from '../../tap-protocol/index.js';
import type { TapPod } from '../server/access.js';
import type { AddressResolver } from './compute.js';
import { hostOfAddress, resolverOf } from './resolve.js';

/** How long a pod list names peers before it is read again (while taps run). */
export const PEER_NAMES_MAX_AGE_MS = 10_000;
/** Least time between two reads caused by an unknown address. */
export const PEER_NAMES_MISS_REFRESH_MS = 2_000;
/** Most addresses remembered as unknown (the set is emptied when full). */
export const PEER_NAMES_MAX_MISSES = 4096;
/** Longest a tap's start waits for the first pod list. */
export const PEER_NAMES_FIRST_READ_MS = 2_000;

export interface PeerNames {
  /** Fills the peer's workload and namespace where the event lacks them and the address is known. */
  name(e: TapEvent): void;
  /** Reads the pod list if it is stale (or never read); resolves when done, failed or after PEER_NAMES_FIRST_READ_MS. */
  ready(): Promise<void>;
  /** Pods may have changed (a pod watch event): read the list again before the next naming. */
  invalidate(): void;
}

export interface PeerNamesOptions {
  /** Every tappable pod (discovery.listAll). */
  list(): Promise<TapPod[]>;
  /** A cluster: pod IPs name pods. Local: only registered addresses do. */
  byPodIp: boolean;
  maxAgeMs?: number;
  missRefreshMs?: number;
  now?: () => number;
}

export function createPeerNames(options: PeerNamesOptions): PeerNames {
  const now = options.now ?? Date.now;
  const maxAgeMs = options.maxAgeMs ?? PEER_NAMES_MAX_AGE_MS;
  const missRefreshMs = options.missRefreshMs ?? PEER_NAMES_MISS_REFRESH_MS;
  let resolve: AddressResolver = () => undefined;
  let readAt = -Infinity;
  let stale = true;
  let reading: Promise<void> | undefined;
  let reads = 0;
  /** Unknown address → how many reads had completed when it first missed. */
  const misses = new Map<string, number>();

  const read = (): Promise<void> =>
    (reading ??= (async () => {
      const started = now();
      try {
        resolve = resolverOf(await options.list(), options.byPodIp);
        stale = false;
        reads++;
      } catch {
        // Keep the names we have; the next event past missRefreshMs asks again.
      } finally {
        readAt = started;
        reading = undefined;
      }
    })());

  /** `key`: what names the peer (a caller's IP: its port is ephemeral; a callee's `ip:port`). */
  const lookup = (address: string, key: string): ReturnType<AddressResolver> => {
    const age = now() - readAt;
    const found = resolve(address);
    let refresh = stale || age > maxAgeMs;
    if (!found) {
      const firstMiss = misses.get(key);
      if (firstMiss === undefined) {
        if (misses.size >= PEER_NAMES_MAX_MISSES) misses.clear();
        misses.set(key, reads);
        refresh ||= age > missRefreshMs;
      } else if (firstMiss === reads) refresh ||= age > missRefreshMs;
    }
    if (refresh) void read();
    return found;
  };

  return {
    name(e) {
      if (e.proxy === 'in' && !e.srcWorkload && e.src) {
        const p = lookup(e.src, hostOfAddress(e.src));
        if (p) {
          e.srcWorkload = p.workload;
          e.srcNamespace = p.namespace;
        }
      } else if (e.proxy === 'out' && !e.dstWorkload && e.dst) {
        const p = lookup(e.dst, e.dst);
        if (p) {
          e.dstWorkload = p.workload;
          e.dstNamespace = p.namespace;
        }
      }
    },
    async ready() {
      if (!stale && now() - readAt <= maxAgeMs) return;
      let timer: NodeJS.Timeout | undefined;
      await Promise.race([read(), new Promise<void>((r) => (timer = setTimeout(r, PEER_NAMES_FIRST_READ_MS)))]);
      clearTimeout(timer);
    },
    invalidate() {
      stale = true;
      misses.clear();
    },
  };
}
