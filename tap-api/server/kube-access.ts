/**
 * Kubernetes mode assembled: front-proxy authentication, SubjectAccessReview authorization and
 * API discovery, plus the requestheader settings they need. When no
 * `--requestheader-client-ca-file` is given, the settings come from the ConfigMap
 * kube-system/extension-apiserver-authentication, which kube-apiserver publishes for
 * aggregated API servers (what `meshtap install`'s auth-reader RoleBinding lets us read).
 */
import type { KubeConfig } from '@kubernetes/client-node';
import { MeshtapError } from '../../common/index.js';
import type { TapApiAccess } from './access.js';
import { createKubeDiscovery, type KubeDiscoveryOptions } from './kube-discovery.js';
import { createFrontProxyAuthenticator, DEFAULT_REQUEST_HEADER_CONFIG, type RequestHeaderConfig } from './kube-front-proxy.js';
import { createSarAuthorizer, describeKubeError } from './kube-sar.js';

export const EXTENSION_AUTH_CONFIGMAP = { namespace: 'kube-system', name: 'extension-apiserver-authentication' } as const;

/** Builds Kubernetes mode's access on the API server `kc` points at. */
export function createKubeAccess(
  kc: KubeConfig,
  options: { requestHeader: () => RequestHeaderConfig; discovery?: KubeDiscoveryOptions; sarCacheTtlMs?: number },
): TapApiAccess {
  return {
    mode: 'kubernetes',
    authenticator: createFrontProxyAuthenticator(options.requestHeader),
    authorizer: createSarAuthorizer(kc, options.sarCacheTtlMs === undefined ? {} : { cacheTtlMs: options.sarCacheTtlMs }),
    discovery: createKubeDiscovery(kc, options.discovery),
  };
}

/** Parses one JSON-array value of the ConfigMap (`["X-Remote-User"]`); absent → undefined. */
function jsonList(data: Record<string, string>, key: string): string[] | undefined {
  const v = data[key];
  if (v === undefined || v.trim() === '') return undefined;
  try {
    const list = JSON.parse(v) as unknown;
    if (Array.isArray(list) && list.every((x) => typeof x === 'string')) return list;
  } catch {
    // fall through
  }
  throw new MeshtapError('MT_REQUESTHEADER_CONFIG', `${EXTENSION_AUTH_CONFIGMAP.namespace}/${EXTENSION_AUTH_CONFIGMAP.name}: ${key} is not a JSON list of strings`);
}

/** Requestheader settings from the ConfigMap's data (shape as kube-apiserver writes it). */
export function requestHeaderFromConfigMap(data: Record<string, string>): { clientCaPem: string; config: RequestHeaderConfig } {
  const clientCaPem = data['requestheader-client-ca-file'];
  if (!clientCaPem) {
    throw new MeshtapError(
      'MT_REQUESTHEADER_CONFIG',
      `${EXTENSION_AUTH_CONFIGMAP.namespace}/${EXTENSION_AUTH_CONFIGMAP.name} has no requestheader-client-ca-file: kube-apiserver runs without --requestheader-client-ca-file, so it cannot front an aggregated API`,
    );
  }
  const lower = (l: string[] | undefined, d: string[]): string[] => (l && l.length > 0 ? l.map((x) => x.toLowerCase()) : d);
  return {
    clientCaPem,
    config: {
      allowedNames: jsonList(data, 'requestheader-allowed-names') ?? [],
      usernameHeaders: lower(jsonList(data, 'requestheader-username-headers'), DEFAULT_REQUEST_HEADER_CONFIG.usernameHeaders),
      groupHeaders: lower(jsonList(data, 'requestheader-group-headers'), DEFAULT_REQUEST_HEADER_CONFIG.groupHeaders),
      extraHeaderPrefixes: lower(jsonList(data, 'requestheader-extra-headers-prefix'), DEFAULT_REQUEST_HEADER_CONFIG.extraHeaderPrefixes),
    },
  };
}

/** Reads kube-system/extension-apiserver-authentication. */
export async function readRequestHeaderConfigMap(kc: KubeConfig): Promise<{ clientCaPem: string; config: RequestHeaderConfig }> {
  const { CoreV1Api } = await import('@kubernetes/client-node');
  let data: Record<string, string>;
  try {
    const cm = await kc.makeApiClient(CoreV1Api).readNamespacedConfigMap({ ...EXTENSION_AUTH_CONFIGMAP });
    data = cm.data ?? {};
  } catch (err) {
    throw new MeshtapError(
      'MT_REQUESTHEADER_CONFIG',
      `cannot read ${EXTENSION_AUTH_CONFIGMAP.namespace}/${EXTENSION_AUTH_CONFIGMAP.name} (${describeKubeError(err)}); give --requestheader-client-ca-file, or bind the role extension-apiserver-authentication-reader`,
      { cause: err },
    );
  }
  return requestHeaderFromConfigMap(data);
}
