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
import type { SidecarInfo } from '../server/wire.js';

/**
 * The sidecars the tap API lists through `connection` (a tap API URL, or a kubeconfig and
 * kube-apiserver's aggregated API): of `where.namespace` (undefined: `default`, or the kubeconfig
 * context's namespace), or of every namespace with `where.all` (needs `list sidecars` cluster-wide).
 */
export async function listSidecarsVia(connection: TapApiConnection, where: { all: true } | { namespace: string | undefined }): Promise<SidecarInfo[]> {
  const namespace = 'all' in where ? undefined : where.namespace;
  if ('tapApi' in connection) {
    const t = connection.tapApi;
    return listSidecars({ url: t.url, ...(t.token ? { token: t.token } : {}), ...('all' in where ? {} : { namespace: namespace ?? 'default' }) });
  }
  const k = await connectKube(connection.kube);
  try {
    return await listSidecars({ url: k.url, dispatcher: k.dispatcher, headers: k.headers, describeServer: k.describeServer, ...('all' in where ? {} : { namespace: namespace ?? k.namespace }) });
  } finally {
    void k.dispatcher.close().catch(() => undefined);
  }
}

/** `deploy/web`-style targets of `resource` in `namespace` (undefined: `default` / the context's; `ns/…`: every namespace), sorted. */
export async function listTargetNames(connection: TapApiConnection, resource: TargetResource, namespace: string | undefined): Promise<string[]> {
  // Namespaces: every namespace's sidecars (which needs `list sidecars` cluster-wide).
  const sidecars = await listSidecarsVia(connection, resource === 'namespaces' ? { all: true } : { namespace });
  const names = new Set<string>();
  const short = formatTarget({ resource, name: '' });
  for (const s of sidecars) {
    if (resource === 'pods') names.add(formatTarget({ resource, name: s.pod }));
    else if (resource === 'namespaces') names.add(formatTarget({ resource, name: s.namespace }));
    else if (s.workload?.startsWith(short)) names.add(s.workload);
  }
  return [...names].sort();
}
