/**
 * The tap route: authenticate → authorize (`watch <resource>/tap`, plus `watch
 * <resource>/tap-bodies` for bodies or unredacted headers) → resolve the target to registered
 * pods → sign one grant per pod → fan out → stream NDJSON to the client.
 *
 * Authorization comes before resolution, as in kube-apiserver, so a user without permission
 * cannot learn which workloads exist. The client's queue is its socket's write buffer: when more
 * than `clientQueueBytes` are waiting, the client is dropped with a final `error` line, never
 * waited on.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { makeGrantClaims, signGrant, type GrantKeyPair } from '../../common/index.js';
import { startFanOut, splitRate, type FanOut } from './fan-out.js';
import { bearerToken, readJsonBody, sendStatus } from './http-util.js';
import type { TapApiMetrics } from './metrics.js';
import { authorize, describeDenial, withImplicitGroups, type RbacPolicy, type RequestAttributes, type UserInfo } from './rbac.js';
import { resolveTarget, type SidecarRegistry } from './registry.js';
import { parseTapRequest } from './tap-request.js';
import { formatTarget, type Target } from './targets.js';
import type { TokenAuthenticator } from './tokens.js';
import { kubeStatus, TAP_API_GROUP, TAP_BODIES_SUBRESOURCE, TAP_SUBRESOURCE, type TapApiLine } from './wire.js';

/** What the tap route needs from its server. */
export interface TapRouteContext {
  tokens: TokenAuthenticator;
  policy: () => RbacPolicy;
  registry: SidecarRegistry;
  keys: GrantKeyPair;
  metrics: TapApiMetrics;
  limits: {
    maxBodyBytes: number;
    maxConcurrentTaps: number;
    clientQueueBytes: number;
    defaultMaxRps: number;
    maxRpsCap: number;
    grantTtlMs: number;
  };
  /** Live taps, so the server can end them on shutdown. */
  active: Set<{ end(line: TapApiLine): void }>;
}

/** Authenticates a request; on failure the 401 has been sent and undefined is returned. */
export function authenticate(ctx: Pick<TapRouteContext, 'tokens' | 'metrics'>, req: IncomingMessage, res: ServerResponse): UserInfo | undefined {
  const token = bearerToken(req);
  const user = token === undefined ? undefined : ctx.tokens.authenticate(token);
  if (!user) {
    ctx.metrics.rejected.inc({ reason: 'unauthorized' });
    const why = token === undefined ? 'no bearer token; pass --token or set MESHTAP_TOKEN' : 'the bearer token is not in the tap API token file';
    sendStatus(res, kubeStatus(401, `Unauthorized: ${why}`));
    return undefined;
  }
  return withImplicitGroups(user);
}

/** Checks one permission; on denial the 403 (naming it) has been sent and false is returned. */
export function requirePermission(
  ctx: Pick<TapRouteContext, 'policy' | 'metrics'>,
  res: ServerResponse,
  user: UserInfo,
  attrs: RequestAttributes,
  what: { kind: string; name?: string; hint?: string },
): boolean {
  const d = authorize(ctx.policy(), user, attrs);
  if (d.allowed) return true;
  ctx.metrics.rejected.inc({ reason: 'forbidden' });
  const subject = attrs.isResourceRequest ? `${attrs.resource}.${attrs.apiGroup}${what.name ? ` "${what.name}"` : ''}` : 'path';
  sendStatus(
    res,
    kubeStatus(403, `${subject} is forbidden: ${describeDenial(user, attrs)}${what.hint ? ` (${what.hint})` : ''}`, {
      ...(what.name ? { name: what.name } : {}),
      group: TAP_API_GROUP,
      kind: what.kind,
    }),
  );
  return false;
}

