/**
 * A row as a curl command that sends the same request: method, URL, headers in order, body
 * (text inline, binary through `base64 -d`), HTTP/2 with prior knowledge for h2 and gRPC on
 * plain http. Redacted header values stay redacted: the dashboard never has the secret.
 */
import type { TapEvent } from '../../tap-protocol/index.js';
import { quoteWord } from '../query-text.js';

/** Headers curl sets itself from the URL and body, or that describe the old connection. */
const SKIP = new Set(['host', 'content-length', 'connection', 'transfer-encoding', 'keep-alive', 'upgrade', 'proxy-connection', 'http2-settings']);

export function curlCommand(e: TapEvent): string {
  const url = `${e.scheme || 'http'}://${e.authority || e.dst}${e.path}`;
  const parts: string[] = ['curl'];
  if (e.protocol === 'h2' || e.protocol === 'grpc') parts.push(e.scheme === 'https' ? '--http2' : '--http2-prior-knowledge');
  else if (e.protocol === 'http/1.0') parts.push('--http1.0');
  if (e.method !== 'GET' || e.requestBody) parts.push('-X', quoteWord(e.method));
  const body = e.requestBody;
  // A body shown decoded (session 16) is sent decoded: its Content-Encoding would say otherwise.
  // (A gRPC one is re-framed uncompressed, valid under its grpc-encoding.)
  const sentDecoded = body?.decoded !== undefined && e.protocol !== 'grpc';
  for (const [name, value] of e.requestHeaders ?? []) {
    if (name.startsWith(':') || SKIP.has(name.toLowerCase())) continue;
    if (sentDecoded && name.toLowerCase() === 'content-encoding') continue;
    parts.push('-H', quoteWord(`${name}: ${value}`));
  }
  // A coded answer (gzip, br…) is decoded by curl, as the dashboard shows it.
  if (e.protocol !== 'grpc' && (e.responseBody?.decoded !== undefined || (e.responseHeaders ?? []).some(([n, v]) => n.toLowerCase() === 'content-encoding' && v.trim().toLowerCase() !== 'identity'))) parts.push('--compressed');
  let prefix = '';
  if (body && body.size > 0) {
    if (body.encoding === 'utf8') parts.push('--data-binary', quoteWord(body.data));
    else {
      prefix = `printf %s ${quoteWord(body.data)} | base64 -d | `;
      parts.push('--data-binary', '@-');
    }
  }
  if (e.protocol === 'grpc') parts.push('--output', '-');
  // `[` in a URL (a `[redacted]` query value, an IPv6 host) is curl's glob syntax unless --globoff.
  if (url.includes('[')) parts.push('--globoff');
  parts.push(quoteWord(url));
  const note =
    (body?.omitted !== undefined
      ? `# the body was not captured (${body.omitted}): this sends none\n`
      : body?.truncated
        ? '# the body was truncated by the capture limit\n'
        : '') + (sentDecoded ? `# the body was sent with Content-Encoding: ${body!.decoded}; this sends it decoded, without it\n` : '');
  return note + prefix + parts.join(' ');
}
