import { X509Certificate, createPrivateKey } from 'node:crypto';
import { createRequire } from 'node:module';
import { describe, expect, it } from 'vitest';
import { parseAllDocuments } from 'yaml';
import { buildControlPlane, renderObjects, type InstallOptions } from './index.js';

const require = createRequire(import.meta.url);
type Obj = { apiVersion: string; kind: string; metadata: { name: string; namespace?: string; labels?: Record<string, string>; annotations?: Record<string, string> }; [k: string]: any };

/** The kubernetes-models class for an object: validated against the Kubernetes OpenAPI schema. */
function modelFor(o: Obj): { new (data: unknown): { validate(): void } } {
  const [group, version] = o.apiVersion.includes('/') ? o.apiVersion.split('/') : ['', o.apiVersion];
  const path = group === '' ? `${version}/${o.kind}` : `${group}/${version}/${o.kind}`;
  const mod = group === 'cert-manager.io' ? require(`@kubernetes-models/cert-manager/${path}`) : require(`kubernetes-models/${path}`);
  return mod[o.kind];
}

const base: InstallOptions = { namespace: 'meshtap', image: 'ghcr.io/meshtap/meshtap:v0.1.0', version: '0.1.0', ha: false, certManager: false };
const find = (objs: Obj[], kind: string, name: string) => {
  const o = objs.find((x) => x.kind === kind && x.metadata.name === name);
  if (!o) throw new Error(`${kind}/${name} missing`);
  return o;
};
const pem = (b64: string) => Buffer.from(b64, 'base64').toString('utf8');

