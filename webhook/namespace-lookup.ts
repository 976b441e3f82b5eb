/**
 * The namespace's annotations for a pod under admission (AdmissionReview does not carry
 * them). Read from the API server with a short timeout and a small TTL cache: admission
 * has a 10 s budget and namespaces change rarely. A failed read is a warning, never a
 * failed pod.
 */
import type { KubeConfig } from '@kubernetes/client-node';

/** Annotations of a namespace; undefined when it does not exist. Rejects on API errors. */
export type NamespaceLookup = (namespace: string) => Promise<Record<string, string> | undefined>;

export interface LookupOptions {
  ttlMs?: number;
  timeoutMs?: number;
  /** Most namespaces remembered (bounded cache; oldest evicted). */
  maxEntries?: number;
}

/** A cached lookup through @kubernetes/client-node (CoreV1Api.readNamespace). */
export async function createKubeNamespaceLookup(kc: KubeConfig, opts: LookupOptions = {}): Promise<NamespaceLookup> {
  const { CoreV1Api } = await import('@kubernetes/client-node');
  const api = kc.makeApiClient(CoreV1Api);
  const ttlMs = opts.ttlMs ?? 30_000;
  const timeoutMs = opts.timeoutMs ?? 3_000;
  const maxEntries = opts.maxEntries ?? 1024;
  const cache = new Map<string, { at: number; value: Record<string, string> | undefined }>();
  return async (namespace) => {
    const hit = cache.get(namespace);
    if (hit && Date.now() - hit.at < ttlMs) return hit.value;
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`reading namespace ${namespace} took longer than ${timeoutMs} ms`)), timeoutMs);
    });
    try {
      const ns = await Promise.race([api.readNamespace({ name: namespace }), timeout]);
      const value = ns.metadata?.annotations ?? {};
      remember(namespace, value);
      return value;
    } catch (err) {
      if ((err as { code?: number }).code === 404) {
        remember(namespace, undefined);
        return undefined;
      }
      throw err;
    } finally {
      clearTimeout(timer);
    }
  };
  function remember(namespace: string, value: Record<string, string> | undefined): void {
    cache.delete(namespace);
    cache.set(namespace, { at: Date.now(), value });
    if (cache.size > maxEntries) cache.delete(cache.keys().next().value as string);
  }
}
