/**
 * Makes the pins on this node match the meshed pods the API server says run here.
 *
 * Level-triggered: every event only says "look at pod <uid> again"; the work is always the
 * same idempotent step (attach adopting valid pins, or detach). So a dropped update, a
 * restart of the agent or a missed event is repaired by the next look: after each list and
 * every `resyncMs` every known pod and every `pod-*` pin is looked at again.
 *
 * A pod is attached only once its sidecar listens on the outbound port: redirecting
 * connects to a port nobody listens on would break the application (traffic first).
 * Until then, and after any failure, the pod is retried with capped backoff.
 * Bounded: the work queue (`maxQueue`, drop + metric; the resync repairs) and the pods
 * remembered (`maxPods`).
 */
import { setImmediate as yieldToLoop } from 'node:timers/promises';
import { existsSync } from 'node:fs';
import { createLogger } from '../../common/index.js';
import { attachCgroupScope, attachInbound, detachScope, hasScope, listScopes, type ScopeOptions } from '../scope.js';
import type { AgentMetrics } from './metrics.js';
import { findSidecarListener, pidsInCgroupTree, podNetns, scanPodCgroups } from './pod-cgroup.js';
import { isMeshedPod, podScopeSettings, type AgentPod } from './pod-settings.js';

const log = createLogger('bpf.agent');
const UID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
const SCOPE_PREFIX = 'pod-';

/** The sidecar's ports inside every pod (DESIGN §10). */
export interface SidecarPorts {
  outbound: number;
  inbound: number;
  admin: number;
  tap: number;
}

/** How the reconciler finds pods and what it writes. */
export interface ReconcilerOptions {
  cgroupRoot: string;
  procRoot: string;
  ports: SidecarPorts;
  defaultSidecarUid: number;
  metrics: AgentMetrics;
  maxQueue?: number;
  maxPods?: number;
  retryInitialMs?: number;
  retryMaxMs?: number;
}

/** What the agent did for one pod, last time it looked. */
export interface PodStatus {
  uid: string;
  pod: string;
  scope: string;
  state: 'attached' | 'pending';
  inbound: boolean;
  cgroupPath?: string;
  reason?: string;
}

/** The reconciler's face: feed it pods, it converges. */
export interface Reconciler {
  replaceAll(pods: AgentPod[]): void;
  upsert(pod: AgentPod): void;
  remove(pod: AgentPod): void;
  /** Looks at every known pod and pin again. */
  resync(): void;
  /** Resolves once the queue is empty. */
  whenIdle(): Promise<void>;
  status(): PodStatus[];
  close(): void;
}

/** The scope (pin directory) name of a pod. */
export function podScopeName(uid: string): string {
  return `${SCOPE_PREFIX}${uid}`;
}

interface Tracked {
  status: PodStatus;
  retryMs: number;
  retryTimer?: NodeJS.Timeout;
  warnings: string;
}

