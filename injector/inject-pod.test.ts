import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { Pod } from 'kubernetes-models/v1/Pod';
import { ANNOTATION } from './annotations.js';
import { createMeshConfig } from './config.js';
import { injectPod, type InjectPodInput } from './inject-pod.js';
import type { PodLike } from './types.js';
import { apiContainer, apiPod, controllerCreatedPod, type Json } from '../test/fixtures/k8s/pods.js';
import { applyStrict, destructiveOps } from '../test/fixtures/k8s/strict-patch.js';

const config = createMeshConfig({
  version: '0.1.0',
  image: 'ghcr.io/meshtap/meshtap:v0.1.0',
  tapApiUrl: 'https://meshtap-tap-api.meshtap.svc:443',
  tapPublicKey: 'MCowBQYDK2VwAyEAGb9ECWmEzf6FQbrBZ9w7lshQhqowtrbLDFw4rXAxZuE=',
});
const enabled = { [ANNOTATION.inject]: 'enabled' };

type Container = { name: string; [k: string]: unknown };
const spec = (p: PodLike) => p.spec as unknown as { initContainers?: Container[]; containers: Container[]; volumes?: Json[] };
const argAfter = (c: Container, flag: string) => (c.args as string[])[(c.args as string[]).indexOf(flag) + 1];
const envOf = (c: Container, name: string) => (c.env as { name: string; value?: string }[]).find((e) => e.name === name);

interface Case {
  name: string;
  input: Omit<InjectPodInput, 'config'> & { config?: InjectPodInput['config'] };
  /** Skip reason pattern, or checks on the injected pod. */
  skip?: RegExp;
  check?: (pod: PodLike, warnings: string[], patch: { op: string; path: string }[]) => void;
}

