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
import { formatTarget, parseTarget, type TargetResource } from '../server/targets.js';
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

/**
 * The names (without TYPE/) that targets of `resource` take among `sidecars`, unique and sorted:
 * their pods, their namespaces, or their workloads of that kind. One rule for completion
 * (`listTargetNames`) and for `stat`'s not-found check and its did-you-mean.
 */
export function namesOfKind(sidecars: readonly SidecarInfo[], resource: TargetResource): string[] {
  const names = new Set<string>();
  for (const s of sidecars) {
    if (resource === 'pods') names.add(s.pod);
    else if (resource === 'namespaces') names.add(s.namespace);
    else {
      const w = s.workload ? parseTarget(s.workload) : undefined;
      if (w?.ok && w.value.resource === resource) names.add(w.value.name);
    }
  }
  return [...names].sort();
}

/** `deploy/web`-style targets of `resource` in `namespace` (undefined: `default` / the context's; `ns/…`: every namespace), sorted. */
export async function listTargetNames(connection: TapApiConnection, resource: TargetResource, namespace: string | undefined): Promise<string[]> {
  // Namespaces: every namespace's sidecars (which needs `list sidecars` cluster-wide).
  const sidecars = await listSidecarsVia(connection, resource === 'namespaces' ? { all: true } : { namespace });
  return namesOfKind(sidecars, resource).map((name) => formatTarget({ resource, name }));
}
