/**
 * Validators for annotation values. Each returns the normalised value or undefined; the
 * caller turns undefined into a warning and the default — a typo never breaks a pod.
 * Pure string work (no I/O), so the injector stays importable anywhere.
 */

/** `80,443,8000-8100` → normalised list; undefined when any part is not a port or range. */
export function parsePortList(text: string): string | undefined {
  const parts = text.split(',').map((p) => p.trim()).filter((p) => p !== '');
  if (parts.length === 0) return undefined;
  for (const part of parts) {
    const m = /^(\d{1,5})(?:-(\d{1,5}))?$/.exec(part);
    if (!m) return undefined;
    const lo = Number(m[1]);
    const hi = m[2] === undefined ? lo : Number(m[2]);
    if (lo < 1 || hi > 65535 || hi < lo) return undefined;
  }
  return parts.join(',');
}

function isIpv4(text: string): boolean {
  const parts = text.split('.');
  return parts.length === 4 && parts.every((p) => /^\d{1,3}$/.test(p) && Number(p) <= 255);
}

function isIpv6(text: string): boolean {
  if (!/^[0-9a-fA-F:.]+$/.test(text) || !text.includes(':')) return false;
  const dbl = text.split('::');
  if (dbl.length > 2) return false;
  let groups = text.split(':').filter((g) => g !== '');
  const last = groups[groups.length - 1];
  let count = groups.length;
  if (last !== undefined && last.includes('.')) {
    if (!isIpv4(last)) return false;
    groups = groups.slice(0, -1);
    count += 1;
  }
  if (!groups.every((g) => /^[0-9a-fA-F]{1,4}$/.test(g))) return false;
  return dbl.length === 2 ? count < 8 : count === 8;
}

/** `10.0.0.0/8,fd00::/8` → normalised list; undefined when any part is not a CIDR. */
export function parseCidrList(text: string): string | undefined {
  const parts = text.split(',').map((p) => p.trim()).filter((p) => p !== '');
  if (parts.length === 0) return undefined;
  for (const part of parts) {
    const [addr, bits, extra] = part.split('/');
    if (addr === undefined || bits === undefined || extra !== undefined || !/^\d{1,3}$/.test(bits)) return undefined;
    const max = isIpv4(addr) ? 32 : isIpv6(addr) ? 128 : -1;
    if (max < 0 || Number(bits) > max) return undefined;
  }
  return parts.join(',');
}

const SIZE_UNITS: Record<string, number> = {
  '': 1, b: 1, k: 1024, kb: 1024, kib: 1024, ki: 1024, m: 1024 ** 2, mb: 1024 ** 2, mib: 1024 ** 2, mi: 1024 ** 2,
  g: 1024 ** 3, gb: 1024 ** 3, gib: 1024 ** 3, gi: 1024 ** 3,
};

/** `65536`, `64Ki`, `64KiB`, `8Mi` → bytes; undefined for anything else or > `maxBytes`. */
export function parseByteSize(text: string, maxBytes: number): number | undefined {
  const m = /^(\d+)\s*([a-zA-Z]*)$/.exec(text.trim());
  if (!m) return undefined;
  const unit = SIZE_UNITS[(m[2] ?? '').toLowerCase()];
  if (unit === undefined) return undefined;
  const n = Number(m[1]) * unit;
  return Number.isSafeInteger(n) && n <= maxBytes ? n : undefined;
}

const QUANTITY = /^(\d+(?:\.\d*)?|\.\d+)(Ki|Mi|Gi|Ti|Pi|Ei|n|u|m|k|M|G|T|P|E|[eE][+-]?\d+)?$/;
const QUANTITY_SUFFIX: Record<string, number> = {
  '': 1, n: 1e-9, u: 1e-6, m: 1e-3, k: 1e3, M: 1e6, G: 1e9, T: 1e12, P: 1e15, E: 1e18,
  Ki: 2 ** 10, Mi: 2 ** 20, Gi: 2 ** 30, Ti: 2 ** 40, Pi: 2 ** 50, Ei: 2 ** 60,
};

/** A Kubernetes resource quantity (`100m`, `1.5`, `128Mi`, `1e3`) → its numeric value, or undefined. */
export function parseQuantity(text: string): number | undefined {
  const m = QUANTITY.exec(text.trim());
  if (!m) return undefined;
  const suffix = m[2] ?? '';
  const mult = /^[eE]/.test(suffix) ? 10 ** Number(suffix.slice(1)) : QUANTITY_SUFFIX[suffix];
  if (mult === undefined) return undefined;
  const n = Number(m[1]) * mult;
  return Number.isFinite(n) && n > 0 ? n : undefined;
}

/** A container image reference without spaces or control characters. */
export function parseImage(text: string): string | undefined {
  const t = text.trim();
  return /^[a-z0-9][a-z0-9._\-/:@]*$/i.test(t) && t.length <= 512 ? t : undefined;
}
