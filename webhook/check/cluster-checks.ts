/**
 * The cluster part of `meshtap check`, through @kubernetes/client-node 1.x and a
 * kubeconfig. `pre`: can meshtap be installed here (API, version, permissions).
 * Otherwise: is the installed control plane healthy (webhook registration and caBundle,
 * endpoints, reachability through the API server, APIService Available, agent on every
 * node, sidecar versions). Each check is one result; one failing never stops the others,
 * except an unreachable API, which makes the rest meaningless.
 */
import type { KubeConfig } from '@kubernetes/client-node';
import type { CheckResult } from '../../common/index.js';
import { LABEL, versionLabel } from '../../injector/index.js';
import { NAMES } from '../install/names.js';
import { apiErrorCode, describeApiError } from './api-error.js';
import { checkCaBundle } from './ca-bundle.js';

/** Oldest Kubernetes with native sidecars on by default. */
export const MIN_KUBERNETES = { major: 1, minor: 29 } as const;

export interface ClusterCheckOptions {
  namespace: string;
  pre: boolean;
  /** For expiry checks (tests pin it). */
  now?: Date;
}

/** What `meshtap install` creates, for the permission checks. */
const INSTALL_PERMISSIONS: { group: string; resource: string; namespaced: boolean; namespace?: string }[] = [
  { group: '', resource: 'namespaces', namespaced: false },
  { group: '', resource: 'serviceaccounts', namespaced: true },
  { group: '', resource: 'secrets', namespaced: true },
  { group: '', resource: 'services', namespaced: true },
  { group: 'apps', resource: 'deployments', namespaced: true },
  { group: 'apps', resource: 'daemonsets', namespaced: true },
  { group: 'policy', resource: 'poddisruptionbudgets', namespaced: true },
  { group: 'rbac.authorization.k8s.io', resource: 'clusterroles', namespaced: false },
  { group: 'rbac.authorization.k8s.io', resource: 'clusterrolebindings', namespaced: false },
  { group: 'rbac.authorization.k8s.io', resource: 'rolebindings', namespaced: true, namespace: 'kube-system' },
  { group: 'admissionregistration.k8s.io', resource: 'mutatingwebhookconfigurations', namespaced: false },
  { group: 'apiregistration.k8s.io', resource: 'apiservices', namespaced: false },
];

