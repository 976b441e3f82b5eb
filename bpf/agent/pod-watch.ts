/**
 * The pods of one node, kept current: list (paged), then watch from the list's
 * resourceVersion with bookmarks, for ever.
 *
 * @kubernetes/client-node's Watch gives one connection and never reconnects, and it has
 * no idle timeout (a half-dead TCP connection would silently stop interception updates).
 * So this wraps it: every end of a watch starts the next one from the last resourceVersion
 * seen (events and BOOKMARKs move it); errors back off (capped, with jitter); a watchdog
 * ends a watch that has been silent longer than `idleTimeoutMs` (the API server sends a
 * bookmark about every minute when asked, so silence means a dead connection); a 410 Gone
 * (an ERROR event with a Status, or an HTTP 410) means our resourceVersion was compacted:
 * list again and start over. The handlers see a full list after each (re)list, so a
 * consumer can drop whatever it knew that is no longer there.
 */
import type { KubeConfig } from '@kubernetes/client-node';
import { setTimeout as delay } from 'node:timers/promises';
import { MeshtapError, createLogger } from '../../common/index.js';
import type { AgentMetrics, WatchRestartReason } from './metrics.js';
import type { AgentPod } from './pod-settings.js';

const log = createLogger('bpf.agent.watch');

/** Event types a consumer gets (BOOKMARK and ERROR are handled here). */
export type PodEventType = 'ADDED' | 'MODIFIED' | 'DELETED';

/** What the watch tells its consumer. Exceptions thrown here are logged, never fatal. */
export interface PodWatchHandlers {
  /** Every pod of the node after a (re)list: replaces all that was known. */
  onList(pods: AgentPod[]): void;
  onEvent(type: PodEventType, pod: AgentPod): void;
}

/** Where and how to watch. Durations in ms. */
export interface PodWatchOptions {
  kubeConfig: KubeConfig;
  nodeName: string;
  /** Restart a watch silent for this long (default 90 s: bookmarks come about every 60 s). */
  idleTimeoutMs?: number;
  initialBackoffMs?: number;
  maxBackoffMs?: number;
  /** Bound on one list request (default 30 s). */
  requestTimeoutMs?: number;
  /** Pods per list page (default 500). */
  pageSize?: number;
  /** Most pods accepted from one list (default 10000; more is an error, retried). */
  maxPods?: number;
  /** Asks the server to end each watch after this long (default 300 s); we then resume. */
  watchTimeoutSeconds?: number;
  metrics?: AgentMetrics;
}

/** A running watch. */
export interface PodWatch {
  /** The last resourceVersion seen (list, event or bookmark). */
  readonly resourceVersion: string | undefined;
  /** Whether at least one list completed. */
  readonly isSynced: boolean;
  stop(): Promise<void>;
}

/** One line for a failed API call: `HTTP 500 InternalError: etcdserver: request timed out`. */
function describeApiError(err: unknown): string {
  const e = err as { code?: number; body?: unknown; message?: string };
  if (typeof e.code === 'number' && e.body !== undefined) {
    let status: { reason?: string; message?: string } = {};
    try {
      status = (typeof e.body === 'string' ? JSON.parse(e.body) : e.body) as typeof status;
    } catch {
      /* not a Status */
    }
    return `HTTP ${e.code}${status.reason ? ` ${status.reason}` : ''}${status.message ? `: ${status.message}` : ''}`;
  }
  return String(e.message ?? err).split('\n')[0];
}

type WatchEnd = { reason: Exclude<WatchRestartReason, 'list-error'> | 'stopped'; events: number; error?: unknown };

