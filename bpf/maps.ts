/**
 * Byte encodings of the BPF maps' keys and values, mirroring bpf/lib/common.h and
 * bpf/lib/maps.h (little-endian host layout, explicit padding). Kept here, next to the
 * map names, so the addon stays a generic map API.
 */
import { isIPv4, isIPv6 } from 'node:net';
import { MeshtapError } from '../common/index.js';

/** Map pin names (LIBBPF_PIN_BY_NAME under a scope's pin directory). */
export const MAP = {
  config: 'mt_config',
  origCookie: 'mt_orig_cookie',
  origTuple: 'mt_orig_tuple',
  skipPort: 'mt_skip_port',
  skipCidr: 'mt_skip_cidr',
  stats: 'mt_stats',
  inboundSock: 'mt_inbound_sock',
} as const;

/** mt_config.flags */
export const FLAG = { outbound: 1, inbound: 2, skipUid: 4, interceptLoopback: 8 } as const;
/** Skip-list direction bits. */
export const SKIP = { out: 1, in: 2 } as const;
/** mt_stats indexes, in step with enum mt_stat. */
export const STATS = [
  'redirected',
  'skipped',
  'origStoreFailed',
  'sockoptHit',
  'sockoptMiss',
  'inboundSteered',
  'inboundNoListener',
] as const;
export type StatName = (typeof STATS)[number];

/** The settings of one scope as the programs read them. */
export interface ScopeSettings {
  flags: number;
  sidecarUid: number;
  outboundPort: number;
  inboundPort: number;
  adminPort: number;
  tapPort: number;
}

export function encodeConfig(s: ScopeSettings): Buffer {
  const b = Buffer.alloc(16);
  b.writeUInt32LE(s.flags, 0);
  b.writeUInt32LE(s.sidecarUid >>> 0, 4);
  b.writeUInt16LE(s.outboundPort, 8);
  b.writeUInt16LE(s.inboundPort, 10);
  b.writeUInt16LE(s.adminPort, 12);
  b.writeUInt16LE(s.tapPort, 14);
  return b;
}

export function decodeConfig(b: Buffer): ScopeSettings {
  return {
    flags: b.readUInt32LE(0),
    sidecarUid: b.readUInt32LE(4),
    outboundPort: b.readUInt16LE(8),
    inboundPort: b.readUInt16LE(10),
    adminPort: b.readUInt16LE(12),
    tapPort: b.readUInt16LE(14),
  };
}

export function u32(n: number): Buffer {
  const b = Buffer.alloc(4);
  b.writeUInt32LE(n >>> 0, 0);
  return b;
}

/** 16 bytes, network order; IPv4 as v4-mapped (::ffff:a.b.c.d), as the programs keep it. */
export function canonicalAddress(ip: string): Buffer {
  const out = Buffer.alloc(16);
  if (isIPv4(ip)) {
    out.writeUInt16BE(0xffff, 10);
    ip.split('.').forEach((p, i) => out.writeUInt8(Number(p), 12 + i));
    return out;
  }
  if (!isIPv6(ip)) throw new MeshtapError('MT_BAD_ADDRESS', `'${ip}' is not an IP address`);
  let text = ip.replace(/%.*$/, '');
  const v4 = /(\d+\.\d+\.\d+\.\d+)$/.exec(text);
  if (v4) {
    const p = v4[1].split('.').map(Number);
    text = text.slice(0, -v4[1].length) + `${((p[0] << 8) | p[1]).toString(16)}:${((p[2] << 8) | p[3]).toString(16)}`;
  }
  const [head, tail] = text.split('::') as [string, string | undefined];
  const h = head ? head.split(':') : [];
  const t = tail ? tail.split(':') : [];
  const groups = tail === undefined ? h : [...h, ...Array(8 - h.length - t.length).fill('0'), ...t];
  groups.forEach((g, i) => out.writeUInt16BE(parseInt(g, 16), i * 2));
  return out;
}

/** An LPM key for a CIDR (`10.0.0.0/8`, `fd00::/8`, or a bare address). */
export function encodeCidrKey(cidr: string): Buffer {
  const [ip, lenText] = cidr.split('/');
  const v4 = isIPv4(ip);
  const max = v4 ? 32 : 128;
  const len = lenText === undefined ? max : Number(lenText);
  if (!Number.isInteger(len) || len < 0 || len > max || !(v4 || isIPv6(ip))) {
    throw new MeshtapError('MT_BAD_CIDR', `'${cidr}' is not a CIDR (e.g. 10.0.0.0/8 or fd00::/8)`);
  }
  const key = Buffer.alloc(20);
  key.writeUInt32LE(v4 ? 96 + len : len, 0);
  canonicalAddress(ip).copy(key, 4);
  return key;
}