/** Runs the checks; never throws for cluster problems (they are failed results). */
export async function runClusterChecks(kc: KubeConfig, opts: ClusterCheckOptions): Promise<CheckResult[]> {
  const k8s = await import('@kubernetes/client-node');
  const ns = opts.namespace;
  const now = opts.now ?? new Date();
  const results: CheckResult[] = [];
  const context = kc.getCurrentContext() || '(none)';

  let version: { major: string; minor: string; gitVersion: string };
  try {
    version = await kc.makeApiClient(k8s.VersionApi).getCode();
    results.push({ name: 'Kubernetes API reachable', ok: true, detail: `context ${context}, ${kc.getCurrentCluster()?.server ?? ''}` });
  } catch (err) {
    results.push({ name: 'Kubernetes API reachable', ok: false, detail: describeApiError(err), hint: 'check KUBECONFIG / --kubeconfig and --context, and that the cluster is up (kubectl version)' });
    return results;
  }
  const major = Number.parseInt(version.major, 10);
  const minor = Number.parseInt(version.minor, 10);
  const recent = major > MIN_KUBERNETES.major || (major === MIN_KUBERNETES.major && minor >= MIN_KUBERNETES.minor);
  results.push({
    name: `Kubernetes version is ${MIN_KUBERNETES.major}.${MIN_KUBERNETES.minor} or newer`,
    ok: recent,
    detail: version.gitVersion,
    hint: recent ? undefined : 'upgrade the cluster, or inject classic sidecars (meshtap.dev/native-sidecar: "false")',
  });

  if (opts.pre) {
    const authz = kc.makeApiClient(k8s.AuthorizationV1Api);
    for (const p of INSTALL_PERMISSIONS) {
      const where = p.namespaced ? (p.namespace ?? ns) : undefined;
      const name = `can create ${p.resource}${where ? ` in ${where}` : ''}`;
      try {
        const review = await authz.createSelfSubjectAccessReview({
          body: { apiVersion: 'authorization.k8s.io/v1', kind: 'SelfSubjectAccessReview', spec: { resourceAttributes: { verb: 'create', group: p.group, resource: p.resource, ...(where ? { namespace: where } : {}) } } },
        });
        const allowed = review.status?.allowed === true;
        results.push({ name, ok: allowed, detail: allowed ? undefined : (review.status?.reason || 'denied'), hint: allowed ? undefined : 'install needs cluster-admin (or an equivalent role)' });
      } catch (err) {
        results.push({ name, ok: false, detail: describeApiError(err), hint: 'could not ask the API server (SelfSubjectAccessReview)' });
      }
    }
    return results;
  }

  const reinstall = 'run: meshtap install | kubectl apply -f -';
  const core = kc.makeApiClient(k8s.CoreV1Api);
  const apps = kc.makeApiClient(k8s.AppsV1Api);
  const step = async (name: string, hint: string, fn: () => Promise<CheckResult | Omit<CheckResult, 'name'>>): Promise<void> => {
    try {
      const r = await fn();
      results.push({ name, ...r, ...(r.ok ? {} : { hint: r.hint ?? hint }) });
    } catch (err) {
      results.push({ name, ok: false, detail: apiErrorCode(err) === 404 ? 'not found' : describeApiError(err), hint });
    }
  };

  await step(`control plane namespace ${ns} exists`, reinstall, async () => {
    await core.readNamespace({ name: ns });
    return { ok: true };
  });

  let controlPlaneVersion: string | undefined;
  for (const name of [NAMES.webhook, NAMES.tapApi]) {
    await step(`${name} Deployment ready`, `kubectl -n ${ns} describe deployment ${name}`, async () => {
      const d = await apps.readNamespacedDeployment({ name, namespace: ns });
      controlPlaneVersion ??= d.metadata?.labels?.['app.kubernetes.io/version'];
      const want = d.spec?.replicas ?? 1;
      const ready = d.status?.readyReplicas ?? 0;
      return { ok: ready >= want && want > 0, detail: `${ready}/${want} ready` };
    });
  }

  let webhookService: { name?: string; namespace?: string; port?: number } | undefined;
  await step('webhook registered (MutatingWebhookConfiguration)', reinstall, async () => {
    const mwc = await kc.makeApiClient(k8s.AdmissionregistrationV1Api).readMutatingWebhookConfiguration({ name: NAMES.webhookConfig });
    const hook = mwc.webhooks?.find((w) => w.name === NAMES.webhookName);
    if (!hook) return { ok: false, detail: `no webhook named ${NAMES.webhookName}` };
    webhookService = hook.clientConfig.service;
    results.push(checkCaBundle('webhook caBundle valid and not expiring', hook.clientConfig.caBundle, now, reinstall));
    return { ok: true, detail: `failurePolicy ${hook.failurePolicy ?? 'Fail'}` };
  });

  const svcName = webhookService?.name ?? NAMES.webhook;
  const svcNs = webhookService?.namespace ?? ns;
  await step('webhook service has ready endpoints', `kubectl -n ${svcNs} get pods -l app.kubernetes.io/name=${NAMES.webhook}`, async () => {
    const slices = await kc.makeApiClient(k8s.DiscoveryV1Api).listNamespacedEndpointSlice({ namespace: svcNs, labelSelector: `kubernetes.io/service-name=${svcName}` });
    const ready = slices.items.flatMap((s) => s.endpoints ?? []).filter((e) => e.conditions?.ready !== false).length;
    return { ok: ready > 0, detail: `${ready} ready endpoint(s)` };
  });
  await step('webhook reachable through the API server', `kubectl -n ${svcNs} logs deploy/${NAMES.webhook}`, async () => {
    const body = await core.connectGetNamespacedServiceProxyWithPath({ name: `https:${svcName}:${webhookService?.port ?? 443}`, namespace: svcNs, path: 'healthz' });
    return { ok: String(body).trim() === 'ok', detail: `/healthz answered ${JSON.stringify(String(body).trim().slice(0, 40))}` };
  });

  await step(`APIService ${NAMES.apiService} Available`, `kubectl describe apiservice ${NAMES.apiService}`, async () => {
    const svc = await kc.makeApiClient(k8s.ApiregistrationV1Api).readAPIService({ name: NAMES.apiService });
    results.push(checkCaBundle('tap API caBundle valid and not expiring', svc.spec?.caBundle, now, reinstall));
    const available = svc.status?.conditions?.find((c) => c.type === 'Available');
    return { ok: available?.status === 'True', detail: available ? `${available.reason ?? ''}${available.message ? `: ${available.message}` : ''}` || available.status : 'no Available condition yet' };
  });

  await step('agent ready on every node', `kubectl -n ${ns} get pods -l app.kubernetes.io/name=${NAMES.agent} -o wide`, async () => {
    const ds = await apps.readNamespacedDaemonSet({ name: NAMES.agent, namespace: ns });
    const desired = ds.status?.desiredNumberScheduled ?? 0;
    const ready = ds.status?.numberReady ?? 0;
    return { ok: desired > 0 && ready === desired, detail: `${ready}/${desired} nodes ready` };
  });

  await step('sidecars run the control plane version', 'restart the listed workloads (kubectl rollout restart) to pick up the current proxy', async () => {
    const pods = await core.listPodForAllNamespaces({ labelSelector: `${LABEL.injected}=true` });
    if (!controlPlaneVersion) return { ok: false, detail: 'control plane version unknown (webhook Deployment missing)' };
    const want = versionLabel(controlPlaneVersion);
    const stale = pods.items.filter((p) => p.metadata?.labels?.[LABEL.proxyVersion] !== want);
    const listed = stale.slice(0, 5).map((p) => `${p.metadata?.namespace}/${p.metadata?.name} (${p.metadata?.labels?.[LABEL.proxyVersion] ?? '?'})`);
    return stale.length === 0
      ? { ok: true, detail: `${pods.items.length} meshed pod(s) at ${want}` }
      : { ok: false, detail: `${stale.length} of ${pods.items.length} meshed pod(s) not at ${want}: ${listed.join(', ')}${stale.length > 5 ? ', …' : ''}` };
  });
  return results;
}
