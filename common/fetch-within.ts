// SPDX-License-Identifier: Apache-2.0
/**
 * `fetch` with a deadline whose timer keeps the process alive, for the whole exchange (headers
 * and body). `AbortSignal.timeout` is not enough in a CLI: its timer is unref'd, and Node 20's
 * fetch waits out a connection its peer resets at once (a fresh socket reset before the request
 * went out) until the signal fires; with nothing else pending, the event loop empties and the
 * process exits 0 with nothing printed (`stat --admin` of a port that resets did so about half
 * the time).
 */
export async function fetchWithin<T>(url: string | URL, timeoutMs: number, read: (res: Response) => Promise<T>, init: RequestInit = {}): Promise<T> {
  const abort = new AbortController();
  const timer = setTimeout(() => abort.abort(new DOMException(`no answer from ${String(url)} within ${timeoutMs} ms`, 'TimeoutError')), timeoutMs);
  try {
    return await read(await fetch(url, { ...init, signal: abort.signal }));
  } finally {
    clearTimeout(timer);
  }
}
