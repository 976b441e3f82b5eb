/**
 * Tap grants: short-lived Ed25519-signed statements from the tap API saying what one pod's
 * sidecar may show one user (bodies or not, which headers stay unredacted, the match, a rate).
 *
 * Audience: every grant names the tap address the tap API dialed to deliver it (`aud`,
 * `host:port`), and a sidecar accepts only grants addressed to one of its own tap addresses.
 * Without this, whoever received a grant (a sidecar, or an impostor that registered as the pod)
 * could replay it to the real sidecar of that pod within its lifetime. A grant without `aud`
 * (from an older tap API) is refused, so there is no downgrade to unbound grants.
 *
 * Token format: `base64url(JSON claims) + '.' + base64url(signature over the first part)`.
 * Not a JWT on purpose: no header, no algorithm negotiation (always Ed25519), so there is
 * nothing for a forger to downgrade.
 *
 * Expiry is checked by the sidecar ONCE, when a tap stream starts: a stream that began with a
 * valid grant may outlive `exp` (a tap can run for hours). A grant therefore only needs to
 * live long enough to open the stream (default 60 s), which keeps a leaked grant nearly useless.
 */
import type * as Crypto from 'node:crypto';
import type { KeyObject } from 'node:crypto';
import { createRequire } from 'node:module';
import { chmod, mkdir, readFile, writeFile } from 'node:fs/promises';
import { isIPv6 } from 'node:net';
import { dirname } from 'node:path';
import type { TapFilter } from './tap-types.js';
import { MeshtapError, isErrnoException, type Result } from '../common/index.js';

/**
 * node:crypto, loaded at the first grant operation: a sidecar that signs or verifies no grant
 * never initializes it (~0.6 MB of an idle native sidecar's RSS; docs/decisions.md).
 */
let cryptoModule: typeof Crypto | undefined;
const crypto = (): typeof Crypto => (cryptoModule ??= createRequire(import.meta.url)('node:crypto') as typeof Crypto);

/** What a grant allows. Times are ms since the epoch. */
export interface GrantClaims {
  v: 1;
  /** The user the tap API authorized. */
  sub: string;
  pod: string;
  namespace: string;
  /**
   * The tap address (`host:port`) the tap API delivers this grant to: only the sidecar serving
   * that address accepts it (see the module comment).
   */
  aud: string;
  /** `deploy/web`, when the pod registered a workload. */
  workload?: string;
  /** Bodies may be captured and shown. */
  bodies: boolean;
  /** Header names that may be shown unredacted; `['*']` = all. Lower case. */
  revealHeaders: string[];
  /** The tap's filters; the sidecar ANDs its subscriber's filters with these. */
  matches: TapFilter[][];
  /** Most exchanges per second this pod may send for this grant. */
  maxRps: number;
  iat: number;
  /** Checked at stream start only (see the module comment). */
  exp: number;
  /** Unique id (for logs / audit). */
  jti: string;
}

/** Default grant lifetime: long enough to open a stream, short enough to be useless when leaked. */
export const DEFAULT_GRANT_TTL_MS = 60_000;
/** Grants larger than this are refused unparsed (bounded input). */
export const MAX_GRANT_BYTES = 64 * 1024;
/** Clock skew tolerated on `iat` between the tap API and a sidecar. */
export const GRANT_CLOCK_SKEW_MS = 30_000;

export type GrantErrorCode = 'MT_GRANT_EXPIRED' | 'MT_GRANT_BAD_SIGNATURE' | 'MT_GRANT_WRONG_POD' | 'MT_GRANT_WRONG_AUDIENCE' | 'MT_GRANT_MALFORMED';
export interface GrantError {
  code: GrantErrorCode;
  message: string;
}