/** Serves one tap request for `target` in `namespace`. */
export async function serveTap(ctx: TapRouteContext, req: IncomingMessage, res: ServerResponse, namespace: string, target: Target): Promise<void> {
  const user = authenticate(ctx, req, res);
  if (!user) return;
  const body = await readJsonBody(req, ctx.limits.maxBodyBytes);
  if (!body.ok) {
    ctx.metrics.rejected.inc({ reason: body.error.code === 413 ? 'body-too-large' : 'bad-request' });
    return sendStatus(res, body.error);
  }
  const parsed = parseTapRequest(body.value);
  if (!parsed.ok) {
    ctx.metrics.rejected.inc({ reason: 'bad-request' });
    return sendStatus(res, kubeStatus(400, `bad tap request: ${parsed.error}`));
  }
  const request = parsed.value;
  const base = { isResourceRequest: true as const, verb: 'watch', apiGroup: TAP_API_GROUP, resource: target.resource, name: target.name, namespace };
  const what = { kind: target.resource, name: target.name };
  if (!requirePermission(ctx, res, user, { ...base, subresource: TAP_SUBRESOURCE }, what)) return;
  const wantsMore = request.bodies || (request.revealHeaders?.length ?? 0) > 0;
  if (wantsMore && !requirePermission(ctx, res, user, { ...base, subresource: TAP_BODIES_SUBRESOURCE }, { ...what, hint: 'needed for bodies and unredacted headers' })) {
    return;
  }
  const pods = resolveTarget(ctx.registry, namespace, target);
  if (pods.length === 0) {
    ctx.metrics.rejected.inc({ reason: 'not-found' });
    const where = target.resource === 'namespaces' ? `namespace "${target.name}"` : `${formatTarget(target)} in namespace "${namespace}"`;
    return sendStatus(res, kubeStatus(404, `no meshed pods found for ${where}: unknown target, or its sidecars have not registered with this tap API`, what));
  }
  if (ctx.active.size >= ctx.limits.maxConcurrentTaps) {
    ctx.metrics.rejected.inc({ reason: 'too-many-taps' });
    return sendStatus(res, kubeStatus(429, `too many concurrent taps (limit ${ctx.limits.maxConcurrentTaps}); try again later`));
  }

  const totalRps = Math.min(request.maxRps ?? ctx.limits.defaultMaxRps, ctx.limits.maxRpsCap);
  const perPodRps = splitRate(totalRps, pods.length);
  const now = Date.now();
  const parts = pods.map((p) => {
    const claims = makeGrantClaims(
      {
        sub: user.name,
        pod: p.pod,
        namespace: p.namespace,
        ...(p.workload ? { workload: formatTarget(p.workload) } : {}),
        bodies: request.bodies,
        revealHeaders: request.revealHeaders ?? [],
        matches: request.matches,
        maxRps: perPodRps,
        exp: now + ctx.limits.grantTtlMs,
      },
      now,
    );
    ctx.metrics.grantsIssued.inc();
    return { pod: p.pod, address: p.tapAddress, request: { ...request, maxRps: perPodRps, grant: signGrant(claims, ctx.keys.privateKey) } };
  });

  res.writeHead(200, { 'content-type': 'application/x-ndjson', 'cache-control': 'no-store', 'x-content-type-options': 'nosniff' });
  res.flushHeaders();
  ctx.metrics.tapsStarted.inc();
  ctx.metrics.activeTaps.inc();

  let finished = false;
  let fan: FanOut | undefined;
  const entry = {
    end(line?: TapApiLine): void {
      if (finished) return;
      finished = true;
      ctx.active.delete(entry);
      ctx.metrics.activeTaps.dec();
      fan?.cancel();
      if (line && !res.destroyed) res.write(JSON.stringify(line) + '\n');
      res.end();
      // A client that never reads would keep the final bytes (and the socket) forever.
      const t = setTimeout(() => res.destroy(), 10_000);
      t.unref();
      res.once('close', () => clearTimeout(t));
    },
  };
  ctx.active.add(entry);
  res.once('close', () => entry.end()); // client went away: cancel every sidecar stream
  fan = startFanOut({
    parts,
    emit(line) {
      if (finished) return;
      if (res.writableLength > ctx.limits.clientQueueBytes) {
        ctx.metrics.slowClientsDropped.inc();
        entry.end({
          type: 'error',
          code: 'MT_TAP_SLOW_CLIENT',
          message: `tap stream dropped: the client read too slowly (more than ${ctx.limits.clientQueueBytes} bytes queued); narrow the filters or lower --max-rps`,
        });
        return;
      }
      res.write(JSON.stringify(line) + '\n');
    },
    onDone: () => entry.end(),
  });
  if (finished) fan.cancel();
}
