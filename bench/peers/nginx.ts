/**
 * nginx as a peer: one worker process, no access log, temp files in the bench's scratch
 * folder. HTTP/1: `proxy_pass` to an upstream with keepalive; h2 front (cleartext prior
 * knowledge) → HTTP/1.1 upstream; gRPC: `grpc_pass` (h2 upstream); TCP: the stream module
 * (`libnginx-mod-stream` on Debian) when it is installed.
 */
import { existsSync } from 'node:fs';

/** Where Debian puts the dynamic stream module. */
export const NGINX_STREAM_MODULE = '/usr/lib/nginx/modules/ngx_stream_module.so';

export interface NginxConfig {
  kind: 'h1' | 'h2' | 'grpc' | 'tcp';
  listenPort: number;
  /** HTTP/1 upstream for h1/h2, h2 upstream for grpc, any for tcp. */
  target: string;
  scratchDir: string;
}

/** Whether nginx can do L4 here (the stream module is a separate Debian package). */
export function hasNginxStream(): boolean {
  return existsSync(NGINX_STREAM_MODULE);
}

/** Renders a self-contained nginx.conf (run with `nginx -c FILE -g 'daemon off;'`). */
export function renderNginxConfig(c: NginxConfig): string {
  const d = c.scratchDir;
  const head = [
    c.kind === 'tcp' ? `load_module ${NGINX_STREAM_MODULE};` : '',
    'worker_processes 1;',
    `pid ${d}/nginx.pid;`,
    'error_log stderr warn;',
    'events { worker_connections 20000; }',
  ];
  if (c.kind === 'tcp') {
    return [...head, 'stream {', `  server { listen 127.0.0.1:${c.listenPort}; proxy_pass ${c.target}; }`, '}'].filter(Boolean).join('\n') + '\n';
  }
  const http = [
    'http {',
    '  access_log off;',
    `  client_body_temp_path ${d}/body; proxy_temp_path ${d}/proxy; fastcgi_temp_path ${d}/fcgi;`,
    `  uwsgi_temp_path ${d}/uwsgi; scgi_temp_path ${d}/scgi;`,
    '  keepalive_requests 1000000;',
    '  http2_max_requests 1000000;',
    '  http2_max_concurrent_streams 1000;',
    `  upstream be { server ${c.target}; keepalive 256; keepalive_requests 1000000; }`,
    `  server {`,
    `    listen 127.0.0.1:${c.listenPort}${c.kind === 'h1' ? '' : ' http2'};`,
    c.kind === 'grpc'
      ? '    location / { grpc_pass grpc://be; }'
      : '    location / { proxy_pass http://be; proxy_http_version 1.1; proxy_set_header Connection ""; proxy_buffering on; }',
    '  }',
    '}',
  ];
  return [...head, ...http].filter(Boolean).join('\n') + '\n';
}
