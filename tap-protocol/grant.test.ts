import { mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import {
  exportPublicKeyRaw,
  generateGrantKeyPair,
  grantRevealsHeader,
  importPublicKeyRaw,
  loadOrCreateGrantKey,
  makeGrantClaims,
  signGrant,
  normalizeTapAddress,
  verifyGrant,
  type GrantClaims,
} from './grant.js';

const NOW = 1_700_000_000_000;
const pair = generateGrantKeyPair();
const claims = (over: Partial<GrantClaims> = {}): GrantClaims => ({
  ...makeGrantClaims(
    {
      sub: 'alice',
      pod: 'web-1',
      namespace: 'shop',
      aud: '10.1.2.3:4190',
      workload: 'deploy/web',
      bodies: false,
      revealHeaders: [],
      matches: [[{ field: 'method', value: 'GET' }]],
      maxRps: 33,
    },
    NOW,
  ),
  ...over,
});
const opts = { publicKey: pair.publicKey, pod: 'web-1', namespace: 'shop', audiences: ['127.0.0.1:4190', '10.1.2.3:4190'], nowMs: NOW + 1000 };

describe('grant codec', () => {
  it('round-trips claims signed with the private key', () => {
    const c = claims();
    const r = verifyGrant(signGrant(c, pair.privateKey), opts);
    expect(r).toEqual({ ok: true, value: c });
    expect(c.exp - c.iat).toBe(60_000);
    expect(c.jti).toMatch(/^[0-9a-f-]{36}$/);
  });

  it('accepts the public key as base64 raw 32 bytes', () => {
    const raw = exportPublicKeyRaw(pair.publicKey);
    expect(Buffer.from(raw, 'base64')).toHaveLength(32);
    const r = verifyGrant(signGrant(claims(), pair.privateKey), { ...opts, publicKey: raw });
    expect(r.ok).toBe(true);
  });

  it('refuses an expired grant (exp is checked by the caller at stream start)', () => {
    const r = verifyGrant(signGrant(claims(), pair.privateKey), { ...opts, nowMs: NOW + 60_000 });
    expect(r.ok).toBe(false);
    if (!r.ok) expect(r.error.code).toBe('MT_GRANT_EXPIRED');
  });

  it('refuses a grant for another pod or another namespace', () => {
    const token = signGrant(claims(), pair.privateKey);
    for (const where of [{ pod: 'web-2' }, { namespace: 'other' }]) {
      const r = verifyGrant(token, { ...opts, ...where });
      expect(r.ok).toBe(false);
      if (!r.ok) {
        expect(r.error.code).toBe('MT_GRANT_WRONG_POD');
        expect(r.error.message).toContain('shop/web-1');
      }
    }
  });

  it('refuses a grant addressed to another sidecar (replay: another pod IP, another port)', () => {
    for (const aud of ['10.1.2.4:4190', '10.1.2.3:4191', '127.0.0.2:4190']) {
      const r = verifyGrant(signGrant(claims({ aud }), pair.privateKey), opts);
      expect(r.ok).toBe(false);
      if (!r.ok) {
        expect(r.error.code).toBe('MT_GRANT_WRONG_AUDIENCE');
        expect(r.error.message).toContain(aud);
      }
    }
  });

  it('matches the audience however the address is spelled', () => {
    const v6 = { ...opts, audiences: ['[::1]:4190', 'Web-1.Shop:4190'] };
    for (const aud of ['[0:0:0:0:0:0:0:1]:4190', '[::1]:04190', 'web-1.shop:4190']) {
      expect(verifyGrant(signGrant(claims({ aud }), pair.privateKey), v6).ok).toBe(true);
    }
    expect(normalizeTapAddress('[::FFFF:7f00:1]:80')).toBe('[::ffff:7f00:1]:80');
    for (const bad of ['10.1.2.3', '10.1.2.3:99999', '[::1', '[not-v6]:1', 'a b:1', '']) expect(normalizeTapAddress(bad)).toBeUndefined();
  });

  it('refuses a sidecar that knows none of its addresses (no audience matches)', () => {
    const r = verifyGrant(signGrant(claims(), pair.privateKey), { ...opts, audiences: [] });
    expect(r.ok).toBe(false);
    if (!r.ok) expect(r.error.code).toBe('MT_GRANT_WRONG_AUDIENCE');
  });

  it('refuses a well-signed grant without aud (an older, unbound grant: no downgrade)', () => {
    const { aud: _aud, ...unbound } = claims();
    const r = verifyGrant(signGrant(unbound as GrantClaims, pair.privateKey), opts);
    expect(r.ok).toBe(false);
    if (!r.ok) {
      expect(r.error.code).toBe('MT_GRANT_MALFORMED');
      expect(r.error.message).toContain('aud');
    }
    const junk = verifyGrant(signGrant(claims({ aud: '*' }), pair.privateKey), opts);
    expect(junk.ok).toBe(false);
    if (!junk.ok) expect(junk.error.code).toBe('MT_GRANT_MALFORMED');
  });

  it('refuses a grant signed by another key (forged)', () => {
    const other = generateGrantKeyPair();
    const r = verifyGrant(signGrant(claims(), other.privateKey), opts);
    expect(r.ok).toBe(false);
    if (!r.ok) expect(r.error.code).toBe('MT_GRANT_BAD_SIGNATURE');
  });

  it('refuses tampered claims (bodies flipped to true) even with the original signature', () => {
    const token = signGrant(claims(), pair.privateKey);
    const [, sig] = token.split('.');
    const tampered = Buffer.from(JSON.stringify(claims({ bodies: true, revealHeaders: ['*'] }))).toString('base64url') + '.' + sig;
    const r = verifyGrant(tampered, opts);
    expect(r.ok).toBe(false);
    if (!r.ok) expect(r.error.code).toBe('MT_GRANT_BAD_SIGNATURE');
  });

  it('refuses a tampered signature, at every position', () => {
    const token = signGrant(claims(), pair.privateKey);
    const dot = token.indexOf('.');
    for (let i = dot + 1; i < token.length; i++) {
      const flip = token[i] === 'A' ? 'B' : 'A';
      const r = verifyGrant(token.slice(0, i) + flip + token.slice(i + 1), opts);
      expect(r.ok).toBe(false);
      if (!r.ok) expect(r.error.code).toBe('MT_GRANT_BAD_SIGNATURE');
    }
  });

  // Regression: flipping only the padding bits of the last base64url character decoded to the
  // same signature bytes, so a different token string verified (found by a flaky run).
  it('refuses a non-canonical encoding of a valid signature', () => {
    const token = signGrant(claims(), pair.privateKey);
    const last = token[token.length - 1]!;
    const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';
    const idx = alphabet.indexOf(last);
    const sibling = alphabet[(idx & ~0b1111) | ((idx + 1) & 0b1111)]!; // same top 2 bits
    const r = verifyGrant(token.slice(0, -1) + sibling, opts);
    expect(r.ok).toBe(false);
    if (!r.ok) expect(r.error.code).toBe('MT_GRANT_BAD_SIGNATURE');
  });

  it.each([
    ['empty', ''],
    ['no dot', 'abc'],
    ['three parts', 'a.b.c'],
    ['not base64url', 'a+b.c/d'],
    ['huge', 'a'.repeat(70_000) + '.b'],
  ])('refuses a malformed grant (%s)', (_name, token) => {
    const r = verifyGrant(token, opts);
    expect(r.ok).toBe(false);
    if (!r.ok) expect(r.error.code).toBe('MT_GRANT_MALFORMED');
  });

  it('refuses well-signed claims of the wrong shape as malformed', () => {
    const bad = { ...claims(), bodies: 'yes' } as unknown as GrantClaims;
    const r = verifyGrant(signGrant(bad, pair.privateKey), opts);
    expect(r.ok).toBe(false);
    if (!r.ok) expect(r.error.message).toContain('bodies');
    const v2 = verifyGrant(signGrant({ ...claims(), v: 2 } as unknown as GrantClaims, pair.privateKey), opts);
    expect(v2.ok).toBe(false);
    if (!v2.ok) expect(v2.error.code).toBe('MT_GRANT_MALFORMED');
  });

  it('answers which headers a grant reveals', () => {
    expect(grantRevealsHeader({ revealHeaders: ['Authorization'] }, 'authorization')).toBe(true);
    expect(grantRevealsHeader({ revealHeaders: ['authorization'] }, 'cookie')).toBe(false);
    expect(grantRevealsHeader({ revealHeaders: ['*'] }, 'cookie')).toBe(true);
    expect(grantRevealsHeader({ revealHeaders: [] }, 'cookie')).toBe(false);
  });

  it('rejects a raw public key of the wrong length', () => {
    expect(() => importPublicKeyRaw(Buffer.alloc(31).toString('base64'))).toThrow(/32 bytes/);
  });
});

describe('grant key file', () => {
  let dir: string | undefined;
  afterEach(async () => {
    if (dir) await rm(dir, { recursive: true, force: true });
    dir = undefined;
  });

  it('creates a 0600 PEM file once and loads the same key afterwards', async () => {
    dir = await mkdtemp(join(tmpdir(), 'meshtap-grant-'));
    const path = join(dir, 'sub', 'tap-api.key');
    const first = await loadOrCreateGrantKey(path);
    expect((await stat(path)).mode & 0o777).toBe(0o600);
    expect(await readFile(path, 'utf8')).toMatch(/^-----BEGIN PRIVATE KEY-----/);
    const second = await loadOrCreateGrantKey(path);
    expect(exportPublicKeyRaw(second.publicKey)).toBe(exportPublicKeyRaw(first.publicKey));
    const token = signGrant(claims(), second.privateKey);
    expect(verifyGrant(token, { ...opts, publicKey: first.publicKey }).ok).toBe(true);
  });

  it('refuses (and keeps) a file that is not an Ed25519 key', async () => {
    dir = await mkdtemp(join(tmpdir(), 'meshtap-grant-'));
    const path = join(dir, 'bad.key');
    await writeFile(path, 'not a key');
    await expect(loadOrCreateGrantKey(path)).rejects.toMatchObject({ code: 'MT_GRANT_KEY' });
    expect(await readFile(path, 'utf8')).toBe('not a key');
  });
});
