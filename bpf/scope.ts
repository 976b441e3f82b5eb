/**
 * A "scope" is one intercepted unit (a pod, or one `meshtap run`): the cgroup programs on
 * its cgroup, optionally sk_lookup on its network namespace, and the maps they share,
 * all pinned under PIN_ROOT/<name>. Attaching is idempotent: a pinned link still bound
 * to the right cgroup/netns is adopted, a defunct one replaced; detaching removes the
 * pins, which detaches the programs and frees the maps.
 */
import { existsSync, readdirSync, rmSync, statSync, unlinkSync } from 'node:fs';
import { join } from 'node:path';
import { MeshtapError, createLogger } from '../common/index.js';
import { loadNativeBpf } from '../native/index.js';
import { cgroupId } from './cgroup.js';
import { ensureBpffs, PIN_ROOT } from './bpffs.js';
import { FLAG, MAP, SKIP, STATS, encodeCidrKey, encodeConfig, u32, type StatName } from './maps.js';

const log = createLogger('bpf.scope');

/** Programs attached to a scope's cgroup (the netns one is `sk-lookup`). */
export const CGROUP_PROGRAMS = ['connect4', 'connect6', 'sockops', 'getsockopt', 'getpeername4', 'getpeername6'] as const;
export const NETNS_PROGRAM = 'sk-lookup';

/** What a scope intercepts and what it leaves alone. */
export interface ScopeOptions {
  /** uid of the sidecar: its connects are never redirected (loop prevention). */
  sidecarUid: number;
  /** The sidecar's outbound listener port on loopback. */
  outboundPort: number;
  inboundPort?: number;
  adminPort?: number;
  tapPort?: number;
  /** Steer inbound connections (needs attachInbound). */
  inbound?: boolean;
  /** Ports never intercepted, per direction. */
  skipOutboundPorts?: number[];
  skipInboundPorts?: number[];
  /** Destinations (outbound) / sources (inbound) never intercepted. */
  skipCidrs?: string[];
  /** Also redirect connects to loopback (off by default). */
  interceptLoopback?: boolean;
}

/** Pin directory of a scope. */
export function scopePinDir(name: string): string {
  if (!/^[a-z0-9][-a-z0-9.]*$/.test(name)) throw new MeshtapError('MT_BAD_SCOPE', `bad scope name '${name}'`);
  return join(PIN_ROOT, name);
}

/** Names of all scopes pinned on this node. */
export function listScopes(): string[] {
  try {
    return readdirSync(PIN_ROOT);
  } catch {
    return [];
  }
}

function attachAdopting(pinDir: string, target: string, program: string, want: (info: NonNullable<ReturnType<ReturnType<typeof loadNativeBpf>['linkInfo']>>) => boolean): 'adopted' | 'attached' {
  const bpf = loadNativeBpf();
  const pin = join(pinDir, `link-${program}`);
  const info = bpf.linkInfo(pin);
  if (info && want(info)) return 'adopted';
  if (info) {
    log.info('replacing stale link', { pin });
    unlinkSync(pin);
  }
  try {
    bpf.attachProgram(pinDir, target, program);
  } catch (err) {
    throw new MeshtapError('MT_BPF_ATTACH', `cannot attach ${program} to ${target}: ${(err as Error).message}`, { cause: err });
  }
  return 'attached';
}

/**
 * Attaches the cgroup programs of scope `name` to `cgroupPath` (adopting valid pinned
 * links) and writes its settings. Programs on a descendant cgroup run before those on
 * ancestors, so a socket load balancer higher up still sees the original destination.
 */
export function attachCgroupScope(name: string, cgroupPath: string, opts: ScopeOptions): { adopted: string[]; attached: string[] } {
  ensureBpffs();
  const pinDir = scopePinDir(name);
  const id = cgroupId(cgroupPath);
  const result = { adopted: [] as string[], attached: [] as string[] };
  for (const program of CGROUP_PROGRAMS) {
    result[attachAdopting(pinDir, cgroupPath, program, (i) => i.cgroupId === id)].push(program);
  }
  writeScopeSettings(name, opts);
  return result;
}

