/**
 * Sidecar registration against a real tap API: first registration hands over the public key,
 * a restarted tap API (new key, empty registry) is re-registered with, a tap API that comes up
 * late is found, stop() says goodbye, and a missing or wrong registration token is refused
 * (nothing registered, the sidecar keeps trying without throwing).
 */
import { rm } from 'node:fs/promises';
import { afterEach, describe, expect, it } from 'vitest';
import { exportPublicKeyRaw, generateGrantKeyPair } from '../tap-protocol/index.js';
import { startRegistration, type Registration } from '../proxy/tap-registration.js';
import type { TapApiServer } from '../tap-api/server/index.js';
import { REGISTRATION_TOKEN, startFixtureTapApi, writeTapApiFixtures } from './tap-api-fixtures.js';
import { parseMetrics, sumMetric } from './support/metrics-scrape.js';
import { until } from './support/until.js';

const cleanups: Array<() => Promise<unknown>> = [];
afterEach(async () => {
  while (cleanups.length) await cleanups.pop()!().catch(() => {});
});

/** Resolves on the n-th key delivered to onPublicKey. */
function keyWatcher(): { onPublicKey(k: string): void; next(): Promise<string> } {
  const keys: string[] = [];
  const waiters: Array<(k: string) => void> = [];
  return {
    onPublicKey(k) {
      const w = waiters.shift();
      if (w) w(k);
      else keys.push(k);
    },
    next() {
      const k = keys.shift();
      return k !== undefined ? Promise.resolve(k) : new Promise((r) => waiters.push(r));
    },
  };
}

async function fixtureApi(port = 0, keys = generateGrantKeyPair()): Promise<TapApiServer> {
  const f = await writeTapApiFixtures();
  cleanups.push(() => rm(f.dir, { recursive: true, force: true }));
  const api = await startFixtureTapApi(f.rbacDir, { port }, keys);
  cleanups.push(() => api.close());
  return api;
}

/** `token`: null = send none. */
/** Requests the tap API at `url` refused for `reason` (its own /metrics). */
async function rejected(url: string, reason: string): Promise<number> {
  return sumMetric(parseMetrics(await (await fetch(`${url}/metrics`)).text()), 'meshtap_tapapi_rejected_total', { reason });
}

function register(url: string, onPublicKey: (k: string) => void, pod = 'web-1', token: string | null = REGISTRATION_TOKEN): Registration {
  const reg = startRegistration({
    tapApiUrl: url,
    ...(token === null ? {} : { token }),
    identity: { workload: 'deploy/web', namespace: 'shop', pod },
    tapAddress: '127.0.0.1:4190',
    adminAddress: '127.0.0.1:4191',
    onPublicKey,
    intervalMs: 100,
    maxBackoffMs: 200,
  });
  cleanups.push(() => reg.stop());
  return reg;
}

describe('sidecar registration', () => {
  it('registers, hands over the public key, and says goodbye on stop()', async () => {
    const keys = generateGrantKeyPair();
    const api = await fixtureApi(0, keys);
    const w = keyWatcher();
    const reg = register(api.url, w.onPublicKey);
    expect(await w.next()).toBe(exportPublicKeyRaw(keys.publicKey));
    expect(api.registry.list('shop')).toMatchObject([
      { pod: 'web-1', namespace: 'shop', workload: { resource: 'deployments', name: 'web' }, tapAddress: '127.0.0.1:4190', adminAddress: '127.0.0.1:4191' },
    ]);
    await reg.stop();
    expect(api.registry.list('shop')).toEqual([]);
  });

  it('registers again with a restarted tap API (new key, empty registry)', async () => {
    const first = await fixtureApi();
    const port = first.port;
    const w = keyWatcher();
    register(first.url, w.onPublicKey);
    await w.next();
    await first.close();
    const newKeys = generateGrantKeyPair();
    const second = await fixtureApi(port, newKeys);
    expect(second.registry.list('shop')).toEqual([]);
    expect(await w.next()).toBe(exportPublicKeyRaw(newKeys.publicKey));
    expect(second.registry.list('shop').map((r) => r.pod)).toEqual(['web-1']);
  });

  it('finds a tap API that starts after the sidecar (backoff, no throw)', async () => {
    const probe = await fixtureApi();
    const port = probe.port;
    await probe.close();
    const w = keyWatcher();
    register(`http://127.0.0.1:${port}/`, w.onPublicKey);
    const keys = generateGrantKeyPair();
    const api = await fixtureApi(port, keys);
    expect(await w.next()).toBe(exportPublicKeyRaw(keys.publicKey));
    expect(api.registry.size).toBe(1);
  });

  it('keeps retrying (without throwing) when the tap API refuses the registration', async () => {
    const api = await fixtureApi();
    const errors: unknown[] = [];
    const onErr = (e: unknown): void => void errors.push(e);
    process.on('unhandledRejection', onErr);
    cleanups.push(async () => process.off('unhandledRejection', onErr));
    const w = keyWatcher();
    const reg = startRegistration({
      tapApiUrl: api.url,
      token: REGISTRATION_TOKEN,
      identity: { namespace: 'shop', pod: 'Not_A_Name' },
      tapAddress: '127.0.0.1:1',
      onPublicKey: w.onPublicKey,
      intervalMs: 50,
      maxBackoffMs: 100,
    });
    cleanups.push(() => reg.stop());
    // A second sidecar registering fine shows time passed for several attempts of the first.
    const ok = keyWatcher();
    register(api.url, ok.onPublicKey, 'web-2');
    await ok.next();
    await until('two registrations refused as bad requests', async () => (await rejected(api.url, 'bad-request')) >= 2, { intervalMs: 50 });
    expect(api.registry.list('shop').map((r) => r.pod)).toEqual(['web-2']);
    expect(errors).toEqual([]);
  });

  it.each([
    ['no token', null],
    ['a wrong token', 'not-the-registration-token'],
  ])('is refused with %s: nothing registered, no key handed over, refusals counted, no throw', async (_what, token) => {
    const api = await fixtureApi();
    const errors: unknown[] = [];
    const onErr = (e: unknown): void => void errors.push(e);
    process.on('unhandledRejection', onErr);
    cleanups.push(async () => process.off('unhandledRejection', onErr));
    const refused = keyWatcher();
    let keysGiven = 0;
    register(api.url, (k) => {
      keysGiven++;
      refused.onPublicKey(k);
    }, 'web-1', token);
    await until('two registrations refused as unauthorized', async () => (await rejected(api.url, 'registration-unauthorized')) >= 2, { intervalMs: 50 });
    // Positive control on the same server: the right token registers.
    const ok = keyWatcher();
    register(api.url, ok.onPublicKey, 'web-2');
    await ok.next();
    expect(api.registry.list('shop').map((r) => r.pod)).toEqual(['web-2']);
    expect(keysGiven).toBe(0);
    expect(errors).toEqual([]);
  });
});
