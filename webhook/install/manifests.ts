/**
 * `meshtap install`: the whole control plane as a list of objects in apply order
 * (namespace, RBAC, secrets, services, workloads, then the webhook and APIService
 * registrations that point at them). Certificates are generated here (a fresh CA per
 * install, its PEM as the caBundles) unless cert-manager is asked to issue and inject them.
 */
import { createCertificateAuthority, createTapSigningKey, serviceDnsNames } from './certs.js';
import { componentObjects } from './components.js';
import { CONTROL_PLANE_PORTS, MOUNTS, NAMES, PART_OF, componentLabels } from './names.js';
import { rbacObjects } from './rbac.js';

type Obj = Record<string, unknown>;

export interface InstallOptions {
  namespace: string;
  image: string;
  version: string;
  /** Three replicas with anti-affinity and minAvailable PDBs. */
  ha: boolean;
  /** Let cert-manager issue the serving certificates and inject the caBundles. */
  certManager: boolean;
}

const b64 = (text: string): string => Buffer.from(text).toString('base64');

/** Every object of the control plane, in the order kubectl should apply them. */
export async function buildControlPlane(o: InstallOptions): Promise<Obj[]> {
  const ns = o.namespace;
  const signing = createTapSigningKey();
  const tlsArgs = ['--cert', `${MOUNTS.tls}/tls.crt`, '--key', `${MOUNTS.tls}/tls.key`];
  const webhookArgs = [
    '--listen', `0.0.0.0:${CONTROL_PLANE_PORTS.webhook}`, ...tlsArgs,
    '--image', o.image,
    // Sidecars verify grants with this key; they need not register (the tap API finds pods
    // through the Kubernetes API), so no --tap-api for them in a cluster.
    '--tap-public-key', signing.publicKeyBase64,
    '--control-plane-namespace', ns,
  ];
  // The tap API as an aggregated API server: HTTPS for the APIService, front-proxy client
  // certificates and SubjectAccessReview (CA and header names from kube-system's
  // extension-apiserver-authentication ConfigMap); --key is its grant-signing key.
  const tapApiArgs = [
    '--kubernetes',
    '--listen', `0.0.0.0:${CONTROL_PLANE_PORTS.tapApi}`,
    '--tls-cert-file', `${MOUNTS.tls}/tls.crt`,
    '--tls-private-key-file', `${MOUNTS.tls}/tls.key`,
    '--key', `${MOUNTS.signing}/signing.key`,
  ];

  const namespace: Obj = {
    apiVersion: 'v1',
    kind: 'Namespace',
    metadata: {
      name: ns,
      labels: { ...PART_OF, 'meshtap.dev/control-plane': 'true', 'pod-security.kubernetes.io/enforce': 'privileged' },
      annotations: { 'meshtap.dev/inject': 'disabled' },
    },
  };
  const signingSecret: Obj = {
    apiVersion: 'v1',
    kind: 'Secret',
    type: 'Opaque',
    metadata: { name: NAMES.tapSigningSecret, namespace: ns, labels: componentLabels(NAMES.tapApi, o.version) },
    data: { 'signing.key': b64(signing.privateKeyPem), 'signing.pub': b64(signing.publicKeyBase64) },
  };

  let tlsObjects: Obj[];
  let caBundle: { caBundle: string } | Record<string, never> = {};
  let injectCa = (_cert: string): Record<string, unknown> => ({});
  if (o.certManager) {
    tlsObjects = certManagerObjects(o);
    injectCa = (cert) => ({ annotations: { 'cert-manager.io/inject-ca-from': `${ns}/${cert}` } });
  } else {
    const ca = await createCertificateAuthority(`meshtap-ca.${ns}`);
    const tlsSecret = async (name: string, service: string): Promise<Obj> => {
      const pair = await ca.issueServing(serviceDnsNames(service, ns));
      return {
        apiVersion: 'v1',
        kind: 'Secret',
        type: 'kubernetes.io/tls',
        metadata: { name, namespace: ns, labels: componentLabels(service, o.version) },
        data: { 'tls.crt': b64(pair.certPem), 'tls.key': b64(pair.keyPem), 'ca.crt': b64(ca.certPem) },
      };
    };
    tlsObjects = [await tlsSecret(NAMES.webhookTlsSecret, NAMES.webhook), await tlsSecret(NAMES.tapApiTlsSecret, NAMES.tapApi)];
    caBundle = { caBundle: b64(ca.certPem) };
  }

  const webhookConfig: Obj = {
    apiVersion: 'admissionregistration.k8s.io/v1',
    kind: 'MutatingWebhookConfiguration',
    metadata: { name: NAMES.webhookConfig, labels: componentLabels(NAMES.webhook, o.version), ...injectCa(NAMES.webhook) },
    webhooks: [
      {
        name: NAMES.webhookName,
        admissionReviewVersions: ['v1', 'v1beta1'],
        clientConfig: { service: { name: NAMES.webhook, namespace: ns, path: '/inject', port: 443 }, ...caBundle },
        rules: [{ operations: ['CREATE'], apiGroups: [''], apiVersions: ['v1'], resources: ['pods'], scope: 'Namespaced' }],
        failurePolicy: 'Ignore',
        sideEffects: 'None',
        timeoutSeconds: 10,
        reinvocationPolicy: 'Never',
        matchPolicy: 'Equivalent',
        namespaceSelector: {
          matchExpressions: [
            { key: 'kubernetes.io/metadata.name', operator: 'NotIn', values: ['kube-system', 'kube-node-lease', 'kube-public', ns] },
            { key: 'meshtap.dev/control-plane', operator: 'DoesNotExist' },
          ],
        },
      },
    ],
  };
  const apiService: Obj = {
    apiVersion: 'apiregistration.k8s.io/v1',
    kind: 'APIService',
    metadata: { name: NAMES.apiService, labels: componentLabels(NAMES.tapApi, o.version), ...injectCa(NAMES.tapApi) },
    spec: {
      group: NAMES.apiServiceGroup,
      version: NAMES.apiServiceVersion,
      service: { name: NAMES.tapApi, namespace: ns, port: 443 },
      groupPriorityMinimum: 1000,
      versionPriority: 100,
      ...caBundle,
    },
  };
  return [
    namespace,
    ...rbacObjects(ns, o.version),
    ...tlsObjects,
    signingSecret,
    ...componentObjects({ namespace: ns, image: o.image, version: o.version, ha: o.ha, webhookArgs, tapApiArgs }),
    apiService,
    webhookConfig,
  ];
}

