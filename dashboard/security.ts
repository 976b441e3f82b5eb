/**
 * Who may talk to the dashboard. It acts as the user (their token), so anything that reaches
 * it reaches the user's tap rights. Three locks:
 *  - a random per-run secret in the printed URL, traded on first visit for an HttpOnly,
 *    SameSite=Strict session cookie (then the secret leaves the address bar);
 *  - the Host header must name the dashboard itself (a loopback name or an IP literal with its
 *    port): a DNS-rebinding page whose name now resolves to 127.0.0.1 sends its own name;
 *  - a request that carries an Origin (or Sec-Fetch-Site) must come from the dashboard's own
 *    origin: another site's page cannot read or drive it, even with the cookie.
 */
import { randomBytes, timingSafeEqual } from 'node:crypto';
import { isIP } from 'node:net';

export const SECRET_PARAM = 'secret';
const SECRET_BYTES = 32;

/** A fresh per-run secret (base64url, 43 characters). */
export function createSecret(): string {
  return randomBytes(SECRET_BYTES).toString('base64url');
}

/** The session cookie's name; per port, so two dashboards on one machine do not overwrite each other. */
export function cookieName(port: number): string {
  return `meshtap_dashboard_${port}`;
}

/** Compares secrets in constant time. */
export function secretMatches(expected: string, given: string | undefined): boolean {
  if (given === undefined) return false;
  const a = Buffer.from(expected);
  const b = Buffer.from(given);
  return a.length === b.length && timingSafeEqual(a, b);
}

/** Reads one cookie from a Cookie header. */
export function readCookie(header: string | undefined, name: string): string | undefined {
  if (!header) return undefined;
  for (const part of header.split(';')) {
    const eq = part.indexOf('=');
    if (eq !== -1 && part.slice(0, eq).trim() === name) return part.slice(eq + 1).trim();
  }
  return undefined;
}

/** The Set-Cookie value for the session (no Max-Age: it ends with the browser session). */
export function sessionCookie(port: number, secret: string): string {
  return `${cookieName(port)}=${secret}; Path=/; HttpOnly; SameSite=Strict`;
}

const LOOPBACK_NAMES = new Set(['localhost', '127.0.0.1', '[::1]']);

/** Whether a listen host is loopback (no warning needed). */
export function isLoopbackHost(host: string): boolean {
  const h = host.replace(/^\[(.*)\]$/, '$1');
  return h === 'localhost' || h === '::1' || /^127\./.test(h);
}

/**
 * Whether a Host header names this dashboard: `localhost`, a loopback or other IP literal, or
 * the listen host, each with the listening port. DNS names other than localhost are refused:
 * that is exactly what a rebinding attack sends.
 */
export function hostAllowed(hostHeader: string | undefined, listenHost: string, port: number): boolean {
  if (!hostHeader) return false;
  const m = /^(\[[0-9a-fA-F:.]+\]|[^:[\]]+):(\d+)$/.exec(hostHeader.trim());
  if (!m || Number(m[2]) !== port) return false;
  const name = m[1]!.toLowerCase();
  if (LOOPBACK_NAMES.has(name) || name === listenHost.toLowerCase()) return true;
  const bare = name.replace(/^\[(.*)\]$/, '$1');
  return isIP(bare) !== 0;
}

/**
 * Whether a request's Origin / Sec-Fetch-Site says it comes from the dashboard's own page (or
 * from no page: a typed URL, a bookmark, curl). `origin` must equal `http://<Host>`.
 */
export function originAllowed(headers: { origin?: string; 'sec-fetch-site'?: string; host?: string }): boolean {
  const site = headers['sec-fetch-site'];
  if (site !== undefined && site !== 'same-origin' && site !== 'none') return false;
  const origin = headers.origin;
  if (origin === undefined) return true;
  return origin === `http://${headers.host ?? ''}`;
}
