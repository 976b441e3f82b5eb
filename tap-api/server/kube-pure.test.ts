import type { IncomingMessage } from 'node:http';
import { describe, expect, it } from 'vitest';
import { requestHeaderFromConfigMap } from './kube-access.js';
import { selectorString, tapPodOf, type PodLike } from './kube-discovery.js';
import { DEFAULT_REQUEST_HEADER_CONFIG, userFromHeaders } from './kube-front-proxy.js';
import { decisionOf, subjectAccessReview } from './kube-sar.js';

const PORTS = { tap: 4190, admin: 4191 };

function meshedPod(over: Partial<PodLike> = {}): PodLike {
  return {
    metadata: { name: 'web-1', namespace: 'shop', labels: { app: 'web', 'meshtap.dev/injected': 'true' } },
    spec: { initContainers: [{ ports: [{ name: 'meshtap-tap', containerPort: 14190 }] }], containers: [{ ports: [{ containerPort: 8080 }] }] },
    status: { phase: 'Running', podIP: '10.1.2.3' },
    ...over,
  };
}

describe('selectorString', () => {
  it('renders matchLabels and every matchExpressions operator in labelSelector syntax', () => {
    expect(
      selectorString({
        matchLabels: { app: 'web', tier: 'front' },
        matchExpressions: [
          { key: 'env', operator: 'In', values: ['prod', 'staging'] },
          { key: 'track', operator: 'NotIn', values: ['canary'] },
          { key: 'team', operator: 'Exists' },
          { key: 'legacy', operator: 'DoesNotExist' },
        ],
      }),
    ).toBe('app=web,tier=front,env in (prod,staging),track notin (canary),team,!legacy');
  });
  it('gives undefined for an empty selector (it would select every pod)', () => {
    expect(selectorString({})).toBeUndefined();
    expect(selectorString(undefined)).toBeUndefined();
  });
});

describe('tapPodOf', () => {
  it('uses the pod IP and the declared meshtap-tap port', () => {
    expect(tapPodOf(meshedPod(), PORTS)).toEqual({ namespace: 'shop', pod: 'web-1', tapAddress: '10.1.2.3:14190', adminAddress: '10.1.2.3:4191', labels: { app: 'web' } });
  });
  it('keeps the labels a workload selector can use (no per-pod hash, no meshtap.dev/)', () => {
    const p = meshedPod({ metadata: { name: 'web-1', namespace: 'shop', labels: { app: 'web', tier: 'front', 'pod-template-hash': '7d4b9c8f6d', 'meshtap.dev/injected': 'true' } } });
    expect(tapPodOf(p, PORTS)?.labels).toEqual({ app: 'web', tier: 'front' });
  });
  it('falls back to the default port, and brackets IPv6', () => {
    const p = meshedPod({ spec: { containers: [] }, status: { phase: 'Running', podIP: 'fd00::7' } });
    expect(tapPodOf(p, PORTS)?.tapAddress).toBe('[fd00::7]:4190');
  });
  it('skips pods that are not meshed, not Running, or have no IP', () => {
    expect(tapPodOf(meshedPod({ metadata: { name: 'x', namespace: 'shop', labels: { app: 'web' } } }), PORTS)).toBeUndefined();
    expect(tapPodOf(meshedPod({ status: { phase: 'Pending' } }), PORTS)).toBeUndefined();
    expect(tapPodOf(meshedPod({ status: { phase: 'Running' } }), PORTS)).toBeUndefined();
    expect(tapPodOf(meshedPod({ status: { phase: 'Succeeded', podIP: '10.1.2.3' } }), PORTS)).toBeUndefined();
  });
});

describe('requestHeaderFromConfigMap', () => {
  it('reads the settings kube-apiserver publishes (header names lower-cased)', () => {
    const r = requestHeaderFromConfigMap({
      'requestheader-client-ca-file': '-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n',
      'requestheader-allowed-names': '["front-proxy-client"]',
      'requestheader-username-headers': '["X-Remote-User"]',
      'requestheader-group-headers': '["X-Remote-Group"]',
      'requestheader-extra-headers-prefix': '["X-Remote-Extra-"]',
    });
    expect(r.config).toEqual({ allowedNames: ['front-proxy-client'], usernameHeaders: ['x-remote-user'], groupHeaders: ['x-remote-group'], extraHeaderPrefixes: ['x-remote-extra-'] });
  });
  it('refuses a ConfigMap without the requestheader CA, and malformed lists', () => {
    expect(() => requestHeaderFromConfigMap({ 'client-ca-file': 'x' })).toThrow(/no requestheader-client-ca-file/);
    expect(() => requestHeaderFromConfigMap({ 'requestheader-client-ca-file': 'x', 'requestheader-allowed-names': 'front-proxy-client' })).toThrow(/not a JSON list/);
  });
});

describe('userFromHeaders', () => {
  const req = (headers: Record<string, string[]>): IncomingMessage => ({ headersDistinct: headers }) as unknown as IncomingMessage;
  it('reads user, every group header and percent-encoded extra keys', () => {
    const u = userFromHeaders(
      req({ 'x-remote-user': ['alice'], 'x-remote-group': ['devs', 'system:authenticated'], 'x-remote-extra-scopes.example.com%2fteam': ['payments'] }),
      DEFAULT_REQUEST_HEADER_CONFIG,
    );
    expect(u).toEqual({ name: 'alice', groups: ['devs', 'system:authenticated'], extra: { 'scopes.example.com/team': ['payments'] } });
  });
  it('has no user without the user header', () => {
    expect(userFromHeaders(req({ 'x-remote-group': ['system:masters'] }), DEFAULT_REQUEST_HEADER_CONFIG)).toBeUndefined();
  });
});

describe('SubjectAccessReview', () => {
  it('carries the tap attributes', () => {
    const body = subjectAccessReview(
      { name: 'alice', uid: '42', groups: ['devs'] },
      { isResourceRequest: true, verb: 'watch', apiGroup: 'tap.meshtap.dev', resource: 'deployments', subresource: 'tap-bodies', name: 'web', namespace: 'shop' },
    );
    expect(body).toEqual({
      apiVersion: 'authorization.k8s.io/v1',
      kind: 'SubjectAccessReview',
      spec: { user: 'alice', uid: '42', groups: ['devs'], resourceAttributes: { namespace: 'shop', verb: 'watch', group: 'tap.meshtap.dev', resource: 'deployments', subresource: 'tap-bodies', name: 'web' } },
    });
  });
  it('treats denied, unanswered and not-allowed reviews as denials', () => {
    expect(decisionOf({ allowed: true })).toMatchObject({ allowed: true });
    expect(decisionOf({ allowed: true, denied: true, reason: 'x' })).toEqual({ allowed: false, reason: 'x' });
    expect(decisionOf({ allowed: false, reason: 'no RBAC policy matched' })).toEqual({ allowed: false, reason: 'no RBAC policy matched' });
    expect(decisionOf(undefined)).toEqual({ allowed: false, reason: '' });
  });
});