/** Fills `v`, `iat`, `exp` (iat + DEFAULT_GRANT_TTL_MS) and `jti` when absent. */
export function makeGrantClaims(
  claims: Omit<GrantClaims, 'v' | 'iat' | 'exp' | 'jti'> & Partial<Pick<GrantClaims, 'iat' | 'exp' | 'jti'>>,
  nowMs = Date.now(),
): GrantClaims {
  const iat = claims.iat ?? nowMs;
  return { ...claims, v: 1, iat, exp: claims.exp ?? iat + DEFAULT_GRANT_TTL_MS, jti: claims.jti ?? crypto().randomUUID() };
}

/** Signs claims with the tap API's Ed25519 private key. */
export function signGrant(claims: GrantClaims, privateKey: KeyObject): string {
  const payload = Buffer.from(JSON.stringify(claims)).toString('base64url');
  const signature = crypto().sign(null, Buffer.from(payload), privateKey).toString('base64url');
  return `${payload}.${signature}`;
}

export interface VerifyGrantOptions {
  /** The tap API's public key (a KeyObject, or base64 of the raw 32 bytes). */
  publicKey: KeyObject | string;
  /** The pod this sidecar serves. */
  pod: string;
  namespace: string;
  /** This sidecar's own tap addresses (`host:port`); the grant's `aud` must be one of them. */
  audiences: readonly string[];
  nowMs?: number;
}

const B64URL = /^[A-Za-z0-9_-]+$/;

/**
 * Checks a grant: well formed, signed by `publicKey`, for this pod and namespace, addressed to
 * one of `audiences`, not expired. Never throws; the order of checks means a forged grant is
 * reported as such, not as "wrong pod".
 */
export function verifyGrant(token: string, options: VerifyGrantOptions): Result<GrantClaims, GrantError> {
  const fail = (code: GrantErrorCode, message: string): Result<GrantClaims, GrantError> => ({ ok: false, error: { code, message } });
  if (typeof token !== 'string' || token.length === 0) return fail('MT_GRANT_MALFORMED', 'grant is empty');
  if (token.length > MAX_GRANT_BYTES) return fail('MT_GRANT_MALFORMED', `grant is larger than ${MAX_GRANT_BYTES} bytes`);
  const parts = token.split('.');
  if (parts.length !== 2 || !B64URL.test(parts[0]!) || !B64URL.test(parts[1]!)) {
    return fail('MT_GRANT_MALFORMED', 'grant is not <base64url claims>.<base64url signature>');
  }
  const signature = Buffer.from(parts[1]!, 'base64url');
  // Only the canonical encoding: one grant, one token string (no malleable padding bits).
  if (signature.length !== 64 || signature.toString('base64url') !== parts[1]) {
    return fail('MT_GRANT_BAD_SIGNATURE', 'grant signature is not a canonical 64-byte Ed25519 signature');
  }
  let key: KeyObject;
  try {
    key = typeof options.publicKey === 'string' ? importPublicKeyRaw(options.publicKey) : options.publicKey;
  } catch (err) {
    return fail('MT_GRANT_BAD_SIGNATURE', `cannot use the tap API public key: ${(err as Error).message}`);
  }
  let good = false;
  try {
    good = crypto().verify(null, Buffer.from(parts[0]!), key, signature);
  } catch {
    good = false;
  }
  if (!good) return fail('MT_GRANT_BAD_SIGNATURE', 'grant signature does not verify with the tap API public key');
  let claims: unknown;
  try {
    claims = JSON.parse(Buffer.from(parts[0]!, 'base64url').toString('utf8'));
  } catch {
    return fail('MT_GRANT_MALFORMED', 'grant claims are not JSON');
  }
  const shapeError = checkClaimsShape(claims);
  if (shapeError) return fail('MT_GRANT_MALFORMED', `grant claims: ${shapeError}`);
  const c = claims as GrantClaims;
  if (c.pod !== options.pod || c.namespace !== options.namespace) {
    return fail('MT_GRANT_WRONG_POD', `grant is for pod ${c.namespace}/${c.pod}, not ${options.namespace}/${options.pod}`);
  }
  const aud = normalizeTapAddress(c.aud);
  if (aud === undefined || !options.audiences.some((a) => normalizeTapAddress(a) === aud)) {
    return fail('MT_GRANT_WRONG_AUDIENCE', `grant is addressed to the tap at ${c.aud}, not to this sidecar (${options.audiences.join(', ') || 'no tap address'}); ask the tap API for a grant of your own`);
  }
  const now = options.nowMs ?? Date.now();
  if (now >= c.exp) return fail('MT_GRANT_EXPIRED', `grant expired ${Math.round(now - c.exp)} ms ago; ask the tap API for a new one`);
  if (c.iat > now + GRANT_CLOCK_SKEW_MS) return fail('MT_GRANT_MALFORMED', 'grant was issued in the future (clock skew?)');
  return { ok: true, value: c };
}

