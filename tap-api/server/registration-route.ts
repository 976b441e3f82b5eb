/**
 * Sidecar registration routes of local mode: `POST /v1/sidecars` (register / heartbeat) and
 * `DELETE /v1/sidecars/NS/POD` (goodbye). Both need the registration token
 * (registration-token.ts) unless the server runs with insecure registration; the check comes
 * before the body is read, so an unauthenticated caller learns nothing and costs little.
 *
 * A live registration belongs to the sidecar instance that made it (registry.ts): a register or
 * goodbye for the same pod from another instance is a 409 that names the holder, counted as
 * `registration-conflict` and logged, so two sidecars claiming one pod (a takeover attempt, or
 * two local replicas given the same --pod) are refused loudly on both ends, never flip-flop.
 *
 * Kubernetes mode has no registration: pods come from the API server, so both routes answer
 * 404 there (nothing to hijack, and no unauthenticated write left on an exposed server).
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { createLogger } from '../../common/index.js';
import { readJsonBody, sendJson, sendStatus } from './http-util.js';
import type { TapApiMetrics } from './metrics.js';
import type { RegistrationCheck } from './registration-token.js';
import { parseRegistration, type RegistrationConflict, type SidecarRegistry } from './registry.js';
import { formatTarget } from './targets.js';
import { kubeStatus, type RegistrationPeer, type RegistrationReply } from './wire.js';

/** What the registration routes need from their server. */
export interface RegistrationRouteContext {
  /** Local mode's registry; undefined in Kubernetes mode (routes disabled). */
  registry: SidecarRegistry | undefined;
  check: RegistrationCheck;
  metrics: TapApiMetrics;
  maxBodyBytes: number;
  reply: RegistrationReply;
  log: ReturnType<typeof createLogger>;
}

/** The header a sidecar's goodbye carries its instance key in. */
export const INSTANCE_KEY_HEADER = 'x-meshtap-instance-key';

const KUBERNETES_MODE =
  'sidecars do not register with a Kubernetes-mode tap API: pods come from the API server (give sidecars --tap-public-key, not --tap-api)';

/** Handles `/v1/sidecars` routes; false when `method path` is not one of them. */
export async function serveRegistration(ctx: RegistrationRouteContext, req: IncomingMessage, res: ServerResponse, method: string, path: string): Promise<boolean> {
  const forget = /^\/v1\/sidecars\/([^/]+)\/([^/]+)$/.exec(path);
  const isRegister = path === '/v1/sidecars' && method === 'POST';
  if (!isRegister && !(forget && method === 'DELETE')) return false;
  if (!ctx.registry) {
    ctx.metrics.rejected.inc({ reason: 'not-found' });
    sendStatus(res, kubeStatus(404, KUBERNETES_MODE));
    return true;
  }
  const auth = ctx.check(req);
  if (!auth.ok) {
    ctx.metrics.rejected.inc({ reason: 'registration-unauthorized' });
    ctx.log.warn('sidecar registration refused', { reason: auth.error, remote: req.socket.remoteAddress });
    sendStatus(res, kubeStatus(401, `Unauthorized: ${auth.error}`));
    return true;
  }
  if (forget) {
    const namespace = decodeURIComponent(forget[1]!);
    const pod = decodeURIComponent(forget[2]!);
    const key = req.headers[INSTANCE_KEY_HEADER];
    if (typeof key !== 'string' || key === '') {
      ctx.metrics.rejected.inc({ reason: 'bad-request' });
      sendStatus(res, kubeStatus(400, `a goodbye needs the registering sidecar's instance key (${INSTANCE_KEY_HEADER} header)`));
      return true;
    }
    const r = ctx.registry.forget(namespace, pod, key);
    if (!r.ok) {
      refuseConflict(ctx, res, req, namespace, pod, r.error, 'forget');
      return true;
    }
    sendJson(res, 200, { ok: true });
    return true;
  }
  await register(ctx, ctx.registry, req, res);
  return true;
}

