/**
 * `meshtap tap`: stream a workload's requests through the tap API (authorized, all its pods),
 * or one sidecar directly with `--proxy HOST:PORT` (local debugging).
 */
import type * as grpc from '@grpc/grpc-js';
import { fetchWithin, MeshtapError } from '../../common/index.js';
import { GRPC_STATUS, isSidecarStopped, openTapStream, openTapWireStream, type TapMessage, type TapRequest, type TapStream } from '../../tap-protocol/index.js';
import { openTapApiStream } from './client.js';
import { openKubeTapStream } from './kube-client.js';
import { sourceFor, type TapApiConnection } from './source-flags.js';
import { listSidecarsVia } from './target-names.js';

export interface TapSource {
  /** One sidecar's tap port. */
  proxy?: string;
  /** The tap API and the target it resolves. */
  tapApi?: { url: string; token?: string; namespace: string; target: string; labelSelector?: string };
  /** Through kube-apiserver's aggregated API, with a kubeconfig (namespace default: the context's). */
  kube?: { kubeconfigPath?: string; context?: string; namespace?: string; target: string; labelSelector?: string };
}

/** Opens the stream for a source; `onNotice` receives per-pod notices from the tap API. */
export function openSource(source: TapSource, request: TapRequest, onNotice?: (n: { pod: string; message: string }) => void, o: { wire?: boolean } = {}): TapStream {
  // `wire`: the caller reads TapStream.wire (`meshtap tap`): a sidecar is read with node:http2.
  if (source.proxy) return o.wire ? openTapWireStream(source.proxy, request) : openTapStream(source.proxy, request);
  if (source.tapApi) return openTapApiStream({ ...source.tapApi, request, onNotice });
  if (source.kube) return openKubeTapStream({ ...source.kube, request, ...(onNotice ? { onNotice } : {}) });
  throw new MeshtapError('MT_USAGE', 'give a TARGET (with --tap-api) or --proxy HOST:PORT');
}

/** Turns a gRPC failure from a sidecar into a one-line error that says what to do. */
export function describeSidecarError(address: string, err: unknown): MeshtapError {
  const e = err as grpc.ServiceError;
  if (e && typeof e.code === 'number') {
    if (e.code === GRPC_STATUS.UNAVAILABLE) {
      return new MeshtapError('MT_TAP_UNREACHABLE', `cannot reach the sidecar tap service at ${address}: is 'meshtap proxy --tap ${address}' running?`, { cause: err });
    }
    if (e.code === GRPC_STATUS.PERMISSION_DENIED) return new MeshtapError('MT_RBAC_DENIED', `sidecar ${address} refused the tap: ${e.details}`, { cause: err });
    if (e.code === GRPC_STATUS.INVALID_ARGUMENT) return new MeshtapError('MT_BAD_FILTER', `sidecar ${address} refused the filter: ${e.details}`, { cause: err });
    return new MeshtapError('MT_TAP_FAILED', `tap stream from ${address} failed: ${e.details || e.message}`, { cause: err });
  }
  return err instanceof MeshtapError ? err : new MeshtapError('MT_TAP_FAILED', String(err), { cause: err });
}

export interface ConsumeOptions {
  /** Stop after this many exchanges (`end` events). */
  limit?: number;
  onMessage(m: TapMessage): void;
  /**
   * Takes the stream's messages as bytes, a batch at a time, where the stream gives them
   * (TapStream.wire; not with `limit`): then onMessage is not called.
   */
  onBatch?(messages: Buffer[]): void;
  /** Whether the stream ending by itself is normal (history only) or a failure (following). */
  following: boolean;
  /** Whether the command ended the stream on purpose (Ctrl-C, SIGTERM, enough printed): no "went away" then. */
  isStopped?(): boolean;
  /** Told (one line) when the tapped sidecar stopped: the tap ends normally then (exit 0). */
  note?(text: string): void;
}

/** Reads a tap stream to its end (or `limit`); resolves with the number of exchanges seen. */
export async function consumeTap(stream: TapStream, source: TapSource, o: ConsumeOptions): Promise<number> {
  let exchanges = 0;
  const where = source.proxy ?? source.tapApi?.url ?? (source.kube ? 'the Kubernetes API server' : '');
  try {
    if (o.onBatch && stream.wire && o.limit === undefined) {
      for await (const batch of stream.wire) {
        o.onBatch(batch);
        if (o.isStopped?.()) return exchanges;
      }
    } else {
      for await (const m of stream.messages) {
        o.onMessage(m);
        if (m.type === 'event' && m.event.kind === 'end') {
          exchanges++;
          if (o.limit !== undefined && exchanges >= o.limit) {
            stream.cancel();
            return exchanges;
          }
        }
      }
    }
  } catch (err) {
    if (o.isStopped?.()) return exchanges;
    if (source.proxy && isSidecarStopped(err)) {
      o.note?.(sidecarStoppedNote(where));
      return exchanges;
    }
    if (source.proxy) throw describeSidecarError(where, err);
    throw err;
  }
  if (o.following && !o.isStopped?.()) {
    throw new MeshtapError('MT_TAP_ENDED', `the tap stream from ${where} ended (the ${source.proxy ? 'sidecar' : 'tap API'} went away)`);
  }
  return exchanges;
}

