/**
 * The names a TARGET of one kind may take in a namespace, for shell completion (`meshtap tap
 * deploy/<TAB>`): the workloads (or pods) with meshed pods there, as the tap API lists its
 * sidecars (`list sidecars`, which meshtap-tap-viewer grants), through the same connection as
 * `tap` (a tap API URL, or a kubeconfig and kube-apiserver's aggregated API). Only what can be
 * tapped is offered, as kubectl offers only what `kubectl get` lists.
 */
import { listSidecars } from './client.js';
import { connectKube } from './kube-client.js';
import type { TapApiConnection } from './source-flags.js';
import { formatTarget, type TargetResource } from '../server/targets.js';

/** `deploy/web`-style targets of `resource` in `namespace` (undefined: `default` / the context's; `ns/…`: every namespace), sorted. */
export async function listTargetNames(connection: TapApiConnection, resource: TargetResource, namespace: string | undefined): Promise<string[]> {
  // Namespaces: every namespace's sidecars (which needs `list sidecars` cluster-wide).
  const everywhere = resource === 'namespaces';
  let sidecars;
  if ('tapApi' in connection) {
    const t = connection.tapApi;
    sidecars = await listSidecars({ url: t.url, ...(t.token ? { token: t.token } : {}), ...(everywhere ? {} : { namespace: namespace ?? 'default' }) });
  } else {
    const k = await connectKube(connection.kube);
    try {
      sidecars = await listSidecars({ url: k.url, dispatcher: k.dispatcher, headers: k.headers, describeServer: k.describeServer, ...(everywhere ? {} : { namespace: namespace ?? k.namespace }) });
    } finally {
      void k.dispatcher.close().catch(() => undefined);
    }
  }
  const names = new Set<string>();
  const short = formatTarget({ resource, name: '' });
  for (const s of sidecars) {
    if (resource === 'pods') names.add(formatTarget({ resource, name: s.pod }));
    else if (resource === 'namespaces') names.add(formatTarget({ resource, name: s.namespace }));
    else if (s.workload?.startsWith(short)) names.add(s.workload);
  }
  return [...names].sort();
}