describe('meshtap install', () => {
  for (const opts of [base, { ...base, ha: true }, { ...base, certManager: true }, { ...base, namespace: 'mesh-system' }]) {
    it(`every object is valid per the Kubernetes OpenAPI schema (${JSON.stringify({ ha: opts.ha, certManager: opts.certManager, ns: opts.namespace })})`, async () => {
      const objs = (await buildControlPlane(opts)) as Obj[];
      for (const o of objs) {
        const Model = modelFor(o);
        expect(() => new Model(o).validate(), `${o.kind}/${o.metadata.name}`).not.toThrow();
      }
    });
  }

  it('the schema validator is live (a broken object fails)', async () => {
    const objs = (await buildControlPlane(base)) as Obj[];
    const dep = structuredClone(find(objs, 'Deployment', 'meshtap-webhook'));
    dep.spec.template.spec.containers[0].ports[0].containerPort = 'https';
    expect(() => new (modelFor(dep))(dep).validate()).toThrow(/containerPort/);
  });

  it('caBundles verify the serving certificates, which carry <svc>.<ns>.svc SANs', async () => {
    const objs = (await buildControlPlane(base)) as Obj[];
    const mwc = find(objs, 'MutatingWebhookConfiguration', 'meshtap-webhook');
    const apiService = find(objs, 'APIService', 'v1alpha1.tap.meshtap.dev');
    for (const [bundle, secretName, host] of [
      [mwc.webhooks[0].clientConfig.caBundle, 'meshtap-webhook-tls', 'meshtap-webhook.meshtap.svc'],
      [apiService.spec.caBundle, 'meshtap-tap-api-tls', 'meshtap-tap-api.meshtap.svc'],
    ] as const) {
      const ca = new X509Certificate(pem(bundle));
      const secret = find(objs, 'Secret', secretName);
      expect(secret.type).toBe('kubernetes.io/tls');
      const leaf = new X509Certificate(pem(secret.data['tls.crt']));
      expect(leaf.verify(ca.publicKey)).toBe(true);
      expect(leaf.checkIssued(ca)).toBe(true);
      expect(leaf.checkHost(host)).toBe(host);
      expect(leaf.checkPrivateKey(createPrivateKey(pem(secret.data['tls.key'])))).toBe(true);
    }
  });

  it('cert-manager mode: no caBundle, injection annotations, Certificates for each Service', async () => {
    const objs = (await buildControlPlane({ ...base, certManager: true })) as Obj[];
    const mwc = find(objs, 'MutatingWebhookConfiguration', 'meshtap-webhook');
    expect(mwc.webhooks[0].clientConfig.caBundle).toBeUndefined();
    expect(mwc.metadata.annotations!['cert-manager.io/inject-ca-from']).toBe('meshtap/meshtap-webhook');
    expect(find(objs, 'APIService', 'v1alpha1.tap.meshtap.dev').metadata.annotations!['cert-manager.io/inject-ca-from']).toBe('meshtap/meshtap-tap-api');
    expect(find(objs, 'Certificate', 'meshtap-webhook').spec).toMatchObject({ secretName: 'meshtap-webhook-tls', dnsNames: expect.arrayContaining(['meshtap-webhook.meshtap.svc']) });
    expect(objs.filter((o) => o.kind === 'Secret' && o.type === 'kubernetes.io/tls')).toEqual([]);
  });

  it('the webhook registration: fail open, no side effects, both review versions, control plane excluded', async () => {
    const objs = (await buildControlPlane({ ...base, namespace: 'mesh-system' })) as Obj[];
    const hook = find(objs, 'MutatingWebhookConfiguration', 'meshtap-webhook').webhooks[0];
    expect(hook).toMatchObject({ failurePolicy: 'Ignore', sideEffects: 'None', admissionReviewVersions: ['v1', 'v1beta1'] });
    expect(hook.clientConfig.service).toEqual({ name: 'meshtap-webhook', namespace: 'mesh-system', path: '/inject', port: 443 });
    const notIn = hook.namespaceSelector.matchExpressions.find((e: any) => e.operator === 'NotIn');
    expect(notIn.values).toEqual(expect.arrayContaining(['kube-system', 'mesh-system']));
    expect(hook.rules).toEqual([{ operations: ['CREATE'], apiGroups: [''], apiVersions: ['v1'], resources: ['pods'], scope: 'Namespaced' }]);
  });

  it('names and selectors are consistent across objects', async () => {
    for (const opts of [base, { ...base, ha: true, namespace: 'mesh-system' }]) {
      const objs = (await buildControlPlane(opts)) as Obj[];
      const ns = opts.namespace;
      const matches = (selector: Record<string, string>, labels: Record<string, string> = {}) => Object.entries(selector).every(([k, v]) => labels[k] === v);
      for (const o of objs) {
        if (!['Namespace', 'ClusterRole', 'ClusterRoleBinding', 'MutatingWebhookConfiguration', 'APIService'].includes(o.kind)) {
          expect(o.metadata.namespace, `${o.kind}/${o.metadata.name}`).toBe(o.kind === 'RoleBinding' ? 'kube-system' : ns);
        }
      }
      // Webhook and APIService point at Services that select the right pods on the right port.
      const refs = [find(objs, 'MutatingWebhookConfiguration', 'meshtap-webhook').webhooks[0].clientConfig.service, find(objs, 'APIService', 'v1alpha1.tap.meshtap.dev').spec.service];
      for (const ref of refs) {
        expect(ref.namespace).toBe(ns);
        const svc = find(objs, 'Service', ref.name);
        expect(svc.spec.ports.map((p: any) => p.port)).toContain(ref.port);
        const dep = find(objs, 'Deployment', ref.name);
        expect(matches(svc.spec.selector, dep.spec.template.metadata.labels)).toBe(true);
        expect(dep.spec.template.spec.containers[0].ports.map((p: any) => p.containerPort)).toContain(svc.spec.ports[0].targetPort);
      }
      for (const o of objs.filter((x) => ['Deployment', 'DaemonSet'].includes(x.kind))) {
        const podSpec = o.spec.template.spec;
        expect(matches(o.spec.selector.matchLabels, o.spec.template.metadata.labels)).toBe(true);
        expect(o.spec.template.metadata.labels['app.kubernetes.io/part-of']).toBe('meshtap'); // never injected
        find(objs, 'ServiceAccount', podSpec.serviceAccountName);
        for (const v of podSpec.volumes.filter((x: any) => x.secret)) find(objs, 'Secret', v.secret.secretName);
        const mounts = podSpec.containers[0].volumeMounts.map((m: any) => m.name);
        for (const v of podSpec.volumes) expect(mounts).toContain(v.name);
        if (o.kind === 'Deployment') expect(o.spec.replicas).toBe(opts.ha ? 3 : 1);
      }
      for (const pdb of objs.filter((x) => x.kind === 'PodDisruptionBudget')) {
        const dep = find(objs, 'Deployment', pdb.metadata.name);
        expect(matches(pdb.spec.selector.matchLabels, dep.spec.template.metadata.labels)).toBe(true);
        expect(opts.ha ? pdb.spec.minAvailable : pdb.spec.maxUnavailable).toBe(1);
      }
      for (const b of objs.filter((x) => x.kind.endsWith('Binding'))) {
        if (!b.roleRef.name.startsWith('system:') && b.roleRef.name !== 'extension-apiserver-authentication-reader') find(objs, b.roleRef.kind, b.roleRef.name);
        for (const s of b.subjects) {
          expect(s.namespace).toBe(ns);
          find(objs, 'ServiceAccount', s.name);
        }
      }
      const agent = find(objs, 'DaemonSet', 'meshtap-agent');
      expect(agent.spec.template.spec.containers[0].volumeMounts.map((m: any) => m.mountPath)).toEqual(['/sys/fs/bpf', '/sys/fs/cgroup', '/host/proc']);
      expect(agent.spec.template.spec.tolerations).toEqual([{ operator: 'Exists' }]);
      expect(find(objs, 'Namespace', ns).metadata.annotations!['meshtap.dev/inject']).toBe('disabled');
    }
  });

  it('tap ClusterRoles: viewer cannot see bodies, admin can', async () => {
    const objs = (await buildControlPlane(base)) as Obj[];
    const resources = (role: Obj) => role.rules.flatMap((r: any) => r.resources);
    expect(resources(find(objs, 'ClusterRole', 'meshtap-tap-viewer'))).toContain('deployments/tap');
    expect(resources(find(objs, 'ClusterRole', 'meshtap-tap-viewer')).some((r: string) => r.endsWith('/tap-bodies'))).toBe(false);
    expect(resources(find(objs, 'ClusterRole', 'meshtap-tap-admin'))).toContain('deployments/tap-bodies');
  });

  it('renders a YAML stream and a JSON List that decode back to the same objects', async () => {
    const objs = await buildControlPlane(base);
    const yaml = renderObjects(objs, 'yaml');
    const docs = parseAllDocuments(yaml) as unknown as { errors: unknown[]; toJS(): unknown }[];
    expect(docs.every((d) => d.errors.length === 0)).toBe(true);
    expect(docs.map((d) => d.toJS())).toEqual(objs);
    const list = JSON.parse(renderObjects(objs, 'json'));
    expect(list).toMatchObject({ apiVersion: 'v1', kind: 'List' });
    expect(list.items).toEqual(objs);
  });
});
