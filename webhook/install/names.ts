/**
 * Names shared by `meshtap install` and `meshtap check`: one place, so that what install
 * writes is exactly what check looks for.
 */
export const NAMES = {
  webhook: 'meshtap-webhook',
  tapApi: 'meshtap-tap-api',
  agent: 'meshtap-agent',
  webhookConfig: 'meshtap-webhook',
  webhookName: 'inject.meshtap.dev',
  apiServiceGroup: 'tap.meshtap.dev',
  apiServiceVersion: 'v1alpha1',
  apiService: 'v1alpha1.tap.meshtap.dev',
  webhookTlsSecret: 'meshtap-webhook-tls',
  tapApiTlsSecret: 'meshtap-tap-api-tls',
  tapSigningSecret: 'meshtap-tap-signing',
  tapViewerRole: 'meshtap-tap-viewer',
  tapAdminRole: 'meshtap-tap-admin',
} as const;

/** Ports (DESIGN §10). */
export const CONTROL_PLANE_PORTS = { webhook: 8443, tapApi: 8089 } as const;

/** Label on every control plane object (and its pods): the injector never injects these. */
export const PART_OF = { 'app.kubernetes.io/part-of': 'meshtap' } as const;

/** Selector labels of a component (stable across versions: Deployment selectors are immutable). */
export function selectorLabels(component: string): Record<string, string> {
  return { 'app.kubernetes.io/name': component };
}

/** All labels of a component's objects. */
export function componentLabels(component: string, version: string): Record<string, string> {
  return { ...selectorLabels(component), ...PART_OF, 'app.kubernetes.io/component': component.replace(/^meshtap-/, ''), 'app.kubernetes.io/version': version };
}

/** Where the TLS and signing secrets are mounted in control plane pods. */
export const MOUNTS = { tls: '/var/run/meshtap/tls', signing: '/var/run/meshtap/signing' } as const;
