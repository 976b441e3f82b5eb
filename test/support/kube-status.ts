/** How the stand-in API server answers: JSON with kube-apiserver's headers, failures as `Status`. */
import { randomUUID } from 'node:crypto';
import type { ServerResponse } from 'node:http';

/** A metav1.Status failure as kube-apiserver writes it. */
export function kubeStatus(code: number, reason: string, message: string, details?: Record<string, unknown>): Record<string, unknown> {
  return { kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Failure', message, reason, ...(details ? { details } : {}), code };
}

export function sendJson(res: ServerResponse, code: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.writeHead(code, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text), 'audit-id': randomUUID(), 'cache-control': 'no-cache, private' });
  res.end(text);
}