const cases: Case[] = [
  {
    name: 'plain pod opted in: native sidecar first, hardened, downward API env',
    input: { pod: apiPod({ name: 'web', namespace: 'shop', annotations: enabled }) as PodLike, requireOptIn: true },
    check: (pod, warnings) => {
      const proxy = spec(pod).initContainers![0]!;
      expect(proxy.name).toBe('meshtap-proxy');
      expect(proxy.restartPolicy).toBe('Always');
      expect(proxy.startupProbe).toMatchObject({ httpGet: { path: '/ready', port: 4191 } });
      expect(proxy.readinessProbe).toMatchObject({ httpGet: { path: '/ready', port: 4191 } });
      expect(proxy.livenessProbe).toMatchObject({ httpGet: { path: '/live', port: 4191 } });
      expect(proxy.securityContext).toMatchObject({ runAsUser: 2102, runAsNonRoot: true, readOnlyRootFilesystem: true, allowPrivilegeEscalation: false, capabilities: { drop: ['ALL'] } });
      expect(proxy.resources).toEqual({ requests: { cpu: '50m', memory: '64Mi' }, limits: { cpu: '1', memory: '256Mi' } });
      expect(argAfter(proxy, '--workload')).toBe('pod/web');
      expect(argAfter(proxy, '--tap-api')).toBe('https://meshtap-tap-api.meshtap.svc:443');
      expect((proxy.args as string[]).slice(0, 9)).toEqual(['proxy', '--inbound', '0.0.0.0:4143', '--outbound', '127.0.0.1:4140', '--admin', '0.0.0.0:4191', '--tap', '0.0.0.0:4190']);
      expect(envOf(proxy, 'MESHTAP_POD_UID')).toMatchObject({ valueFrom: { fieldRef: { fieldPath: 'metadata.uid' } } });
      expect(envOf(proxy, 'MESHTAP_NODE_NAME')).toMatchObject({ valueFrom: { fieldRef: { fieldPath: 'spec.nodeName' } } });
      expect(envOf(proxy, 'MESHTAP_TAP_PUBLIC_KEY')?.value).toBe(config.tapPublicKey);
      expect(envOf(proxy, 'MESHTAP_POD_IP')).toMatchObject({ valueFrom: { fieldRef: { fieldPath: 'status.podIP' } } });
      // with the tap API's key known, the sidecar serves only granted taps
      expect(proxy.args as string[]).toContain('--tap-require-grant');
      expect(pod.metadata!.labels).toMatchObject({ 'meshtap.dev/injected': 'true', 'meshtap.dev/proxy-version': '0.1.0' });
      expect(pod.metadata!.annotations![ANNOTATION.proxyUid]).toBe('2102');
      expect(spec(pod).containers.map((c) => c.name)).toEqual(['app']);
      expect(warnings).toEqual([]);
    },
  },
  {
    name: 'existing init containers stay, after the proxy; the patch inserts at index 0',
    input: {
      pod: apiPod({ name: 'web', namespace: 'shop', annotations: enabled }, { initContainers: [apiContainer('migrate', 'm:1'), apiContainer('warm', 'w:1')] }) as PodLike,
      requireOptIn: true,
    },
    check: (pod, _w, patch) => {
      expect(spec(pod).initContainers!.map((c) => c.name)).toEqual(['meshtap-proxy', 'migrate', 'warm']);
      expect(patch).toContainEqual(expect.objectContaining({ op: 'add', path: '/spec/initContainers/0' }));
    },
  },
  {
    name: 'annotations with / in keys are kept and new keys are ~1-escaped',
    input: {
      pod: apiPod({ name: 'web', namespace: 'shop', annotations: { ...enabled, 'example.com/owner': 'team-a', 'a~b/c': 'x' }, labels: { 'app.kubernetes.io/name': 'web' } }) as PodLike,
      requireOptIn: true,
    },
    check: (pod, _w, patch) => {
      expect(pod.metadata!.annotations).toMatchObject({ 'example.com/owner': 'team-a', 'a~b/c': 'x' });
      expect(pod.metadata!.labels!['app.kubernetes.io/name']).toBe('web');
      expect(patch.map((o) => o.path)).toContain('/metadata/annotations/meshtap.dev~1proxy-uid');
      expect(patch.map((o) => o.path)).toContain('/metadata/labels/meshtap.dev~1injected');
    },
  },
  {
    name: 'existing volumes are extended, not replaced',
    input: {
      pod: apiPod({ name: 'web', namespace: 'shop', annotations: enabled }, { volumes: [{ name: 'data', emptyDir: {} }, { name: 'cfg', configMap: { name: 'cfg', defaultMode: 420 } }] }) as PodLike,
      requireOptIn: true,
    },
    check: (pod) => {
      expect(spec(pod).volumes!.map((v) => v.name)).toEqual(['data', 'cfg', 'meshtap-proxy-tmp']);
    },
  },
  { name: 'hostNetwork pods are skipped', input: { pod: apiPod({ name: 'n', namespace: 'shop', annotations: enabled }, { hostNetwork: true }) as PodLike, requireOptIn: true }, skip: /hostNetwork/ },
  { name: 'opted-out pod wins over an enabled namespace', input: { pod: apiPod({ name: 'n', namespace: 'shop', annotations: { [ANNOTATION.inject]: 'disabled' } }) as PodLike, namespaceAnnotations: enabled, requireOptIn: true }, skip: /disabled by pod annotation/ },
  { name: 'webhook mode without any opt-in skips', input: { pod: apiPod({ name: 'n', namespace: 'shop' }) as PodLike, requireOptIn: true }, skip: /not enabled/ },
  { name: 'control plane pods are never injected', input: { pod: apiPod({ name: 'wh', namespace: 'meshtap', annotations: enabled }) as PodLike, requireOptIn: true }, skip: /control plane/ },
  { name: 'a pod without a spec is skipped, not crashed on', input: { pod: { metadata: { name: 'x' } } as PodLike, requireOptIn: false }, skip: /no pod spec/ },
  {
    name: 'namespace-enabled controller-created pod: workload from the ReplicaSet hash, namespace from the request',
    input: { pod: controllerCreatedPod() as PodLike, namespace: 'shop', namespaceAnnotations: { ...enabled, [ANNOTATION.skipOutboundPorts]: '5432,6379' }, requireOptIn: true },
    check: (pod) => {
      const proxy = spec(pod).initContainers![0]!;
      expect(argAfter(proxy, '--workload')).toBe('deploy/web');
      expect(envOf(proxy, 'MESHTAP_WORKLOAD')?.value).toBe('deploy/web');
      expect(pod.metadata!.annotations![ANNOTATION.skipOutboundPorts]).toBe('5432,6379');
    },
  },
  {
    name: 'invalid annotation values warn and fall back to defaults',
    input: {
      pod: apiPod({
        name: 'web', namespace: 'shop',
        annotations: { ...enabled, [ANNOTATION.bodyLimit]: 'lots', [ANNOTATION.skipInboundPorts]: '22,99999', [ANNOTATION.proxyCpuRequest]: 'fast', [ANNOTATION.nativeSidecar]: 'maybe', [ANNOTATION.skipOutboundCidrs]: '10.0.0.0/33', [ANNOTATION.proxyImage]: 'has space' },
      }) as PodLike,
      requireOptIn: true,
    },
    check: (pod, warnings) => {
      const proxy = spec(pod).initContainers![0]!;
      expect(argAfter(proxy, '--body-limit')).toBe('65536');
      expect(proxy.image).toBe(config.image);
      expect((proxy.resources as Json).requests).toEqual({ cpu: '50m', memory: '64Mi' });
      expect(warnings).toHaveLength(6);
      expect(warnings.join('\n')).toMatch(/meshtap\.dev\/body-limit="lots" is not a size/);
      // Regression: an invalid value whose default is unset read "using the default (none)".
      expect(warnings.join('\n')).toMatch(/skip-inbound-ports="22,99999" is not a list of ports \(e\.g\. 22,8000-8100\); skipping no inbound ports$/m);
      expect(warnings.join('\n')).toMatch(/skip-outbound-cidrs="10\.0\.0\.0\/33" is not a list of CIDRs \(e\.g\. 10\.0\.0\.0\/8\); skipping no outbound CIDRs$/m);
      expect(warnings.join('\n')).not.toMatch(/\(none\)/);
      expect(pod.metadata!.annotations![ANNOTATION.skipInboundPorts]).toBe('22,99999'); // user's text untouched
    },
  },
  {
    name: 'valid overrides: sizes, image, resources',
    input: {
      pod: apiPod({ name: 'web', namespace: 'shop', annotations: { ...enabled, [ANNOTATION.bodyLimit]: '1Mi', [ANNOTATION.recorderBytes]: '32MiB', [ANNOTATION.proxyImage]: 'reg.local/meshtap:dev', [ANNOTATION.proxyMemoryLimit]: '512Mi', [ANNOTATION.proxyCpuLimit]: '500m' } }) as PodLike,
      requireOptIn: true,
    },
    check: (pod, warnings) => {
      const proxy = spec(pod).initContainers![0]!;
      expect(argAfter(proxy, '--body-limit')).toBe(String(1024 * 1024));
      expect(argAfter(proxy, '--recorder-bytes')).toBe(String(32 * 1024 * 1024));
      expect(proxy.image).toBe('reg.local/meshtap:dev');
      expect((proxy.resources as Json).limits).toEqual({ cpu: '500m', memory: '512Mi' });
      expect(warnings).toEqual([]);
    },
  },
  {
    name: 'the sidecar runs native by default; meshtap.dev/engine: js on the namespace picks js; a pod says native; a bad value warns and keeps native',
    input: { pod: apiPod({ name: 'web', namespace: 'shop', annotations: { ...enabled } }) as PodLike, requireOptIn: true },
    check: (pod, warnings) => {
      // The old default (js, with no --engine in the args) fails here.
      expect(argAfter(spec(pod).initContainers![0]!, '--engine')).toBe('native');
      expect(warnings).toEqual([]);
      const nsJs = injectPod({ config, pod: apiPod({ name: 'web', namespace: 'shop', annotations: { ...enabled } }) as PodLike, namespaceAnnotations: { [ANNOTATION.engine]: 'js' }, requireOptIn: true });
      expect(nsJs.injected && argAfter(spec(nsJs.pod).initContainers![0]!, '--engine')).toBe('js');
      const podNative = injectPod({ config, pod: apiPod({ name: 'web', namespace: 'shop', annotations: { ...enabled, [ANNOTATION.engine]: 'native' } }) as PodLike, namespaceAnnotations: { [ANNOTATION.engine]: 'js' }, requireOptIn: true });
      expect(podNative.injected && argAfter(spec(podNative.pod).initContainers![0]!, '--engine')).toBe('native');
      const bad = injectPod({ config, pod: apiPod({ name: 'web', namespace: 'shop', annotations: { ...enabled, [ANNOTATION.engine]: 'turbo' } }) as PodLike, requireOptIn: true });
      expect(bad.warnings.join()).toMatch(/meshtap\.dev\/engine="turbo" is not "js" or "native"; using the default \(native\)/);
      expect(bad.injected && argAfter(spec(bad.pod).initContainers![0]!, '--engine')).toBe('native');
    },
  },
  {
    name: 'meshtap.dev/busy-poll-us becomes --busy-poll-us on a native sidecar (pod over namespace over mesh config); unset, none; a bad value warns; js gets none',
    input: { pod: apiPod({ name: 'web', namespace: 'shop', annotations: { ...enabled, [ANNOTATION.busyPollUs]: '0' } }) as PodLike, namespaceAnnotations: { [ANNOTATION.busyPollUs]: '200' }, requireOptIn: true },
    check: (pod, warnings) => {
      expect(argAfter(spec(pod).initContainers![0]!, '--busy-poll-us')).toBe('0');
      expect(warnings).toEqual([]);
      const args = (r: ReturnType<typeof injectPod>) => (r.injected ? spec(r.pod).initContainers![0]!.args as string[] : []);
      const fromNs = injectPod({ config, pod: apiPod({ name: 'web', namespace: 'shop', annotations: { ...enabled } }) as PodLike, namespaceAnnotations: { [ANNOTATION.busyPollUs]: '200' }, requireOptIn: true });
      expect(fromNs.injected && argAfter(spec(fromNs.pod).initContainers![0]!, '--busy-poll-us')).toBe('200');
      const fromConfig = injectPod({ config: { ...config, busyPollUs: 30 }, pod: apiPod({ name: 'web', namespace: 'shop', annotations: { ...enabled } }) as PodLike, requireOptIn: true });
      expect(fromConfig.injected && argAfter(spec(fromConfig.pod).initContainers![0]!, '--busy-poll-us')).toBe('30');
      // Unset anywhere: the sidecar's own default, no flag.
      const unset = injectPod({ config, pod: apiPod({ name: 'web', namespace: 'shop', annotations: { ...enabled } }) as PodLike, requireOptIn: true });
      expect(args(unset)).not.toContain('--busy-poll-us');
      for (const bad of ['fast', '-1', '2.5', '1001', '']) {
        const r = injectPod({ config, pod: apiPod({ name: 'web', namespace: 'shop', annotations: { ...enabled, [ANNOTATION.busyPollUs]: bad } }) as PodLike, requireOptIn: true });
        expect(args(r)).not.toContain('--busy-poll-us');
        expect(r.warnings.join()).toMatch(/meshtap\.dev\/busy-poll-us=".*" is not whole microseconds from 0 to 1000/);
      }
      const js = injectPod({ config, pod: apiPod({ name: 'web', namespace: 'shop', annotations: { ...enabled, [ANNOTATION.busyPollUs]: '0', [ANNOTATION.engine]: 'js' } }) as PodLike, requireOptIn: true });
      expect(args(js)).toContain('js');
      expect(args(js)).not.toContain('--busy-poll-us');
    },
  },
  {
    name: 'request above limit falls back to the default pair',
    input: { pod: apiPod({ name: 'web', namespace: 'shop', annotations: { ...enabled, [ANNOTATION.proxyMemoryRequest]: '1Gi', [ANNOTATION.proxyMemoryLimit]: '128Mi' } }) as PodLike, requireOptIn: true },
    check: (pod, warnings) => {
      expect((spec(pod).initContainers![0]!.resources as Json)).toMatchObject({ requests: { memory: '64Mi' }, limits: { memory: '256Mi' } });
      expect(warnings.join()).toMatch(/memory request 1Gi is above its limit 128Mi/);
    },
  },
  {
    name: 'classic sidecar by annotation: first container, ordering guard, default-container set',
    input: { pod: apiPod({ name: 'web', namespace: 'shop', annotations: { ...enabled, [ANNOTATION.nativeSidecar]: 'false' } }) as PodLike, requireOptIn: true },
    check: (pod) => {
      expect(spec(pod).initContainers).toBeUndefined();
      const [proxy, app] = spec(pod).containers;
      expect(proxy!.name).toBe('meshtap-proxy');
      expect(app!.name).toBe('app');
      expect(proxy!.restartPolicy).toBeUndefined();
      expect(proxy!.lifecycle).toMatchObject({ postStart: { exec: { command: ['node', '-e', expect.stringContaining('/ready')] } } });
      expect(pod.metadata!.annotations!['kubectl.kubernetes.io/default-container']).toBe('app');
    },
  },
  {
    name: 'classic sidecar by config',
    input: { pod: apiPod({ name: 'web', namespace: 'shop', annotations: enabled }) as PodLike, requireOptIn: true, config: { ...config, nativeSidecar: false } },
    check: (pod) => expect(spec(pod).containers[0]!.name).toBe('meshtap-proxy'),
  },
  {
    name: 'an app running as the proxy uid pushes the proxy to another uid',
    input: { pod: apiPod({ name: 'web', namespace: 'shop', annotations: enabled }, { securityContext: { runAsUser: 2102 } }) as PodLike, requireOptIn: true },
    check: (pod, warnings) => {
      expect((spec(pod).initContainers![0]!.securityContext as Json).runAsUser).toBe(2103);
      expect(pod.metadata!.annotations![ANNOTATION.proxyUid]).toBe('2103');
      expect(warnings.join()).toMatch(/uid 2102/);
    },
  },
  {
    name: 'a pod with no metadata maps at all gets them created whole',
    input: { pod: { apiVersion: 'v1', kind: 'Pod', metadata: { name: 'bare' }, spec: { containers: [{ name: 'app', image: 'a' }] } }, namespace: 'shop', requireOptIn: false },
    check: (pod, _w, patch) => {
      expect(patch).toContainEqual(expect.objectContaining({ op: 'add', path: '/metadata/labels' }));
      expect(patch).toContainEqual(expect.objectContaining({ op: 'add', path: '/spec/initContainers' }));
      expect(pod.metadata!.name).toBe('bare');
    },
  },
];

