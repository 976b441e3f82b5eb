/**
 * haproxy as a peer: one thread (the proxy gets one core, like every other target), no
 * logging, generous timeouts. `http` mode parses HTTP (h1 front → h1 upstream, or h2 front →
 * h2 upstream for h2/gRPC, so gRPC trailers survive); `tcp` mode is plain L4 forwarding.
 */
export interface HaproxyConfig {
  mode: 'http' | 'tcp';
  /** Which protocol the front speaks (h2 = prior knowledge, cleartext). */
  front: 'h1' | 'h2' | 'tcp';
  listenPort: number;
  target: string;
}

/** Renders a self-contained haproxy.cfg for one listener. */
export function renderHaproxyConfig(c: HaproxyConfig): string {
  const h2 = c.front === 'h2';
  return [
    'global',
    '  nbthread 1',
    '  maxconn 4000',
    '  tune.bufsize 65536',
    'defaults',
    `  mode ${c.mode}`,
    '  timeout connect 5s',
    '  timeout client 60s',
    '  timeout server 60s',
    c.mode === 'http' ? '  option http-keep-alive' : '',
    'frontend fe',
    `  bind 127.0.0.1:${c.listenPort}${h2 && c.mode === 'http' ? ' proto h2' : ''}`,
    '  default_backend be',
    'backend be',
    `  server s1 ${c.target}${h2 && c.mode === 'http' ? ' proto h2' : ''}${c.mode === 'http' ? ' pool-max-conn 1000' : ''}`,
  ]
    .filter((l) => l !== '')
    .join('\n') + '\n';
}