/**
 * Attaches sk_lookup to the network namespace at `netnsPath` and hands it the sidecar's
 * inbound listener: socket `fd` of process `pid` (copied with pidfd_getfd).
 */
export function attachInbound(name: string, netnsPath: string, listener: { pid: number; fd: number }): 'adopted' | 'attached' {
  ensureBpffs();
  const pinDir = scopePinDir(name);
  const ino = statSync(netnsPath).ino;
  const how = attachAdopting(pinDir, netnsPath, NETNS_PROGRAM, (i) => i.netnsIno === ino);
  try {
    loadNativeBpf().sockmapSetFromProcess(join(pinDir, MAP.inboundSock), 0, listener.pid, listener.fd);
  } catch (err) {
    throw new MeshtapError('MT_BPF_ATTACH', `cannot hand the inbound listener (pid ${listener.pid} fd ${listener.fd}) to sk_lookup: ${(err as Error).message}`, { cause: err });
  }
  return how;
}

/** (Re)writes a scope's settings and skip lists. */
export function writeScopeSettings(name: string, opts: ScopeOptions): void {
  const bpf = loadNativeBpf();
  const pinDir = scopePinDir(name);
  const flags = FLAG.outbound | FLAG.skipUid | (opts.inbound ? FLAG.inbound : 0) | (opts.interceptLoopback ? FLAG.interceptLoopback : 0);
  const ports = new Map<number, number>();
  for (const p of opts.skipOutboundPorts ?? []) ports.set(p, (ports.get(p) ?? 0) | SKIP.out);
  for (const p of opts.skipInboundPorts ?? []) ports.set(p, (ports.get(p) ?? 0) | SKIP.in);
  const portMap = join(pinDir, MAP.skipPort);
  for (const key of bpf.mapKeys(portMap, 4096)) if (!ports.has(key.readUInt32LE(0))) bpf.mapDelete(portMap, key);
  for (const [port, bits] of ports) bpf.mapUpdate(portMap, u32(port), u32(bits));
  const cidrMap = join(pinDir, MAP.skipCidr);
  const cidrKeys = (opts.skipCidrs ?? []).map(encodeCidrKey);
  for (const key of bpf.mapKeys(cidrMap, 4096)) if (!cidrKeys.some((k) => k.equals(key))) bpf.mapDelete(cidrMap, key);
  for (const key of cidrKeys) bpf.mapUpdate(cidrMap, key, u32(SKIP.out | SKIP.in));
  bpf.mapUpdate(
    join(pinDir, MAP.config),
    u32(0),
    encodeConfig({
      flags,
      sidecarUid: opts.sidecarUid,
      outboundPort: opts.outboundPort,
      inboundPort: opts.inboundPort ?? 0,
      adminPort: opts.adminPort ?? 0,
      tapPort: opts.tapPort ?? 0,
    }),
  );
}

/** Removes a scope: unpinning its links detaches the programs; its maps go with them. */
export function detachScope(name: string): void {
  rmSync(scopePinDir(name), { recursive: true, force: true });
}

/** Whether a scope has any pins. */
export function hasScope(name: string): boolean {
  return existsSync(scopePinDir(name));
}

/** Counters kept by the programs of a scope. */
export function readScopeStats(name: string): Record<StatName, number> {
  const bpf = loadNativeBpf();
  const out = {} as Record<StatName, number>;
  STATS.forEach((stat, i) => {
    const v = bpf.mapLookup(join(scopePinDir(name), MAP.stats), u32(i));
    out[stat] = v ? Number(v.readBigUInt64LE(0)) : 0;
  });
  return out;
}

/** Live original-destination entries of a scope (by cookie + by 4-tuple), bounded. */
export function countOriginalDstEntries(name: string, limit = 100_000): number {
  const bpf = loadNativeBpf();
  const dir = scopePinDir(name);
  return bpf.mapKeys(join(dir, MAP.origCookie), limit).length + bpf.mapKeys(join(dir, MAP.origTuple), limit).length;
}
