/**
 * Which tap addresses are this sidecar's own: what it tells the tap API to dial, and which grant
 * audiences (`aud`) it accepts. A grant is addressed to the `host:port` the tap API dialed, so
 * the sidecar must recognise every address under which it can be dialed, and no other:
 *
 * - a listener on a concrete address is dialed there (locally `127.0.0.1:port`);
 * - a wildcard listener (`0.0.0.0`, `::`) is dialed on the pod IP in Kubernetes (the tap API
 *   dials `status.podIP:4190`; the sidecar knows it as MESHTAP_POD_IP), or on any address of
 *   this network namespace's interfaces (loopback included).
 *
 * Interfaces are read when a tap starts (not cached), so an address added later still counts.
 */
import { networkInterfaces } from 'node:os';
import { formatHostPort } from '../common/index.js';
import { normalizeTapAddress } from '../tap-protocol/index.js';

const ADDRESS = /^(?:\[(.*)\]|(.*)):(\d+)$/;
const WILDCARDS = new Set(['0.0.0.0', '::', '']);

function splitAddress(address: string): { host: string; port: string } | undefined {
  const m = ADDRESS.exec(address);
  return m ? { host: m[1] ?? m[2] ?? '', port: m[3]! } : undefined;
}

const join = formatHostPort;

/**
 * The address others dial for a listener bound at `address`: a wildcard listener is reached on
 * the pod IP (or loopback when there is none, i.e. locally); anything else as it is.
 */
export function reachableAddress(address: string, podIp?: string): string {
  const a = splitAddress(address);
  if (!a || !WILDCARDS.has(a.host)) return address;
  return join(podIp ?? '127.0.0.1', a.port);
}

/**
 * Every tap address this sidecar answers to, normalized like grant audiences: a concrete bound
 * address itself; for a wildcard listener, what it registers (pod IP, else loopback) and the
 * addresses of the local interfaces (IPv4 only for `0.0.0.0`).
 */
export function ownTapAddresses(bound: string, podIp?: string, interfaces: () => string[] = localAddresses): string[] {
  const out = new Set<string>();
  const add = (addr: string): void => {
    const n = normalizeTapAddress(addr);
    if (n) out.add(n);
  };
  const a = splitAddress(bound);
  if (!a || !WILDCARDS.has(a.host)) {
    add(bound);
  } else {
    add(reachableAddress(bound, podIp));
    const v4Only = a.host === '0.0.0.0';
    for (const ip of interfaces()) if (!v4Only || !ip.includes(':')) add(join(ip, a.port));
  }
  return [...out];
}

/** The addresses of this network namespace's interfaces (link-local IPv6 left out: not dialable without a zone). */
function localAddresses(): string[] {
  const out: string[] = [];
  for (const list of Object.values(networkInterfaces())) {
    for (const i of list ?? []) if (!(i.family === 'IPv6' && i.scopeid)) out.push(i.address);
  }
  return out;
}
