/** One readable line from a @kubernetes/client-node error (ApiException or a network error). */
export function describeApiError(err: unknown): string {
  const e = err as { code?: unknown; body?: unknown; message?: string; cause?: { code?: string; message?: string } };
  if (typeof e.code === 'number') {
    let message: string | undefined;
    try {
      const body = typeof e.body === 'string' ? (JSON.parse(e.body) as { message?: string }) : (e.body as { message?: string } | undefined);
      message = body?.message;
    } catch {
      message = undefined;
    }
    // Without a JSON body, client-node puts the reason phrase in its message ("Message: Unauthorized").
    message ??= /^Message: (.+)$/m.exec(e.message ?? '')?.[1];
    if (message === 'Unknown API Status Code!') message = undefined;
    return `HTTP ${e.code}${message ? `: ${message}` : ''}`;
  }
  const cause = e.cause?.code ?? e.cause?.message;
  return `${(e.message ?? String(err)).split('\n')[0]}${cause ? ` (${cause})` : ''}`;
}

/** HTTP status of an ApiException, if it is one. */
export function apiErrorCode(err: unknown): number | undefined {
  const code = (err as { code?: unknown }).code;
  return typeof code === 'number' ? code : undefined;
}
