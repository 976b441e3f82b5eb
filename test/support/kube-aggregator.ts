/**
 * The aggregation layer of the stand-in API server (kube-api-server.ts): forwards a request
 * for an aggregated group to the registered API server the way kube-apiserver does. The
 * backend is reached over TLS, verified against the APIService's caBundle and service name;
 * the stand-in presents the front-proxy client certificate and says who the caller is in
 * X-Remote-User / X-Remote-Group / X-Remote-Extra-*, after removing the caller's own
 * Authorization and X-Remote-* headers (a caller must not choose its identity). Both
 * directions stream, so a watch through the aggregator behaves as one.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { request as httpsRequest } from 'node:https';
import type { KubeUser } from './kube-api-server.js';
import { kubeStatus, sendJson } from './kube-status.js';
import type { PemPair } from './test-ca.js';

/** What an APIService registers: where its server is and how to verify it. */
export interface AggregatedBackend {
  url: URL;
  ca: string;
  serverName: string;
}

export function proxyAggregated(req: IncomingMessage, res: ServerResponse, who: KubeUser, backend: AggregatedBackend, client: PemPair): void {
  const headers: Record<string, string | string[]> = {};
  for (const [k, v] of Object.entries(req.headers)) {
    if (v === undefined || k === 'authorization' || k === 'host' || k === 'connection' || k.startsWith('x-remote-')) continue;
    headers[k] = v;
  }
  headers['x-remote-user'] = who.user;
  if (who.groups.length > 0) headers['x-remote-group'] = who.groups;
  for (const [k, vals] of Object.entries(who.extra ?? {})) headers[`x-remote-extra-${encodeURIComponent(k)}`] = vals;
  const up = httpsRequest(
    {
      host: backend.url.hostname,
      port: backend.url.port,
      method: req.method,
      path: req.url,
      headers,
      ca: backend.ca,
      servername: backend.serverName,
      cert: client.certPem,
      key: client.keyPem,
      agent: false,
    },
    (upRes) => {
      res.writeHead(upRes.statusCode ?? 502, upRes.headers);
      res.flushHeaders();
      upRes.pipe(res);
      upRes.on('error', () => res.destroy());
    },
  );
  up.on('error', (err) => {
    if (res.headersSent) return void res.destroy();
    sendJson(res, 503, kubeStatus(503, 'ServiceUnavailable', `error trying to reach service: ${err.message}`));
  });
  res.on('close', () => up.destroy());
  req.pipe(up);
}
