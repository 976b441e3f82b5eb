/** Small node:http helpers for the tap API: bounded JSON bodies, JSON/Status replies, bearer tokens. */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Result } from '../../common/index.js';
import { kubeStatus, type KubeStatus } from './wire.js';

/** Reads a JSON body of at most `maxBytes`; an empty body reads as `undefined`. */
export function readJsonBody(req: IncomingMessage, maxBytes: number): Promise<Result<unknown, KubeStatus>> {
  return new Promise((resolve) => {
    const declared = Number(req.headers['content-length']);
    if (Number.isFinite(declared) && declared > maxBytes) {
      resolve({ ok: false, error: kubeStatus(413, `request body is larger than ${maxBytes} bytes`) });
      return;
    }
    const chunks: Buffer[] = [];
    let size = 0;
    let done = false;
    const finish = (r: Result<unknown, KubeStatus>): void => {
      if (done) return;
      done = true;
      resolve(r);
    };
    req.on('data', (c: Buffer) => {
      size += c.length;
      if (size > maxBytes) {
        finish({ ok: false, error: kubeStatus(413, `request body is larger than ${maxBytes} bytes`) });
        req.pause();
        return;
      }
      if (!done) chunks.push(c);
    });
    req.on('error', () => finish({ ok: false, error: kubeStatus(400, 'request body could not be read') }));
    req.on('end', () => {
      const text = Buffer.concat(chunks).toString('utf8');
      if (text.trim() === '') return finish({ ok: true, value: undefined });
      try {
        finish({ ok: true, value: JSON.parse(text) as unknown });
      } catch (err) {
        finish({ ok: false, error: kubeStatus(400, `request body is not JSON: ${(err as Error).message}`) });
      }
    });
  });
}

/** Sends a JSON reply (and closes the connection after a refused oversize body). */
export function sendJson(res: ServerResponse, code: number, body: unknown): void {
  if (res.headersSent) {
    res.end();
    return;
  }
  const text = JSON.stringify(body);
  res.writeHead(code, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text), 'cache-control': 'no-store' });
  res.end(text);
}

/** Sends a Kubernetes Status failure. */
export function sendStatus(res: ServerResponse, status: KubeStatus): void {
  if (status.code === 413) res.setHeader('connection', 'close');
  sendJson(res, status.code, status);
}

/** The bearer token of a request, if any. */
export function bearerToken(req: IncomingMessage): string | undefined {
  const h = req.headers.authorization;
  if (!h) return undefined;
  const m = /^Bearer\s+(\S+)\s*$/i.exec(h);
  return m ? m[1] : undefined;
}
