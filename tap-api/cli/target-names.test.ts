import { describe, expect, it } from 'vitest';
import type { SidecarInfo } from '../server/wire.js';
import { namesOfKind } from './target-names.js';

const sidecar = (namespace: string, pod: string, workload?: string): SidecarInfo => ({ namespace, pod, ...(workload ? { workload } : {}) });
const SIDECARS = [
  sidecar('shop', 'web-1', 'deploy/web'),
  sidecar('shop', 'web-2', 'deploy/web'),
  sidecar('shop', 'db-0', 'sts/db'),
  sidecar('other', 'api-1', 'deployment/api'),
  sidecar('other', 'lone'),
];

// One rule behind `stat`'s not-found check and completion (they were near-copies: completion took
// only `deploy/`-prefixed workloads, stat parsed every form).
describe('namesOfKind', () => {
  it('lists the names of one kind, unique and sorted', () => {
    expect(namesOfKind(SIDECARS, 'deployments')).toEqual(['api', 'web']);
    expect(namesOfKind(SIDECARS, 'statefulsets')).toEqual(['db']);
    expect(namesOfKind(SIDECARS, 'pods')).toEqual(['api-1', 'db-0', 'lone', 'web-1', 'web-2']);
    expect(namesOfKind(SIDECARS, 'namespaces')).toEqual(['other', 'shop']);
    expect(namesOfKind(SIDECARS, 'daemonsets')).toEqual([]);
  });
});

describe('the answer for an empty namespace', () => {
  it('is kubectl\'s sentence, and names where the kind is meshed only from what the caller could list', async () => {
    const { noResourcesMessage } = await import('./stat.js');
    expect(noResourcesMessage([{ resource: 'deployments' }], 'default', [])).toBe('No resources found in default namespace.');
    expect(noResourcesMessage([{ resource: 'deployments' }], 'default', SIDECARS)).toBe('No resources found in default namespace. Meshed deployments are in namespaces other, shop: add -n other (or -A for every namespace).');
    expect(noResourcesMessage([{ resource: 'daemonsets' }], 'default', SIDECARS)).toBe('No resources found in default namespace.');
  });
});
