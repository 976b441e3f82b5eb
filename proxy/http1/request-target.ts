/**
 * Where a request goes (RFC 9112 §3.2–3.3): authority and scheme from the request-target
 * and the Host header.
 *
 * Choices, for a tap user: the absolute-form URI (`GET http://a.example/x`, as sent to forward
 * proxies) wins over Host, as the RFC says a server must do; its scheme is kept (`https` when a
 * client asked a proxy for one); CONNECT's authority-form target is the authority. `path` stays
 * the request-target exactly as sent, so nothing the client wrote is hidden or rewritten.
 */

export interface RequestTarget {
  scheme: string;
  authority: string;
}

const ABSOLUTE_FORM = /^([A-Za-z][A-Za-z0-9+.-]*):\/\/([^/?#]*)/;

/** Authority and scheme of a request, given its method, request-target and Host value. */
export function resolveRequestTarget(method: string, target: string, host: string): RequestTarget {
  if (method === 'CONNECT') return { scheme: 'http', authority: target };
  if (target.charCodeAt(0) !== 0x2f /* / */ && target !== '*') {
    const m = ABSOLUTE_FORM.exec(target);
    if (m !== null) {
      const at = m[2].lastIndexOf('@'); // drop userinfo: it is a credential, not an authority
      return { scheme: m[1].toLowerCase(), authority: at < 0 ? m[2] : m[2].slice(at + 1) };
    }
  }
  return { scheme: 'http', authority: host };
}
