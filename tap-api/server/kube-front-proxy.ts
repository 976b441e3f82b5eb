/**
 * Kubernetes mode's authentication: kube-apiserver (the front proxy) authenticates the user,
 * then calls us with its front-proxy client certificate and the identity in request headers.
 * Those headers are believed ONLY on a connection whose client certificate chained to the
 * requestheader client CA (and, when allowed names are configured, whose CN is one of them);
 * anyone else who sets `X-Remote-User` gets a 401. There is no fallback to bearer tokens: the
 * tap API is only ever meant to be reached through kube-apiserver.
 *
 * The CA check itself is done by TLS (the server's `ca`, `requestCert`, and
 * `rejectUnauthorized: false` so health probes without certificates still connect); this file
 * reads the verdict from the socket and adds the name and key-usage checks.
 */
import type { IncomingMessage } from 'node:http';
import type { TLSSocket } from 'node:tls';
import type { TapApiAuthenticator } from './access.js';
import type { UserInfo } from './rbac.js';

/** What kube-apiserver's `--requestheader-*` flags (or the extension-apiserver-authentication ConfigMap) say. */
export interface RequestHeaderConfig {
  /** Common names the front-proxy certificate may have; empty = any certificate from the CA. */
  allowedNames: string[];
  /** Lower-case header names carrying the user name, first present wins (default x-remote-user). */
  usernameHeaders: string[];
  /** Lower-case header names carrying groups (default x-remote-group). */
  groupHeaders: string[];
  /** Lower-case prefixes of `extra` headers (default x-remote-extra-). */
  extraHeaderPrefixes: string[];
}

export const DEFAULT_REQUEST_HEADER_CONFIG: RequestHeaderConfig = {
  allowedNames: [],
  usernameHeaders: ['x-remote-user'],
  groupHeaders: ['x-remote-group'],
  extraHeaderPrefixes: ['x-remote-extra-'],
};

/** Extended key usage OID of TLS client authentication. */
const EKU_CLIENT_AUTH = '1.3.6.1.5.5.7.3.2';

/** Why a connection's client certificate is not a valid front proxy, or undefined when it is. */
export function frontProxyProblem(socket: TLSSocket, allowedNames: readonly string[]): string | undefined {
  if (typeof socket.getPeerCertificate !== 'function') return 'the connection is not TLS';
  const cert = socket.getPeerCertificate();
  if (!cert || Object.keys(cert).length === 0) return 'no front-proxy client certificate was presented (the tap API must be reached through kube-apiserver)';
  if (!socket.authorized) return `the client certificate is not signed by the requestheader client CA (${String(socket.authorizationError ?? 'unverified')})`;
  const eku = (cert as { ext_key_usage?: string[] }).ext_key_usage;
  if (eku && !eku.includes(EKU_CLIENT_AUTH)) return 'the client certificate is not for client authentication';
  const cn = typeof cert.subject?.CN === 'string' ? cert.subject.CN : Array.isArray(cert.subject?.CN) ? cert.subject.CN[0] : undefined;
  if (allowedNames.length > 0 && (cn === undefined || !allowedNames.includes(cn))) {
    return `the client certificate's common name "${cn ?? ''}" is not in --requestheader-allowed-names`;
  }
  return undefined;
}

/** Reads the user from the request headers (only call after `frontProxyProblem` said none). */
export function userFromHeaders(req: IncomingMessage, config: RequestHeaderConfig): UserInfo | undefined {
  const values = (name: string): string[] => {
    const v = req.headersDistinct[name];
    return v ? v.flatMap((x) => x.split(',')).map((x) => x.trim()).filter(Boolean) : [];
  };
  let name: string | undefined;
  for (const h of config.usernameHeaders) {
    const v = req.headersDistinct[h]?.[0]?.trim();
    if (v) {
      name = v;
      break;
    }
  }
  if (!name) return undefined;
  const groups = config.groupHeaders.flatMap(values);
  const extra: Record<string, string[]> = {};
  for (const [header, list] of Object.entries(req.headersDistinct)) {
    const prefix = config.extraHeaderPrefixes.find((p) => header.startsWith(p));
    if (!prefix || !list) continue;
    // kube-apiserver percent-encodes extra keys in header names and lower-cases them.
    let key = header.slice(prefix.length);
    try {
      key = decodeURIComponent(key);
    } catch {
      // keep it as sent
    }
    (extra[key.toLowerCase()] ??= []).push(...list.flatMap((x) => x.split(',')).map((x) => x.trim()).filter(Boolean));
  }
  const user: UserInfo = { name, groups };
  if (Object.keys(extra).length > 0) user.extra = extra;
  return user;
}

/** The front-proxy authenticator; `config` is read per request so a reload takes effect at once. */
export function createFrontProxyAuthenticator(config: () => RequestHeaderConfig): TapApiAuthenticator {
  return {
    authenticate(req) {
      const c = config();
      const problem = frontProxyProblem(req.socket as TLSSocket, c.allowedNames);
      if (problem) return { ok: false, error: problem };
      const user = userFromHeaders(req, c);
      if (!user) return { ok: false, error: `the front proxy sent no user (${c.usernameHeaders.join(', ')})` };
      return { ok: true, value: user };
    },
  };
}
