/**
 * How the dashboard reaches the tap API: exactly as `meshtap tap` does (the CLI's own
 * `connectionFromArgs` / `sourceFor` / `openSource`), with the user's own credentials
 * (`--tap-api` + `--token`, MESHTAP_TAP_API/MESHTAP_TOKEN, the CLI config file, or a kubeconfig
 * through kube-apiserver's aggregated API). The dashboard never holds a credential of its own,
 * so it can show no more than the user's RBAC allows.
 */
import { openSource, sourceFor, type TapApiConnection } from '../tap-api/index.js';
import type { TapRequest, TapStream } from '../tap-protocol/index.js';

export type DashboardConnection = TapApiConnection;

/** Opens a tap as the user (the CLI's own client). */
export function openTap(c: DashboardConnection, namespace: string, target: string, request: TapRequest, onNotice?: (n: { pod: string; message: string }) => void): TapStream {
  return openSource(sourceFor(c, target, namespace), request, onNotice);
}

/** Where the connection goes, for the page header and errors (never the token). */
export function describeConnection(c: DashboardConnection): string {
  return 'tapApi' in c ? c.tapApi.url : `kubeconfig ${c.kube.kubeconfigPath}${c.kube.context ? ` (context ${c.kube.context})` : ''}`;
}
