/**
 * Who is behind an address: the other sidecars' inbound addresses (`host:port`, naming where
 * outbound traffic goes) and source addresses (a bare IP, naming who an inbound connection came
 * from), as the tap API lists them on every registration heartbeat.
 *
 * Sidecars learn about a new pod only every couple of seconds, so names are looked up when an
 * event or a metric is made, never once per connection (issue 10 item 7c: a keep-alive
 * connection opened before its peer registered stayed unnamed for life). Lookups are cheap:
 * `version` changes only when the list really changed, so a connection keeps its last answer
 * and asks again only after a change.
 */

export interface PeerIdentity {
  /** `deploy/web` (absent for a bare pod). */
  workload?: string;
  namespace: string;
}

export interface PeerDirectory {
  /** Bumped whenever `replace` changed an answer. */
  readonly version: number;
  lookup(address: string): PeerIdentity | undefined;
  /** Replaces the whole list (a heartbeat reply). */
  replace(peers: ReadonlyArray<{ address: string } & PeerIdentity>): void;
}

export function createPeerDirectory(): PeerDirectory {
  let byAddress = new Map<string, PeerIdentity>();
  let version = 0;
  const same = (a: PeerIdentity | undefined, b: PeerIdentity): boolean => a !== undefined && a.workload === b.workload && a.namespace === b.namespace;
  return {
    get version() {
      return version;
    },
    lookup: (address) => byAddress.get(address),
    replace(peers) {
      const next = new Map<string, PeerIdentity>();
      let changed = false;
      for (const p of peers) {
        const id: PeerIdentity = p.workload ? { workload: p.workload, namespace: p.namespace } : { namespace: p.namespace };
        const old = byAddress.get(p.address);
        next.set(p.address, same(old, id) ? old! : id);
        if (!same(old, id)) changed = true;
      }
      if (!changed && next.size === byAddress.size) return;
      byAddress = next;
      version++;
    },
  };
}

/** The IP of an `ip:port` / `[v6]:port` address (inbound callers are named by IP: their port is ephemeral). */
export function hostOf(address: string): string {
  const colon = address.lastIndexOf(':');
  if (colon < 0) return address;
  const host = address.slice(0, colon);
  return host.startsWith('[') && host.endsWith(']') ? host.slice(1, -1) : host;
}

/**
 * A loopback source address for this sidecar's outbound connections in explicit local mode
 * (127.0.0.0/8 all reaches `lo` on Linux): every local sidecar connects from its own address, so
 * the callee's inbound sidecar can name its caller by IP the way a pod IP names it in a cluster.
 * Derived from the pod's identity (FNV-1a), so it is stable across restarts; the tap API refuses
 * to name an address two sidecars claim.
 */
export function loopbackSourceAddress(namespace: string, pod: string): string {
  let h = 0x811c9dc5;
  const s = `${namespace}/${pod}`;
  for (let i = 0; i < s.length; i++) {
    h ^= s.charCodeAt(i);
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  // 127.1.0.1 … 127.254.255.254: never 127.0.0.x (what unmeshed local clients use).
  return `127.${1 + (h % 254)}.${(h >>> 8) & 0xff}.${1 + ((h >>> 16) % 254)}`;
}