function checkClaimsShape(c: unknown): string | undefined {
  if (typeof c !== 'object' || c === null || Array.isArray(c)) return 'not an object';
  const o = c as Record<string, unknown>;
  if (o.v !== 1) return `unsupported version ${JSON.stringify(o.v)}`;
  for (const k of ['sub', 'pod', 'namespace', 'jti'] as const) if (typeof o[k] !== 'string') return `${k} must be a string`;
  // No aud = an unbound grant (older tap API): refused, never read as "any sidecar".
  if (typeof o.aud !== 'string' || normalizeTapAddress(o.aud) === undefined) return 'aud must be the host:port of the tap it is addressed to';
  if (o.workload !== undefined && typeof o.workload !== 'string') return 'workload must be a string';
  if (typeof o.bodies !== 'boolean') return 'bodies must be a boolean';
  if (!Array.isArray(o.revealHeaders) || !o.revealHeaders.every((h) => typeof h === 'string')) return 'revealHeaders must be a list of strings';
  if (!Array.isArray(o.matches) || !o.matches.every((m) => Array.isArray(m) && m.every((f) => typeof f === 'object' && f !== null))) {
    return 'matches must be a list of filter lists';
  }
  for (const k of ['maxRps', 'iat', 'exp'] as const) if (typeof o[k] !== 'number' || !Number.isFinite(o[k])) return `${k} must be a number`;
  return undefined;
}

const HOST_PORT = /^(?:\[([0-9A-Fa-f:.]+)\]|([A-Za-z0-9.-]+)):(\d{1,5})$/;

/**
 * One spelling per tap address, so `aud` compares equal however it was written: host names
 * and IPv6 lower case and compressed (`[::1]:4190`), ports without leading zeros. Undefined for
 * anything that is not `host:port`.
 */
export function normalizeTapAddress(address: string): string | undefined {
  const m = HOST_PORT.exec(address);
  if (!m) return undefined;
  const port = Number(m[3]);
  if (port > 65535) return undefined;
  if (m[1] !== undefined) {
    if (!isIPv6(m[1])) return undefined;
    return `${new URL(`http://[${m[1]}]`).hostname}:${port}`;
  }
  return `${m[2]!.toLowerCase()}:${port}`;
}

/** Whether a grant allows showing header `name` unredacted. */
export function grantRevealsHeader(claims: Pick<GrantClaims, 'revealHeaders'>, name: string): boolean {
  const lower = name.toLowerCase();
  return claims.revealHeaders.some((h) => h === '*' || h.toLowerCase() === lower);
}

/** An Ed25519 key pair. */
export interface GrantKeyPair {
  privateKey: KeyObject;
  publicKey: KeyObject;
}

/** A fresh Ed25519 key pair (tests, and the first start of a tap API). */
export function generateGrantKeyPair(): GrantKeyPair {
  return crypto().generateKeyPairSync('ed25519');
}