describe('injectPod', () => {
  for (const c of cases) {
    it(c.name, () => {
      const original = structuredClone(c.input.pod);
      const result = injectPod({ ...c.input, config: c.input.config ?? config });
      expect(c.input.pod).toEqual(original); // input never mutated
      if (c.skip) {
        expect(result.injected).toBe(false);
        if (!result.injected) expect(result.reason).toMatch(c.skip);
        expect(result.patch).toEqual([]);
        return;
      }
      expect(result.injected, result.injected ? '' : result.reason).toBe(true);
      if (!result.injected) return;
      c.check!(result.pod, result.warnings, result.patch);
      // The patch applies strictly to the original and yields exactly the mutated pod.
      expect(applyStrict(original, result.patch)).toEqual(result.pod);
      expect(destructiveOps(original, result.patch)).toEqual([]);
      // The mutated pod is a valid Pod per the Kubernetes OpenAPI schema.
      expect(() => new Pod(result.pod as never).validate()).not.toThrow();
      // Injecting again changes nothing.
      const again = injectPod({ ...c.input, pod: result.pod, config: c.input.config ?? config });
      expect(again.injected).toBe(false);
      expect(again.patch).toEqual([]);
    });
  }

  it('any annotation values: never throws, patch always applies, pod always valid', () => {
    const keys = Object.values(ANNOTATION);
    fc.assert(
      fc.property(fc.dictionary(fc.constantFrom(...keys), fc.oneof(fc.string(), fc.constantFrom('enabled', 'disabled', 'false', '1Mi', '100m', '0', '10.0.0.0/8', '80,443'))), (annotations) => {
        const pod = apiPod({ name: 'p', namespace: 'shop', annotations }) as PodLike;
        const result = injectPod({ pod, config, requireOptIn: false });
        if (!result.injected) return;
        expect(applyStrict(pod, result.patch)).toEqual(result.pod);
        expect(() => new Pod(result.pod as never).validate()).not.toThrow();
      }),
      { numRuns: 200 },
    );
  });
});
