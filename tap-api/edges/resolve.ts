/**
 * Names peer addresses for edges from what the tap API knows about pods: in local mode each
 * registered sidecar's inbound (`host:port`) and source (IP) addresses; in a cluster each meshed
 * pod's IP (the host of its tap address). An address two workloads claim names neither: a wrong
 * name is worse than an address.
 */
import type { TapPod } from '../server/access.js';
import { formatTarget } from '../server/targets.js';
import type { AddressResolver, PeerName } from './compute.js';

/** The IP of `ip:port` / `[v6]:port` (a bare IP is returned as is). */
export function hostOfAddress(address: string): string {
  if (address.startsWith('[')) {
    const end = address.indexOf(']');
    return end > 0 ? address.slice(1, end) : address;
  }
  const colon = address.indexOf(':');
  return colon >= 0 && address.indexOf(':', colon + 1) < 0 ? address.slice(0, colon) : address;
}

/** `byPodIp`: a cluster (pod IPs are unique); local sidecars all share 127.0.0.1 and are named only by what they registered. */
export function resolverOf(pods: TapPod[], byPodIp: boolean): AddressResolver {
  const claims = new Map<string, PeerName | null>();
  const claim = (address: string, name: PeerName): void => {
    const old = claims.get(address);
    if (old === undefined) claims.set(address, name);
    else if (old !== null && (old.namespace !== name.namespace || old.workload !== name.workload)) claims.set(address, null);
  };
  for (const p of pods) {
    const name: PeerName = { namespace: p.namespace, workload: p.workload ? formatTarget(p.workload) : `pod/${p.pod}` };
    for (const a of [...(p.inboundAddresses ?? []), ...(p.sourceAddresses ?? [])]) claim(a, name);
    if (byPodIp) claim(hostOfAddress(p.tapAddress), name);
  }
  return (address) => claims.get(address) ?? claims.get(hostOfAddress(address)) ?? undefined;
}

/**
 * The labels every pod of each workload carries (`ns/deploy/web` → labels), for selecting the
 * workload's pods in a NetworkPolicy. A workload whose pods share no label has none.
 */
export function workloadLabelsOf(pods: TapPod[]): Map<string, Record<string, string>> {
  const out = new Map<string, Record<string, string>>();
  for (const p of pods) {
    if (!p.labels) continue;
    const key = `${p.namespace}/${p.workload ? formatTarget(p.workload) : `pod/${p.pod}`}`;
    const have = out.get(key);
    if (!have) out.set(key, { ...p.labels });
    else for (const k of Object.keys(have)) if (p.labels[k] !== have[k]) delete have[k];
  }
  for (const [k, v] of out) if (Object.keys(v).length === 0) out.delete(k);
  return out;
}
