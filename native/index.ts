/**
 * The only TypeScript face of meshtap's native addon (native/build/Release/meshtap_native.node,
 * built by scripts/build-native.sh). The addon is loaded lazily on first use, so that a
 * machine without it (no clang/libbpf, not built) still runs everything in explicit mode;
 * using a native feature there throws MeshtapError MT_NATIVE_MISSING with what to do.
 */
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import type { Socket } from 'node:net';
import { fileURLToPath } from 'node:url';
import { MeshtapError } from '../common/index.js';

/** Where an intercepted connection was going, as the application asked for it. */
export interface OriginalDst {
  address: string;
  port: number;
  family: 4 | 6;
}

/** A pinned BPF link, as the kernel describes it. cgroupId 0 / netnsIno 0: target gone. */
export interface LinkInfo {
  id: number;
  progId: number;
  type: number;
  cgroupId?: bigint;
  netnsIno?: number;
  attachType?: number;
}

/** The raw addon surface used by bpf/ (keys and values are encoded in bpf/maps.ts). */
export interface NativeBpf {
  /** Loads one embedded program with maps pinned under pinDir, attaches it to the cgroup
   * or netns at targetPath, pins the link as <pinDir>/link-<name>; returns the pin path. */
  attachProgram(pinDir: string, targetPath: string, name: string): string;
  programNames(): { name: string; scope: 'cgroup' | 'netns' }[];
  mapUpdate(pinPath: string, key: Buffer, value: Buffer): void;
  mapDelete(pinPath: string, key: Buffer): boolean;
  mapLookup(pinPath: string, key: Buffer): Buffer | undefined;
  mapKeys(pinPath: string, limit: number): Buffer[];
  /** Copies socket `fd` of process `pid` (pidfd_getfd) into the SOCKMAP at pinPath[key]. */
  sockmapSetFromProcess(pinPath: string, key: number, pid: number, fd: number): void;
  linkInfo(pinPath: string): LinkInfo | undefined;
  probeFeatures(): Record<string, boolean>;
}

interface Addon extends NativeBpf {
  getOriginalDst(fd: number): OriginalDst | undefined;
}

const ADDON_CANDIDATES = [
  '../native/build/Release/meshtap_native.node', // from native/index.ts (tests, tsx)
  '../../native/build/Release/meshtap_native.node', // from dist/native/index.js
];

let loaded: { addon?: Addon; error?: string } | undefined;

function load(): { addon?: Addon; error?: string } {
  if (loaded) return loaded;
  const require = createRequire(import.meta.url);
  const tried: string[] = [];
  for (const rel of ADDON_CANDIDATES) {
    const path = fileURLToPath(new URL(rel, import.meta.url));
    tried.push(path);
    if (!existsSync(path)) continue;
    try {
      loaded = { addon: require(path) as Addon };
      return loaded;
    } catch (err) {
      loaded = { error: `${path}: ${err instanceof Error ? err.message.split('\n')[0] : String(err)}` };
      return loaded;
    }
  }
  loaded = { error: `not built (looked for ${tried.join(', ')})` };
  return loaded;
}

function addon(): Addon {
  const { addon: a, error } = load();
  if (!a) {
    throw new MeshtapError(
      'MT_NATIVE_MISSING',
      `the native addon is unavailable: ${error}; run 'bash scripts/build-native.sh' as root (needs clang, libbpf-dev, bpftool, g++), or use explicit mode: meshtap proxy --forward LISTEN=TARGET`,
    );
  }
  return a;
}

/** Whether the native addon is built and loads here (never throws). */
export function isNativeAvailable(): boolean {
  return load().addon !== undefined;
}

/**
 * The original destination of an accepted, intercepted TCP connection: one
 * getsockopt(SO_ORIGINAL_DST) (SOL_IP 80, or SOL_IPV6 80 on IPv6 sockets) on the socket's
 * fd, answered by meshtap's cgroup/getsockopt program (or by netfilter after an iptables
 * REDIRECT). undefined when the kernel has no entry (the connection was not redirected).
 */
export function getOriginalDst(socket: Socket): OriginalDst | undefined {
  const fd = (socket as unknown as { _handle?: { fd?: number } })._handle?.fd;
  if (typeof fd !== 'number' || fd < 0) return undefined;
  const a = addon();
  try {
    return a.getOriginalDst(fd);
  } catch (err) {
    throw new MeshtapError('MT_ORIGINAL_DST', `original destination lookup failed: ${(err as Error).message}`, { cause: err });
  }
}

/** The BPF half of the addon, for bpf/. Throws MT_NATIVE_MISSING when not built. */
export function loadNativeBpf(): NativeBpf {
  return addon();
}
