/**
 * The tap route: authenticate → authorize (`watch <resource>/tap`, plus `watch
 * <resource>/tap-bodies` for bodies or unredacted headers) → resolve the target to pods → sign
 * one grant per pod → fan out → stream NDJSON to the client. Who asks, whether they may and
 * which pods are meant come from the mode's TapApiAccess (local or Kubernetes).
 *
 * Authorization comes before resolution, as in kube-apiserver, so a user without permission
 * cannot learn which workloads exist. Each grant is addressed (`aud`) to the tap address it is
 * sent to. Taps are bounded in total and per user (`maxTapsPerUser`), so one user cannot take
 * every slot; both refusals are 429s naming their limit, counted by reason. The client's queue is its socket's write buffer: when more
 * than `clientQueueBytes` of live events are waiting, the client is dropped with a final `error`
 * line, never waited on; history (which comes as fast as recorders can be read) waits for it.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { makeGrantClaims, podQualifiedId, signGrant, type GrantKeyPair } from '../../tap-protocol/index.js';
import type { PeerNames } from '../edges/peer-names.js';
import type { TapApiAccess } from './access.js';
import { didYouMeanHint, nearestTarget } from './did-you-mean.js';
import { elsewhereHint, namespacesElsewhere } from './elsewhere.js';
import { parseLabelSelector, type LabelMatcher } from './label-selector.js';
import { isLive, startFanOut, splitRate, type FanOut, type FanOutPartEnd } from './fan-out.js';
import type { TapPod } from './access.js';
import type { TapRequest } from '../../tap-protocol/index.js';
import { readJsonBody, sendStatus } from './http-util.js';
import type { TapApiMetrics } from './metrics.js';
import { describeDenial, type RequestAttributes, type UserInfo } from './rbac.js';
import { parseTapRequest } from './tap-request.js';
import { formatTarget, type Target } from './targets.js';
import { kubeStatus, TAP_API_GROUP, TAP_API_PREFIX, TAP_BODIES_SUBRESOURCE, TAP_SUBRESOURCE, type TapApiLine } from './wire.js';

/** What the tap route needs from its server. */
export interface TapRouteContext {
  access: TapApiAccess;
  keys: GrantKeyPair;
  metrics: TapApiMetrics;
  limits: {
    maxBodyBytes: number;
    maxConcurrentTaps: number;
    maxTapsPerUser: number;
    clientQueueBytes: number;
    defaultMaxRps: number;
    maxRpsCap: number;
    grantTtlMs: number;
    /** Re-read a live tap's pods this often without a discovery watch (default MEMBERSHIP_POLL_MS). */
    membershipPollMs?: number;
  };
  /** Live taps, so the server can end them on shutdown. */
  active: Set<{ end(line: TapApiLine): void }>;
  /** Live taps per user name. */
  tapsByUser: Map<string, number>;
  /** Names the peers of events by address (Kubernetes: callers by pod IP), absent = as the sidecars sent them. */
  peerNames?: PeerNames;
}

/** Authenticates a request; on failure the 401 has been sent and undefined is returned. */
export function authenticate(ctx: Pick<TapRouteContext, 'access' | 'metrics'>, req: IncomingMessage, res: ServerResponse): UserInfo | undefined {
  const r = ctx.access.authenticator.authenticate(req);
  if (r.ok) return r.value;
  ctx.metrics.rejected.inc({ reason: 'unauthorized' });
  sendStatus(res, kubeStatus(401, `Unauthorized: ${r.error}`));
  return undefined;
}

/**
 * Checks one permission; on denial the 403 (naming it) has been sent and false is returned.
 * When no decision can be had (authorizer unreachable) a 503 is sent: never allow by default.
 */
export async function requirePermission(
  ctx: Pick<TapRouteContext, 'access' | 'metrics'>,
  res: ServerResponse,
  user: UserInfo,
  attrs: RequestAttributes,
  what: { kind: string; name?: string; hint?: string },
): Promise<boolean> {
  let d;
  try {
    d = await ctx.access.authorizer.authorize(user, attrs);
  } catch (err) {
    ctx.metrics.rejected.inc({ reason: 'authz-unavailable' });
    sendStatus(res, kubeStatus(503, `cannot check permissions right now: ${(err as Error).message}; try again`));
    return false;
  }
  if (d.allowed) return true;
  ctx.metrics.rejected.inc({ reason: 'forbidden' });
  const subject = attrs.isResourceRequest ? `${attrs.resource}.${attrs.apiGroup}${what.name ? ` "${what.name}"` : ''}` : 'path';
  const why = d.reason && d.reason !== 'no RBAC policy matched' ? `: ${d.reason}` : '';
  sendStatus(
    res,
    kubeStatus(403, `${subject} is forbidden: ${describeDenial(user, attrs)}${why}${what.hint ? ` (${what.hint})` : ''}`, {
      ...(what.name ? { name: what.name } : {}),
      group: TAP_API_GROUP,
      kind: what.kind,
    }),
  );
  return false;
}

