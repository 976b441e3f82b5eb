/**
 * `host:port` as URLs, gRPC targets and people write it: IPv6 hosts in brackets
 * (`[::1]:4190`), everything else bare. The one place that knows the bracket rule.
 */
export function formatHostPort(host: string, port: number | string): string {
  return host.includes(':') ? `[${host}]:${port}` : `${host}:${port}`;
}