/** A self-signed root, a CA Issuer from it, and one Certificate per HTTPS Service. */
function certManagerObjects(o: InstallOptions): Obj[] {
  const ns = o.namespace;
  const meta = (name: string): Obj => ({ name, namespace: ns, labels: { ...PART_OF, 'app.kubernetes.io/version': o.version } });
  const certificate = (name: string, service: string, secretName: string): Obj => ({
    apiVersion: 'cert-manager.io/v1',
    kind: 'Certificate',
    metadata: meta(name),
    spec: {
      secretName,
      dnsNames: serviceDnsNames(service, ns),
      duration: '8760h',
      renewBefore: '720h',
      privateKey: { algorithm: 'ECDSA', size: 256, rotationPolicy: 'Always' },
      usages: ['server auth', 'digital signature', 'key encipherment'],
      issuerRef: { name: 'meshtap-ca', kind: 'Issuer', group: 'cert-manager.io' },
    },
  });
  return [
    { apiVersion: 'cert-manager.io/v1', kind: 'Issuer', metadata: meta('meshtap-selfsigned'), spec: { selfSigned: {} } },
    {
      apiVersion: 'cert-manager.io/v1',
      kind: 'Certificate',
      metadata: meta('meshtap-ca'),
      spec: {
        isCA: true,
        commonName: `meshtap-ca.${ns}`,
        secretName: 'meshtap-ca',
        duration: '87600h',
        privateKey: { algorithm: 'ECDSA', size: 256 },
        issuerRef: { name: 'meshtap-selfsigned', kind: 'Issuer', group: 'cert-manager.io' },
      },
    },
    { apiVersion: 'cert-manager.io/v1', kind: 'Issuer', metadata: meta('meshtap-ca'), spec: { ca: { secretName: 'meshtap-ca' } } },
    certificate(NAMES.webhook, NAMES.webhook, NAMES.webhookTlsSecret),
    certificate(NAMES.tapApi, NAMES.tapApi, NAMES.tapApiTlsSecret),
  ];
}