async function register(ctx: RegistrationRouteContext, registry: SidecarRegistry, req: IncomingMessage, res: ServerResponse): Promise<void> {
  const body = await readJsonBody(req, ctx.maxBodyBytes);
  if (!body.ok) {
    ctx.metrics.rejected.inc({ reason: body.error.code === 413 ? 'body-too-large' : 'bad-request' });
    return sendStatus(res, body.error);
  }
  const reg = parseRegistration(body.value);
  if (!reg.ok) {
    ctx.metrics.rejected.inc({ reason: 'bad-request' });
    return sendStatus(res, kubeStatus(400, `bad registration: ${reg.error}`));
  }
  const r = registry.register(reg.value);
  if (!r.ok) {
    if (r.error !== 'full') return refuseConflict(ctx, res, req, reg.value.namespace, reg.value.pod, r.error, 'register', reg.value.tapAddress);
    ctx.metrics.rejected.inc({ reason: 'registry-full' });
    return sendStatus(res, kubeStatus(429, `sidecar registry is full (${registry.size} sidecars); raise --max-sidecars`));
  }
  ctx.metrics.registrations.inc({ kind: r.value.isNew ? 'new' : 'heartbeat' });
  if (r.value.isNew) ctx.log.info('sidecar registered', { namespace: reg.value.namespace, pod: reg.value.pod, workload: reg.value.workload, tapAddress: reg.value.tapAddress });
  sendJson(res, 200, { ...ctx.reply, peers: peersOf(registry, reg.value.namespace, reg.value.pod) });
}

/** A 409 naming the live registration that stays, logged and counted. */
function refuseConflict(
  ctx: RegistrationRouteContext,
  res: ServerResponse,
  req: IncomingMessage,
  namespace: string,
  pod: string,
  conflict: RegistrationConflict,
  what: 'register' | 'forget',
  tapAddress?: string,
): void {
  const holder = conflict.holder;
  ctx.metrics.rejected.inc({ reason: 'registration-conflict' });
  ctx.log.warn(`refused to ${what} pod ${namespace}/${pod}: another live sidecar instance holds it`, {
    namespace,
    pod,
    holderTapAddress: holder.tapAddress,
    ...(tapAddress ? { refusedTapAddress: tapAddress } : {}),
    remote: req.socket.remoteAddress,
  });
  const ageS = Math.max(0, Math.round((Date.now() - holder.lastSeenMs) / 1000));
  const message =
    what === 'register'
      ? `pod ${namespace}/${pod} is already registered by another live sidecar (tap address ${holder.tapAddress}, last heartbeat ${ageS}s ago): ` +
        `give each sidecar its own pod name (--pod or MESHTAP_POD_NAME), or stop the other one; a restarted sidecar is accepted once the old registration expires or said goodbye`
      : `pod ${namespace}/${pod} is registered by another sidecar instance (tap address ${holder.tapAddress}); only that sidecar can remove its registration`;
  sendStatus(res, kubeStatus(409, message, { name: pod, kind: 'sidecars' }));
}

/** Most peers one reply lists (the reply stays small however large the mesh). */
export const MAX_PEERS_PER_REPLY = 1000;

/**
 * The other sidecars' inbound addresses and source IPs with their workloads: a sidecar names the
 * destination workload of its outbound traffic (`tap --to deploy/x`) and the caller of its
 * inbound traffic with them. An address two sidecars claim names neither. Only registered
 * (token-holding) sidecars get this list.
 */
function peersOf(registry: SidecarRegistry, namespace: string, pod: string): RegistrationPeer[] {
  const claims = new Map<string, RegistrationPeer | null>();
  for (const r of registry.list()) {
    const isSelf = r.namespace === namespace && r.pod === pod;
    for (const address of [...(r.inboundAddresses ?? []), ...(r.sourceAddresses ?? [])]) {
      const peer = { address, namespace: r.namespace, ...(r.workload ? { workload: formatTarget(r.workload) } : {}) };
      claims.set(address, claims.has(address) ? null : isSelf ? null : peer);
    }
  }
  const out: RegistrationPeer[] = [];
  for (const p of claims.values()) {
    if (!p) continue;
    if (out.length >= MAX_PEERS_PER_REPLY) break;
    out.push(p);
  }
  return out;
}