/**
 * What a 404 for `target` adds: the namespaces where it has meshed pods (a wrong `-n`), else the
 * nearest name of its kind here (a typo: `deploy/wbe` → "did you mean deploy/web?").
 */
export async function notFoundHint(ctx: Pick<TapRouteContext, 'access'>, user: UserInfo, namespace: string, target: Target): Promise<string> {
  const elsewhere = elsewhereHint(await namespacesElsewhere(ctx.access, user, namespace, target));
  return elsewhere || didYouMeanHint(await nearestTarget(ctx.access, user, namespace, target));
}

/** Serves one tap request for `target` in `namespace`. */
export async function serveTap(ctx: TapRouteContext, req: IncomingMessage, res: ServerResponse, namespace: string, target: Target, labelSelector?: string): Promise<void> {
  const user = authenticate(ctx, req, res);
  if (!user) return;
  // `-l`: only the target's pods whose labels match (the permission is the target's, as for kubectl).
  let selected: LabelMatcher = () => true;
  if (labelSelector) {
    const sel = parseLabelSelector(labelSelector);
    if (!sel.ok) {
      ctx.metrics.rejected.inc({ reason: 'bad-request' });
      return sendStatus(res, kubeStatus(400, `bad labelSelector: ${sel.error}`));
    }
    selected = sel.value;
  }
  const pick = (pods: TapPod[]): TapPod[] => pods.filter((p) => selected(p.labels ?? {}));
  if (target.resource === 'namespaces' && target.name !== namespace) {
    // Authorization is asked in `namespace`; a namespace tap must not reach into another one.
    ctx.metrics.rejected.inc({ reason: 'bad-request' });
    return sendStatus(res, kubeStatus(400, `a namespace tap is ${TAP_API_PREFIX}/watch/namespaces/NS/tap; namespace "${target.name}" cannot be tapped from namespace "${namespace}"`));
  }
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
  if (!(await requirePermission(ctx, res, user, { ...base, subresource: TAP_SUBRESOURCE }, what))) return;
  const wantsMore = request.bodies || (request.revealHeaders?.length ?? 0) > 0;
  if (wantsMore && !(await requirePermission(ctx, res, user, { ...base, subresource: TAP_BODIES_SUBRESOURCE }, { ...what, hint: 'needed for bodies and unredacted headers' }))) {
    return;
  }
  let resolved;
  try {
    resolved = await ctx.access.discovery.resolve(namespace, target);
  } catch (err) {
    ctx.metrics.rejected.inc({ reason: 'discovery-unavailable' });
    return sendStatus(res, kubeStatus(503, `cannot find the pods of ${formatTarget(target)} right now: ${(err as Error).message}; try again`));
  }
  if (!resolved.ok) {
    ctx.metrics.rejected.inc({ reason: resolved.error.code === 404 ? 'not-found' : 'discovery-failed' });
    if (resolved.error.code !== 404) return sendStatus(res, resolved.error);
    const hint = await notFoundHint(ctx, user, namespace, target);
    return sendStatus(res, hint ? { ...resolved.error, message: `${resolved.error.message} in namespace "${namespace}"${hint}` } : resolved.error);
  }
  const pods = pick(resolved.value);
  if (pods.length === 0) {
    ctx.metrics.rejected.inc({ reason: 'not-found' });
    const where = `${target.resource === 'namespaces' ? `namespace "${target.name}"` : `${formatTarget(target)} in namespace "${namespace}"`}${labelSelector ? ` with labels ${labelSelector}` : ''}`;
    const hint = labelSelector ? '' : await notFoundHint(ctx, user, namespace, target);
    return sendStatus(res, kubeStatus(404, `no meshed pods found for ${where}: ${ctx.access.discovery.noPodsHint}${hint}`, what));
  }
  // Callers are named from the pod list: have one before the first event (bounded wait).
  await ctx.peerNames?.ready();
  if (res.destroyed) return; // the client left while we asked the API server
  const mine = ctx.tapsByUser.get(user.name) ?? 0;
  if (mine >= ctx.limits.maxTapsPerUser) {
    ctx.metrics.rejected.inc({ reason: 'too-many-taps-per-user' });
    return sendStatus(
      res,
      kubeStatus(429, `too many concurrent taps for user "${user.name}" (limit ${ctx.limits.maxTapsPerUser} per user, --max-taps-per-user); end one of your taps or try again later`),
    );
  }
  if (ctx.active.size >= ctx.limits.maxConcurrentTaps) {
    ctx.metrics.rejected.inc({ reason: 'too-many-taps' });
    return sendStatus(res, kubeStatus(429, `too many concurrent taps (limit ${ctx.limits.maxConcurrentTaps}); try again later`));
  }

  const totalRps = Math.min(request.maxRps ?? ctx.limits.defaultMaxRps, ctx.limits.maxRpsCap);
  const perPodRps = splitRate(totalRps, pods.length);
  const now = Date.now();
  const makePart = (p: TapPod, forRequest: TapRequest) => {
    const at = Date.now();
    const claims = makeGrantClaims(
      {
        sub: user.name,
        pod: p.pod,
        namespace: p.namespace,
        // Only the sidecar we dial may use this grant (a grant is no bearer ticket to others).
        aud: p.tapAddress,
        ...(p.workload ? { workload: formatTarget(p.workload) } : {}),
        bodies: request.bodies,
        revealHeaders: request.revealHeaders ?? [],
        matches: request.matches,
        maxRps: perPodRps,
        exp: at + ctx.limits.grantTtlMs,
      },
      at,
    );
    ctx.metrics.grantsIssued.inc();
    return { pod: p.pod, address: p.tapAddress, request: { ...forRequest, maxRps: perPodRps, grant: signGrant(claims, ctx.keys.privateKey) } };
  };
  const parts = pods.map((p) => makePart(p, request));
  // Pods that join later get the live tap only: their history was not asked for when the tap began.
  const { sinceMs: _s, last: _l, follow: _f, ...liveRequest } = request;

  res.writeHead(200, { 'content-type': 'application/x-ndjson', 'cache-control': 'no-store', 'x-content-type-options': 'nosniff' });
  res.flushHeaders();
  ctx.metrics.tapsStarted.inc();
  ctx.metrics.activeTaps.inc();

  // Lines go out a batch at a time: those emitted in one turn of the event loop (a sidecar's
  // batch, mostly) in one write. A write per line was most of the hop's cost: a syscall and, on
  // the CLI's side, a wake-up and a chunk per event.
  let held = '';
  let writeScheduled = false;
  const writeHeld = (): void => {
    writeScheduled = false;
    if (held === '') return;
    const text = held;
    held = '';
    if (!res.destroyed) res.write(text);
  };
  let finished = false;
  let fan: FanOut | undefined;
  // Until the history ends, the client is waited for (FanOutOptions.room), never dropped: the
  // sidecars send their recorders as fast as they can read them, so a history of a few MiB fills
  // any queue whatever the client's pace, and --max-rps (the advice the drop gives) does not
  // limit history. Live events are dropped as before: a tap must not hold its sidecars back.
  let inHistory = request.sinceMs !== undefined || request.last !== undefined;
  const room = (): Promise<void> | undefined => {
    // Half the bound: the history's last lines then leave room for the first live ones.
    if (!inHistory || finished || res.destroyed || res.writableLength + held.length <= ctx.limits.clientQueueBytes / 2) return undefined;
    writeHeld();
    return new Promise<void>((resolve) => {
      const done = (): void => {
        res.off('drain', done);
        res.off('close', done);
        resolve();
      };
      res.on('drain', done);
      res.on('close', done);
    });
  };
  const entry = {
    end(line?: TapApiLine): void {
      if (finished) return;
      finished = true;
      ctx.active.delete(entry);
      const left = (ctx.tapsByUser.get(user.name) ?? 1) - 1;
      if (left > 0) ctx.tapsByUser.set(user.name, left);
      else ctx.tapsByUser.delete(user.name);
      ctx.metrics.activeTaps.dec();
      fan?.cancel();
      membership?.stop();
      writeHeld();
      if (line && !res.destroyed) res.write(JSON.stringify(line) + '\n');
      res.end();
      // A client that never reads would keep the final bytes (and the socket) forever.
      const t = setTimeout(() => res.destroy(), 10_000);
      t.unref();
      res.once('close', () => clearTimeout(t));
    },
  };
  ctx.active.add(entry);
  ctx.tapsByUser.set(user.name, mine + 1);
  let membership: { stop(): void } | undefined;
  res.once('close', () => entry.end()); // client went away: cancel every sidecar stream
  fan = startFanOut({
    parts,
    emit(line) {
      if (finished) return;
      // What waits for the client: the socket's buffer and the lines held for the next write
      // (counted in UTF-16 units, close enough for a bound).
      if (line.type === 'history-end') inHistory = false;
      if (!inHistory && res.writableLength + held.length > ctx.limits.clientQueueBytes) {
        ctx.metrics.slowClientsDropped.inc();
        entry.end({
          type: 'error',
          code: 'MT_TAP_SLOW_CLIENT',
          message: `tap stream dropped: the client read too slowly (more than ${ctx.limits.clientQueueBytes} bytes queued); narrow the filters or lower --max-rps`,
        });
        return;
      }
      if (line.type === 'event') {
        ctx.peerNames?.name(line.event);
        // Every pod numbers its own connections: ids are unique in a stream of several only with the pod.
        line.event.id = podQualifiedId(line.event);
      }
      held += JSON.stringify(line) + '\n';
      if (held.length >= MAX_HELD_CHARS) writeHeld();
      else if (!writeScheduled) {
        writeScheduled = true;
        setImmediate(writeHeld);
      }
    },
    onDone: (ends) => entry.end(endLine(request, ends)),
    room,
  });
  if (finished) fan.cancel();
  else if (isLive(request)) {
    const started = fan;
    membership = followMembership(ctx, namespace, target, (all) => {
      const now = pick(all);
      const byName = new Map(now.map((p) => [p.pod, p]));
      started.update(
        now.map((p) => ({ pod: p.pod, address: p.tapAddress })),
        (p) => makePart(byName.get(p.pod)!, liveRequest),
      );
    });
  }
}

