/**
 * Whether a replay target answers at all, before a recording is sent to it and while it runs:
 * a dead target must stop a replay with "cannot connect to …", not produce a report of N
 * failures and a latency summary of nothing.
 */
import { connect } from 'node:net';

/** Error codes that mean the target cannot be reached (as opposed to answering badly). */
const UNREACHABLE_CODES = new Set(['ECONNREFUSED', 'EHOSTUNREACH', 'ENETUNREACH', 'EHOSTDOWN', 'ENOTFOUND', 'EAI_AGAIN', 'UND_ERR_CONNECT_TIMEOUT', 'ETIMEDOUT']);

/** Whether a send error (or its cause) means the target cannot be reached. */
export function isUnreachableError(err: unknown): boolean {
  for (let e = err as { code?: string; cause?: unknown } | undefined, depth = 0; e && depth < 4; e = e.cause as typeof e, depth++) {
    if (typeof e.code === 'string' && UNREACHABLE_CODES.has(e.code)) return true;
  }
  return false;
}

/** grpc-js reports an unreachable target as status 14 with one of these messages. */
export function isUnreachableGrpc(status: number | undefined, message: string | undefined): boolean {
  return status === 14 && /No connection established|ECONNREFUSED|EHOSTUNREACH|ENETUNREACH|Name resolution failed/i.test(message ?? '');
}

/** Opens (and closes) one TCP connection to `host:port`; resolves undefined or why it failed. */
export function probeTarget(url: URL, timeoutMs = 5_000): Promise<string | undefined> {
  const port = Number(url.port || (url.protocol === 'https:' ? 443 : 80));
  const host = url.hostname.replace(/^\[|\]$/g, '');
  return new Promise((resolve) => {
    const socket = connect({ host, port });
    const done = (why: string | undefined) => {
      clearTimeout(timer);
      socket.destroy();
      resolve(why);
    };
    const timer = setTimeout(() => done(`no answer within ${timeoutMs} ms`), timeoutMs);
    socket.once('connect', () => done(undefined));
    socket.once('error', (err: NodeJS.ErrnoException) => done(err.code === 'ECONNREFUSED' ? 'connection refused (is it running?)' : err.code ?? err.message));
  });
}