/** Starts listing and watching the pods of `nodeName`. */
export function startPodWatch(opts: PodWatchOptions, handlers: PodWatchHandlers): PodWatch {
  const idleTimeoutMs = opts.idleTimeoutMs ?? 90_000;
  const initialBackoffMs = opts.initialBackoffMs ?? 250;
  const maxBackoffMs = opts.maxBackoffMs ?? 30_000;
  const requestTimeoutMs = opts.requestTimeoutMs ?? 30_000;
  const pageSize = opts.pageSize ?? 500;
  const maxPods = opts.maxPods ?? 10_000;
  const watchTimeoutSeconds = opts.watchTimeoutSeconds ?? 300;
  const fieldSelector = `spec.nodeName=${opts.nodeName}`;
  const m = opts.metrics;

  let resourceVersion: string | undefined;
  let isSynced = false;
  let stopped = false;
  let abortCurrent: (() => void) | undefined;
  const stopper = new AbortController();
  const whenStopped = new Promise<undefined>((resolve) => stopper.signal.addEventListener('abort', () => resolve(undefined), { once: true }));

  const safely = (what: string, fn: () => void): void => {
    try {
      fn();
    } catch (err) {
      log.error(`pod ${what} handler failed`, { error: (err as Error).message });
    }
  };

  async function listPods(): Promise<{ pods: AgentPod[]; resourceVersion: string }> {
    const { CoreV1Api } = await import('@kubernetes/client-node');
    const api = opts.kubeConfig.makeApiClient(CoreV1Api);
    const pods: AgentPod[] = [];
    let cont: string | undefined;
    let rv = '';
    do {
      let timer: NodeJS.Timeout | undefined;
      const timeout = new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new MeshtapError('MT_K8S_TIMEOUT', `listing pods took longer than ${requestTimeoutMs} ms`)), requestTimeoutMs);
      });
      try {
        const page = await Promise.race([api.listPodForAllNamespaces({ fieldSelector, limit: pageSize, _continue: cont }), timeout]);
        pods.push(...(page.items as AgentPod[]));
        rv = page.metadata?.resourceVersion ?? rv;
        cont = page.metadata?._continue || undefined;
      } finally {
        clearTimeout(timer);
      }
      if (pods.length > maxPods) throw new MeshtapError('MT_AGENT_TOO_MANY_PODS', `more than ${maxPods} pods on node ${opts.nodeName}`);
    } while (cont);
    if (!rv) throw new MeshtapError('MT_K8S_BAD_LIST', 'the pod list has no metadata.resourceVersion');
    return { pods, resourceVersion: rv };
  }

  async function watchOnce(): Promise<WatchEnd> {
    const { Watch } = await import('@kubernetes/client-node');
    const watch = new Watch(opts.kubeConfig);
    return new Promise<WatchEnd>((resolve) => {
      if (stopped) return resolve({ reason: 'stopped', events: 0 });
      let finished = false;
      let controller: AbortController | undefined;
      let lastActivity = Date.now();
      let events = 0;
      const finish = (end: Omit<WatchEnd, 'events'>): void => {
        if (finished) return;
        finished = true;
        clearInterval(watchdog);
        abortCurrent = undefined;
        controller?.abort();
        resolve({ ...end, events });
      };
      const watchdog = setInterval(() => {
        if (Date.now() - lastActivity > idleTimeoutMs) finish({ reason: 'idle' });
      }, Math.max(50, Math.min(1000, idleTimeoutMs / 4)));
      abortCurrent = () => finish({ reason: 'stopped' });
      const onEvent = (type: string, obj: unknown): void => {
        if (finished) return;
        lastActivity = Date.now();
        events++;
        m?.watchEvents.inc({ type });
        const object = obj as AgentPod & { code?: number; reason?: string; message?: string };
        if (type === 'BOOKMARK') {
          if (object?.metadata?.resourceVersion) resourceVersion = object.metadata.resourceVersion;
        } else if (type === 'ERROR') {
          if (object?.code === 410) finish({ reason: 'expired' });
          else finish({ reason: 'error', error: new Error(`watch ERROR event: ${object?.code ?? '?'} ${object?.reason ?? ''} ${object?.message ?? ''}`.trim()) });
        } else if (type === 'ADDED' || type === 'MODIFIED' || type === 'DELETED') {
          if (object?.metadata?.resourceVersion) resourceVersion = object.metadata.resourceVersion;
          safely('event', () => handlers.onEvent(type, object));
        }
      };
      const onDone = (err: unknown): void => {
        if (!err) return finish({ reason: 'closed' });
        const code = (err as { statusCode?: number }).statusCode;
        finish({ reason: code === 410 ? 'expired' : 'error', error: err });
      };
      watch
        .watch('/api/v1/pods', { fieldSelector, resourceVersion, allowWatchBookmarks: true, timeoutSeconds: watchTimeoutSeconds }, onEvent, onDone)
        .then(
          (c) => {
            controller = c;
            if (finished) c.abort();
          },
          (err: unknown) => finish({ reason: 'error', error: err }),
        );
    });
  }

  async function sleep(ms: number): Promise<void> {
    await delay(ms * (1 + Math.random() * 0.2), undefined, { signal: stopper.signal }).catch(() => undefined);
  }

  async function loop(): Promise<void> {
    let backoffMs = initialBackoffMs;
    const backOff = async () => {
      await sleep(backoffMs);
      backoffMs = Math.min(maxBackoffMs, backoffMs * 2);
    };
    while (!stopped) {
      let isFreshList = false;
      if (resourceVersion === undefined) {
        isFreshList = true;
        try {
          // stop() must not wait for a slow list (it is bounded by requestTimeoutMs anyway)
          const list = await Promise.race([listPods(), whenStopped]);
          if (stopped || !list) break;
          resourceVersion = list.resourceVersion;
          isSynced = true;
          m?.relists.inc();
          log.info('listed pods', { node: opts.nodeName, pods: list.pods.length, resourceVersion });
          safely('list', () => handlers.onList(list.pods));
        } catch (err) {
          if (stopped) break;
          m?.watchRestarts.inc({ reason: 'list-error' });
          log.warn('listing pods failed; retrying', { error: describeApiError(err), backoffMs });
          await backOff();
          continue;
        }
      }
      const startedAt = Date.now();
      const end = await watchOnce();
      if (stopped || end.reason === 'stopped') break;
      m?.watchRestarts.inc({ reason: end.reason });
      const detail = { events: end.events, error: end.error ? describeApiError(end.error) : undefined };
      // the server ending a watch (timeoutSeconds) is routine; anything else is worth a line
      if (end.reason === 'closed') log.transition('watching', 'restart (closed)', detail);
      else log.info(`watching -> restart (${end.reason})`, detail);
      if (end.reason === 'expired') {
        resourceVersion = undefined;
        log.info('resourceVersion expired (410 Gone); listing again');
        // a server that expires the version it just listed must not make us spin
        if (isFreshList && Date.now() - startedAt < 1_000) await backOff();
        continue;
      }
      const healthy = end.reason === 'idle' || (end.reason === 'closed' && (end.events > 0 || Date.now() - startedAt > 5_000));
      if (healthy) backoffMs = initialBackoffMs;
      else await backOff();
    }
  }

  const done = loop().catch((err) => log.error('pod watch loop failed', { error: (err as Error).message }));
  return {
    get resourceVersion() {
      return resourceVersion;
    },
    get isSynced() {
      return isSynced;
    },
    async stop() {
      stopped = true;
      stopper.abort();
      abortCurrent?.();
      await done;
    },
  };
}
