/**
 * `meshtap tap-api --kubernetes` as one call: reads the requestheader settings (flags, or the
 * extension-apiserver-authentication ConfigMap), loads and watches the TLS files, and starts
 * the one tap API server with Kubernetes mode's access.
 */
import type { KubeConfig } from '@kubernetes/client-node';
import { createLogger } from '../../common/index.js';
import { createKubeAccess, readRequestHeaderConfigMap } from './kube-access.js';
import { DEFAULT_REQUEST_HEADER_CONFIG, type RequestHeaderConfig } from './kube-front-proxy.js';
import { createReloadingTls } from './kube-tls.js';
import { startTapApiServer, type TapApiServer, type TapApiServerOptions } from './server.js';

export interface KubeTapApiServerOptions extends Omit<TapApiServerOptions, 'tokens' | 'policy' | 'access' | 'createServer' | 'isReady'> {
  /** Where the API server is (in a pod: the in-cluster config). */
  kubeconfig: KubeConfig;
  /** Serving pair, and the requestheader client CA file (absent: read the ConfigMap). */
  tls: { certFile: string; keyFile: string; clientCaFile?: string };
  /** Overrides of the requestheader settings (flags win over the ConfigMap). */
  requestHeader?: Partial<RequestHeaderConfig>;
  sidecarTapPort?: number;
  sidecarAdminPort?: number;
  maxPodsPerTap?: number;
  tlsReloadIntervalMs?: number;
  sarCacheTtlMs?: number;
}

export interface KubeTapApiServer extends TapApiServer {
  /** Re-reads the TLS files now (they are also polled); true when they changed. */
  reloadTls(): Promise<boolean>;
  /** The requestheader settings in force. */
  readonly requestHeader: RequestHeaderConfig;
}

/** Starts the tap API in Kubernetes mode. */
export async function startKubeTapApiServer(options: KubeTapApiServerOptions): Promise<KubeTapApiServer> {
  const log = createLogger('tap-api');
  const { kubeconfig, tls: files, requestHeader: overrides, sidecarTapPort, sidecarAdminPort, maxPodsPerTap, tlsReloadIntervalMs, sarCacheTtlMs, ...common } = options;
  let base: RequestHeaderConfig = DEFAULT_REQUEST_HEADER_CONFIG;
  let clientCaPem: string | undefined;
  if (!files.clientCaFile) {
    const fromCluster = await readRequestHeaderConfigMap(kubeconfig);
    base = fromCluster.config;
    clientCaPem = fromCluster.clientCaPem;
  }
  const defined = Object.fromEntries(Object.entries(overrides ?? {}).filter(([, v]) => v !== undefined)) as Partial<RequestHeaderConfig>;
  const requestHeader: RequestHeaderConfig = { ...base, ...defined };
  const tls = await createReloadingTls(
    { certFile: files.certFile, keyFile: files.keyFile, ...(files.clientCaFile ? { clientCaFile: files.clientCaFile } : { clientCaPem: clientCaPem! }) },
    {
      ...(tlsReloadIntervalMs === undefined ? {} : { reloadIntervalMs: tlsReloadIntervalMs }),
      onReload: (ok, error) => (ok ? log.warn('TLS files changed -> reloaded') : log.error('TLS reload failed; keeping the previous certificates', { error })),
    },
  );
  const access = createKubeAccess(kubeconfig, {
    requestHeader: () => requestHeader,
    discovery: {
      ...(sidecarTapPort === undefined ? {} : { sidecarTapPort }),
      ...(sidecarAdminPort === undefined ? {} : { sidecarAdminPort }),
      ...(maxPodsPerTap === undefined ? {} : { maxPodsPerTap }),
    },
    ...(sarCacheTtlMs === undefined ? {} : { sarCacheTtlMs }),
  });
  let server: TapApiServer;
  try {
    server = await startTapApiServer({ ...common, access, createServer: (l) => tls.createServer(l) });
  } catch (err) {
    tls.close();
    throw err;
  }
  return {
    ...server,
    requestHeader,
    reloadTls: () => tls.reload(),
    async close() {
      tls.close();
      await server.close();
    },
  };
}