/**
 * Loads the tap API's private key (PKCS#8 PEM), or creates it with mode 0600 when the file does
 * not exist. Refuses a file that is not an Ed25519 private key (a clear one-line error) rather
 * than overwriting it.
 */
export async function loadOrCreateGrantKey(path: string): Promise<GrantKeyPair> {
  let pem: string | undefined;
  try {
    pem = await readFile(path, 'utf8');
  } catch (err) {
    if (!isErrnoException(err) || err.code !== 'ENOENT') {
      throw new MeshtapError('MT_GRANT_KEY', `cannot read grant key ${path}: ${(err as Error).message}`, { cause: err });
    }
  }
  if (pem !== undefined) {
    try {
      const privateKey = crypto().createPrivateKey(pem);
      if (privateKey.asymmetricKeyType !== 'ed25519') throw new Error(`it is a ${privateKey.asymmetricKeyType} key`);
      return { privateKey, publicKey: crypto().createPublicKey(privateKey) };
    } catch (err) {
      throw new MeshtapError('MT_GRANT_KEY', `${path} is not an Ed25519 private key (PEM): ${(err as Error).message}; move it away to create a new one`, {
        cause: err,
      });
    }
  }
  const pair = generateGrantKeyPair();
  const text = pair.privateKey.export({ type: 'pkcs8', format: 'pem' }) as string;
  try {
    await mkdir(dirname(path), { recursive: true });
    // 'wx': never clobber a key another process created in the meantime.
    await writeFile(path, text, { mode: 0o600, flag: 'wx' });
    await chmod(path, 0o600);
  } catch (err) {
    if (isErrnoException(err) && err.code === 'EEXIST') return loadOrCreateGrantKey(path);
    throw new MeshtapError('MT_GRANT_KEY', `cannot create grant key ${path}: ${(err as Error).message}`, { cause: err });
  }
  return pair;
}

/** DER SubjectPublicKeyInfo of an Ed25519 key, less its 32 key bytes (RFC 8410). */
const ED25519_SPKI_PREFIX = Buffer.from('302a300506032b6570032100', 'hex');

/**
 * The public key as base64 of its raw 32 bytes (what `/v1/public-key` serves), cut from the key's
 * DER SubjectPublicKeyInfo. Not via `export({ format: 'jwk' })`: Node 20 builds an Ed25519 JWK
 * while holding the key's mutex, and a garbage collection in that allocation can run the
 * destructor of the key-generation job that made the key, which takes the same mutex: the thread
 * deadlocks (seen as a vitest worker hung in CI; reproduced in test/grant-key-export-gc.test.ts).
 */
export function exportPublicKeyRaw(publicKey: KeyObject): string {
  const spki = publicKey.type === 'public' && publicKey.asymmetricKeyType === 'ed25519' ? publicKey.export({ format: 'der', type: 'spki' }) : undefined;
  if (spki === undefined || spki.length !== ED25519_SPKI_PREFIX.length + 32 || !spki.subarray(0, ED25519_SPKI_PREFIX.length).equals(ED25519_SPKI_PREFIX)) {
    throw new MeshtapError('MT_GRANT_KEY', 'not an Ed25519 public key');
  }
  return spki.subarray(ED25519_SPKI_PREFIX.length).toString('base64');
}

/** Imports base64 raw 32 bytes as an Ed25519 public key; throws MeshtapError on bad input. */
export function importPublicKeyRaw(base64: string): KeyObject {
  const raw = Buffer.from(base64, 'base64');
  if (raw.length !== 32) throw new MeshtapError('MT_GRANT_KEY', `an Ed25519 public key is 32 bytes, got ${raw.length}`);
  try {
    return crypto().createPublicKey({ key: { kty: 'OKP', crv: 'Ed25519', x: raw.toString('base64url') }, format: 'jwk' });
  } catch (err) {
    throw new MeshtapError('MT_GRANT_KEY', `bad Ed25519 public key: ${(err as Error).message}`, { cause: err });
  }
}