/** What `--proxy` taps say when their sidecar stops (it ended the tap with MT_SIDECAR_STOPPED). */
export function sidecarStoppedNote(address: string): string {
  return `the sidecar at ${address} stopped; the tap ended`;
}

/**
 * A failed `--proxy` tap: if HOST:PORT answers meshtap's admin routes, the user gave the admin
 * port (printed beside the tap port at start); say so rather than a gRPC protocol error.
 */
export async function probeAdminPort(address: string, err: unknown): Promise<MeshtapError> {
  const described = describeSidecarError(address, err);
  if (described.code === 'MT_RBAC_DENIED' || described.code === 'MT_BAD_FILTER') return described;
  try {
    const live = await fetchWithin(`http://${address}/live`, 2_000, async (res) => (await res.text(), res.ok));
    const metrics = await fetchWithin(`http://${address}/metrics`, 2_000, async (res) => ({ ok: res.ok, text: await res.text() }));
    if (live && metrics.ok && metrics.text.includes('meshtap_')) {
      return new MeshtapError(
        'MT_ADMIN_PORT',
        `${address} is a meshtap admin port (/metrics, /ready, /live), not a tap port; give --proxy the address the sidecar printed as 'listening tap …' (default port 4190)`,
        { cause: err },
      );
    }
  } catch {
    // not an admin port either: the original error says it best
  }
  return described;
}

/** Most messages `-A` holds while merging its namespaces' streams. */
const MAX_MERGE_QUEUE = 1_000;

/**
 * `-A`: one namespace tap (`ns/NS`) per namespace that has meshed pods, merged in arrival order.
 * The namespaces come from the sidecar list (`list sidecars` cluster-wide), read once at start;
 * history markers are merged so the reader sees one `history-end` after every namespace's.
 */
export function openAllNamespaces(connection: TapApiConnection, request: TapRequest, onNotice?: (n: { pod: string; message: string }) => void, labelSelector?: string): TapStream {
  const streams: TapStream[] = [];
  const drained: Array<() => void> = [];
  let cancelled = false;
  async function* messages(): AsyncGenerator<TapMessage> {
    const items = await listSidecarsVia(connection, { all: true });
    const namespaces = [...new Set(items.map((i) => i.namespace))].sort();
    if (namespaces.length === 0) throw new MeshtapError('MT_NOT_FOUND', 'no meshed pods found in any namespace');
    if (cancelled) return;
    for (const ns of namespaces) streams.push(openSource(sourceFor(connection, `ns/${ns}`, ns, labelSelector), request, onNotice));
    const queue: Array<{ m?: TapMessage; err?: unknown; done?: true }> = [];
    let wake: (() => void) | undefined;
    // Bounded: a namespace stream waits while MAX_MERGE_QUEUE messages are queued (the tap API
    // drops a client that falls too far behind; nothing piles up here).
    const push = async (x: (typeof queue)[number]): Promise<void> => {
      queue.push(x);
      wake?.();
      if (queue.length >= MAX_MERGE_QUEUE) await new Promise<void>((r) => drained.push(r));
    };
    for (const s of streams) {
      void (async () => {
        try {
          for await (const m of s.messages) await push({ m });
          await push({ done: true });
        } catch (err) {
          await push({ err });
        }
      })();
    }
    let open = streams.length;
    let historyEnds = 0;
    while (open > 0) {
      if (queue.length === 0) await new Promise<void>((r) => (wake = r));
      wake = undefined;
      const x = queue.shift();
      if (queue.length < MAX_MERGE_QUEUE / 2) for (const r of drained.splice(0)) r();
      if (!x) continue;
      if (x.err !== undefined) throw x.err;
      if (x.done) {
        open--;
        continue;
      }
      if (x.m!.type === 'history-end') {
        if (++historyEnds === streams.length) yield x.m!;
        continue;
      }
      yield x.m!;
    }
  }
  return {
    messages: messages(),
    cancel() {
      cancelled = true;
      for (const s of streams) s.cancel();
      for (const r of drained.splice(0)) r();
    },
  };
}