/** Most characters of lines held for one write to the client. */
const MAX_HELD_CHARS = 64 * 1024;

/** How often a live tap re-reads its target's pods when discovery cannot say when they change (local mode). */
export const MEMBERSHIP_POLL_MS = 2_000;

/**
 * Calls `onPods` with the target's pods whenever they may have changed: on each discovery watch
 * event (Kubernetes: a pod watch; debounced), or every MEMBERSHIP_POLL_MS (local registry, in
 * memory). A failed lookup keeps the current pods (the next one may succeed).
 */
function followMembership(ctx: TapRouteContext, namespace: string, target: Target, onPods: (pods: TapPod[]) => void): { stop(): void } {
  let stopped = false;
  let pending: NodeJS.Timeout | undefined;
  const check = async (): Promise<void> => {
    try {
      const r = await ctx.access.discovery.resolve(namespace, target);
      if (!stopped && r.ok) onPods(r.value);
    } catch {
      // keep tapping the pods we have
    }
  };
  const soon = (): void => {
    ctx.peerNames?.invalidate();
    if (stopped || pending) return;
    pending = setTimeout(() => {
      pending = undefined;
      void check();
    }, 200);
  };
  const watch = ctx.access.discovery.watch?.(namespace, soon);
  const poll = watch ? undefined : setInterval(() => void check(), ctx.limits.membershipPollMs ?? MEMBERSHIP_POLL_MS);
  poll?.unref();
  return {
    stop() {
      stopped = true;
      if (pending) clearTimeout(pending);
      if (poll) clearInterval(poll);
      watch?.stop();
    },
  };
}

/**
 * The last line of a tap whose every pod stream ended: nothing when that is how it should end
 * (history only, all read), else an error that names each pod, its sidecar's tap address and
 * why (so the user reads "sidecar at 10.0.0.7:4190 refused the grant", not "the tap API went
 * away" while the tap API is up).
 */
export function endLine(request: { last?: number; sinceMs?: number; follow?: boolean }, ends: FanOutPartEnd[]): TapApiLine | undefined {
  const failed = ends.filter((e) => e.error !== undefined);
  if (!isLive(request) && failed.length === 0) return undefined;
  const what = ends.map((e) => `pod ${e.pod} (sidecar tap ${e.address}): ${e.error ?? 'the sidecar ended the stream'}`).join('; ');
  return { type: 'error', code: 'MT_TAP_PODS_ENDED', message: `the tap ended because every pod's stream ended: ${what}` };
}
