import { describe, expect, it } from 'vitest';
import { createSidecarRegistry, parseRegistration, resolveTarget } from './registry.js';
import { parseTarget, type Target } from './targets.js';

const INSTANCE = 'instance-key-of-the-sidecar-0001';
const reg = (pod: string, workload: string | undefined, namespace = 'shop', instanceKey = INSTANCE) => ({ pod, namespace, tapAddress: '127.0.0.1:4190', instanceKey, ...(workload ? { workload } : {}) });
const target = (t: string): Target => {
  const r = parseTarget(t);
  if (!r.ok) throw new Error(r.error);
  return r.value;
};

describe('sidecar registry', () => {
  it('forgets a sidecar that stops heartbeating, keeps one that beats', () => {
    const r = createSidecarRegistry({ ttlMs: 6000 });
    expect(r.register(reg('a', 'deploy/web'), 0)).toEqual({ ok: true, value: { isNew: true } });
    r.register(reg('b', 'deploy/web'), 0);
    expect(r.register(reg('a', 'deploy/web'), 5000)).toEqual({ ok: true, value: { isNew: false } });
    expect(r.list('shop', 6000).map((s) => s.pod)).toEqual(['a', 'b']);
    expect(r.list('shop', 6001).map((s) => s.pod)).toEqual(['a']);
    expect(r.list('shop', 11_001)).toEqual([]);
    expect(r.register(reg('a', 'deploy/web'), 11_002).ok && r.list('shop', 11_002)[0]!.registeredAtMs).toBe(11_002);
  });

  it('refuses new sidecars past its bound but still refreshes known ones', () => {
    const r = createSidecarRegistry({ maxSidecars: 2 });
    r.register(reg('a', undefined), 0);
    r.register(reg('b', undefined), 0);
    expect(r.register(reg('c', undefined), 1)).toEqual({ ok: false, error: 'full' });
    expect(r.register(reg('a', undefined), 1).ok).toBe(true);
  });

  it('resolves targets to registered pods of that workload, pod, or namespace', () => {
    const r = createSidecarRegistry();
    r.register(reg('web-1', 'deploy/web'));
    r.register(reg('web-2', 'deployment/web'));
    r.register(reg('db-0', 'sts/db'));
    r.register(reg('web-1', 'deploy/web', 'staging'));
    const pods = (ns: string, t: string): string[] => resolveTarget(r, ns, target(t)).map((s) => `${s.namespace}/${s.pod}`);
    expect(pods('shop', 'deploy/web')).toEqual(['shop/web-1', 'shop/web-2']);
    expect(pods('shop', 'statefulset/db')).toEqual(['shop/db-0']);
    expect(pods('shop', 'ds/db')).toEqual([]);
    expect(pods('shop', 'po/web-2')).toEqual(['shop/web-2']);
    expect(pods('staging', 'deploy/web')).toEqual(['staging/web-1']);
    expect(pods('shop', 'ns/shop')).toEqual(['shop/db-0', 'shop/web-1', 'shop/web-2']);
    // Regression (cross-namespace namespace tap): authorized in one namespace, never another's pods.
    expect(pods('staging', 'ns/shop')).toEqual([]);
  });

  it('regression (registration takeover): another instance cannot replace or forget a live registration; the pod is free once it expires or said goodbye', () => {
    const r = createSidecarRegistry({ ttlMs: 6000 });
    expect(r.register(reg('web-1', 'deploy/web'), 0).ok).toBe(true);
    const other = { ...reg('web-1', 'deploy/web', 'shop', 'instance-key-of-an-impostor-02'), tapAddress: '127.0.0.1:9' };
    const taken = r.register(other, 1000);
    expect(taken.ok).toBe(false);
    if (!taken.ok && taken.error !== 'full') expect(taken.error.holder.tapAddress).toBe('127.0.0.1:4190');
    expect(r.forget('shop', 'web-1', other.instanceKey, 1000).ok).toBe(false);
    expect(r.list('shop', 1000).map((x) => x.tapAddress)).toEqual(['127.0.0.1:4190']);
    // A restart (new instance) registers once the old one expired…
    expect(r.register(other, 6000).ok).toBe(false);
    expect(r.register(other, 7001)).toEqual({ ok: true, value: { isNew: true } });
    // …or at once after the old instance's goodbye.
    expect(r.forget('shop', 'web-1', other.instanceKey, 7002)).toEqual({ ok: true, value: true });
    expect(r.register(reg('web-1', 'deploy/web'), 7003)).toEqual({ ok: true, value: { isNew: true } });
  });

  it.each([
    [null, 'JSON object'],
    [{ namespace: 'shop', pod: 'p', tapAddress: '1.2.3.4:5' }, 'instanceKey'],
    [{ namespace: 'shop', pod: 'p', tapAddress: '1.2.3.4:5', instanceKey: 'short' }, 'instanceKey'],
    [{ namespace: 'shop', pod: 'p' }, 'tapAddress'],
    [{ namespace: 'Shop', pod: 'p', tapAddress: '1.2.3.4:5' }, 'namespace'],
    [{ namespace: 'shop', pod: 'p', tapAddress: 'nope' }, 'tapAddress'],
    [{ namespace: 'shop', pod: 'p', tapAddress: '1.2.3.4:5', instanceKey: INSTANCE, workload: 'rc/x' }, 'unknown target type'],
    [{ namespace: 'shop', pod: 'p', tapAddress: '1.2.3.4:5', instanceKey: INSTANCE, adminAddress: 7 }, 'adminAddress'],
  ])('refuses a bad registration %j', (body, msg) => {
    const r = parseRegistration(body);
    expect(r.ok).toBe(false);
    if (!r.ok) expect(r.error).toContain(msg);
  });

  it('normalizes the workload kind', () => {
    expect(parseRegistration({ namespace: 'shop', pod: 'p', tapAddress: '[::1]:4190', instanceKey: INSTANCE, workload: 'deployment/web' })).toEqual({
      ok: true,
      value: { namespace: 'shop', pod: 'p', tapAddress: '[::1]:4190', instanceKey: INSTANCE, workload: 'deploy/web' },
    });
  });
});