/** Creates a reconciler; nothing happens until pods are fed to it. */
export function createReconciler(opts: ReconcilerOptions): Reconciler {
  const maxQueue = opts.maxQueue ?? 4096;
  const maxPods = opts.maxPods ?? 10_000;
  const retryInitialMs = opts.retryInitialMs ?? 250;
  const retryMaxMs = opts.retryMaxMs ?? 10_000;
  const m = opts.metrics;
  let desired = new Map<string, AgentPod>();
  const tracked = new Map<string, Tracked>();
  const queue = new Set<string>();
  let cgroups = new Map<string, string>();
  let cgroupsFresh = false;
  let draining = false;
  let closed = false;
  let idleWaiters: (() => void)[] = [];

  const uidOf = (pod: AgentPod): string | undefined => {
    const uid = pod.metadata?.uid?.toLowerCase();
    if (uid && UID.test(uid)) return uid;
    log.warn('pod without a valid metadata.uid ignored', { pod: `${pod.metadata?.namespace}/${pod.metadata?.name}` });
    return undefined;
  };

  function enqueue(uid: string): void {
    if (closed || queue.has(uid)) return;
    if (queue.size >= maxQueue) {
      m.queueDropped.inc();
      return;
    }
    queue.add(uid);
    if (!draining) void drain();
  }

  async function drain(): Promise<void> {
    draining = true;
    cgroupsFresh = false;
    try {
      while (queue.size > 0 && !closed) {
        const uid = queue.values().next().value as string;
        queue.delete(uid);
        try {
          reconcile(uid);
        } catch (err) {
          log.error('reconcile failed', { uid, error: (err as Error).message });
        }
        await yieldToLoop();
      }
    } finally {
      draining = false;
      updateGauges();
      const waiters = idleWaiters;
      idleWaiters = [];
      for (const w of waiters) w();
    }
  }

  function lookupCgroup(uid: string): string | undefined {
    let path = cgroups.get(uid);
    if ((!path || !existsSync(path)) && !cgroupsFresh) {
      cgroups = scanPodCgroups(opts.cgroupRoot);
      cgroupsFresh = true;
      path = cgroups.get(uid);
    }
    return path;
  }

  function pending(t: Tracked, reason: string, stage?: string, err?: unknown): void {
    if (t.status.reason !== reason) log.info('pod pending', { pod: t.status.pod, reason, error: err ? (err as Error).message : undefined });
    if (stage) m.attachErrors.inc({ stage });
    t.status.state = 'pending';
    t.status.reason = reason;
    clearTimeout(t.retryTimer);
    t.retryTimer = setTimeout(() => enqueue(t.status.uid), t.retryMs);
    t.retryTimer.unref();
    t.retryMs = Math.min(retryMaxMs, t.retryMs * 2);
  }

  function forget(uid: string): void {
    const t = tracked.get(uid);
    if (t) clearTimeout(t.retryTimer);
    tracked.delete(uid);
    const scope = podScopeName(uid);
    if (hasScope(scope)) {
      try {
        detachScope(scope);
        m.detaches.inc();
        log.info('detached', { scope, pod: t?.status.pod });
      } catch (err) {
        m.attachErrors.inc({ stage: 'detach' });
        log.error('cannot remove pins', { scope, error: (err as Error).message });
      }
    }
  }

  function reconcile(uid: string): void {
    const pod = desired.get(uid);
    if (!pod || !isMeshedPod(pod)) return forget(uid);
    const scope = podScopeName(uid);
    const name = `${pod.metadata?.namespace ?? ''}/${pod.metadata?.name ?? ''}`;
    let t = tracked.get(uid);
    if (!t) {
      t = { status: { uid, pod: name, scope, state: 'pending', inbound: false }, retryMs: retryInitialMs, warnings: '' };
      tracked.set(uid, t);
    }
    const { settings, warnings } = podScopeSettings(pod, opts.defaultSidecarUid);
    if (warnings.join('\n') !== t.warnings) {
      for (const w of warnings) log.warn(w, { pod: name });
      m.annotationWarnings.inc(warnings.length);
      t.warnings = warnings.join('\n');
    }

    const cgroupPath = lookupCgroup(uid);
    if (!cgroupPath) return pending(t, 'pod cgroup not found yet');
    t.status.cgroupPath = cgroupPath;
    const pids = pidsInCgroupTree(cgroupPath);
    const netns = podNetns(pids, opts.procRoot);
    if (!netns) return pending(t, 'no process in the pod cgroup yet');
    const { ports } = opts;
    if (!findSidecarListener(pids, ports.outbound, settings.sidecarUid, opts.procRoot)) {
      return pending(t, `sidecar (uid ${settings.sidecarUid}) not listening on port ${ports.outbound} yet`);
    }
    const inboundListener = findSidecarListener(pids, ports.inbound, settings.sidecarUid, opts.procRoot);
    const scopeOpts: ScopeOptions = {
      sidecarUid: settings.sidecarUid,
      outboundPort: ports.outbound,
      inboundPort: ports.inbound,
      adminPort: ports.admin,
      tapPort: ports.tap,
      inbound: inboundListener !== undefined,
      skipOutboundPorts: settings.skipOutboundPorts,
      skipInboundPorts: settings.skipInboundPorts,
      skipCidrs: settings.skipCidrs,
    };
    try {
      const r = attachCgroupScope(scope, cgroupPath, scopeOpts);
      if (r.attached.length > 0) m.attaches.inc({ how: 'attached' });
      else if (t.status.state !== 'attached') m.attaches.inc({ how: 'adopted' });
      if (t.status.state !== 'attached') log.info('attached', { scope, pod: name, cgroup: cgroupPath, adopted: r.adopted.length, attached: r.attached.length });
    } catch (err) {
      return pending(t, 'attaching the cgroup programs failed', 'cgroup', err);
    }
    if (inboundListener) {
      try {
        attachInbound(scope, netns.path, inboundListener);
      } catch (err) {
        t.status.inbound = false;
        return pending(t, 'attaching sk_lookup failed', 'inbound', err);
      }
    }
    t.status.inbound = inboundListener !== undefined;
    if (!inboundListener) return pending(t, `sidecar not listening on inbound port ${ports.inbound} yet (outbound attached)`);
    clearTimeout(t.retryTimer);
    t.retryMs = retryInitialMs;
    t.status.state = 'attached';
    t.status.reason = undefined;
  }

  function updateGauges(): void {
    let attached = 0;
    let inbound = 0;
    let waiting = 0;
    for (const t of tracked.values()) {
      if (t.status.cgroupPath && hasScope(t.status.scope)) attached++;
      if (t.status.inbound) inbound++;
      if (t.status.state === 'pending') waiting++;
    }
    m.podsAttached.set(attached);
    m.podsInbound.set(inbound);
    m.podsPending.set(waiting);
  }

  function pinnedPods(): string[] {
    return listScopes()
      .filter((s) => s.startsWith(SCOPE_PREFIX))
      .map((s) => s.slice(SCOPE_PREFIX.length));
  }

  return {
    replaceAll(pods) {
      const next = new Map<string, AgentPod>();
      for (const pod of pods) {
        const uid = uidOf(pod);
        if (uid && next.size < maxPods) next.set(uid, pod);
      }
      if (next.size >= maxPods) log.warn('too many pods; the rest are ignored', { maxPods });
      const before = [...desired.keys(), ...tracked.keys()];
      desired = next;
      for (const uid of new Set([...next.keys(), ...before, ...pinnedPods()])) enqueue(uid);
    },
    upsert(pod) {
      const uid = uidOf(pod);
      if (!uid) return;
      if (!desired.has(uid) && desired.size >= maxPods) {
        m.queueDropped.inc();
        return;
      }
      desired.set(uid, pod);
      enqueue(uid);
    },
    remove(pod) {
      const uid = uidOf(pod);
      if (!uid) return;
      desired.delete(uid);
      enqueue(uid);
    },
    resync() {
      for (const uid of new Set([...desired.keys(), ...tracked.keys(), ...pinnedPods()])) enqueue(uid);
    },
    whenIdle() {
      if (!draining && queue.size === 0) return Promise.resolve();
      return new Promise((resolve) => idleWaiters.push(resolve));
    },
    status() {
      return [...tracked.values()].map((t) => ({ ...t.status }));
    },
    close() {
      closed = true;
      queue.clear();
      for (const t of tracked.values()) clearTimeout(t.retryTimer);
    },
  };
}
