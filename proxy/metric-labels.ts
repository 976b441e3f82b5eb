/**
 * Metric labels made from a request (the `authority` of Linkerd's series, the `route` of route
 * series) show what the request's `req` tap event shows a viewer who was revealed nothing: URL
 * credentials redacted, and the request's hidden values (an `X-Api-Key`, an `Authorization`
 * credential, a cookie's value, a secret-named query parameter's value) scrubbed. An API key that
 * is also a tenant's subdomain read in full in `request_total{authority=…}` while the tap showed
 * `[redacted].api.example` (sec10, session 10): whoever may scrape /metrics may see no more than
 * a tap viewer with no `--reveal-header`.
 *
 * Only the request's values count, as for the `req` event (a label is made at the request head,
 * before any response). The native engine computes the same labels in C++
 * (native/src/core/metrics-secrets.cc); test/native-metric-secrets.test.ts holds the two to one
 * answer. Cost: one pass over the request's header names (plus its values when one holds `?`),
 * nothing allocated when nothing is hidden.
 */
import {
  collectSecrets,
  DEFAULT_SECRET_QUERY_PARAMS,
  DEFAULT_SENSITIVE_HEADERS,
  NOTHING_HIDDEN,
  redactAuthority,
  redactHeaderCredentials,
  redactQuerySecrets,
  redactUrlCredentials,
  scrubSecrets,
  secretPolicy,
  type HeaderList,
  type SecretPolicy,
  type TapEvent,
} from '../tap-protocol/index.js';
import { parseFieldSection } from './http1/head-parse.js';
import { Http1Exchange } from './http1/http1-exchange.js';
import type { Exchange } from './observe.js';

/** What is secret on this sidecar (the tap hub's policy, as lists the native engine is given too). */
export interface LabelSecrets {
  /** Lower-case names of the headers redacted unless revealed (`--redact-header` added). */
  readonly sensitiveHeaders: readonly string[];
  /** Lower-case names of secret query parameters (`--redact-body-field` names added). */
  readonly queryParams: readonly string[];
}

export const DEFAULT_LABEL_SECRETS: LabelSecrets = { sensitiveHeaders: DEFAULT_SENSITIVE_HEADERS, queryParams: DEFAULT_SECRET_QUERY_PARAMS };

/** A request's label sources as its `req` event shows them: `authority` and `path` (the route is made from it). */
export interface ShownRequest {
  authority: string;
  path: string;
}

const NOTHING_REVEALED: ReadonlySet<string> = new Set();

export type RequestLabeler = (ex: Pick<Exchange, 'authority' | 'path' | 'requestHeaders'>) => ShownRequest;

/** The labeler of one sidecar's policy. */
export function requestLabeler(secrets: LabelSecrets = DEFAULT_LABEL_SECRETS): RequestLabeler {
  const policy: SecretPolicy = secretPolicy(secrets.sensitiveHeaders, secrets.queryParams);
  return (ex) => {
    // An HTTP/1 head not decoded yet (the common case: nobody tapped it) is looked at as its
    // text: decoding it here would cost a list per request, kept alive by the flight recorder.
    const section = ex instanceof Http1Exchange ? ex.headerSection('request') : undefined;
    if (section === undefined || section.list !== undefined) return shownRequest(policy, ex.authority, ex.path, ex.requestHeaders);
    if (!mayHideValues(section.text, section.start, policy)) return { authority: redactAuthority(ex.authority), path: redactUrlCredentials(ex.path) };
    const decoded = parseFieldSection(section.text.slice(section.start));
    return shownRequest(policy, ex.authority, ex.path, decoded.ok ? decoded.value : ex.requestHeaders);
  };
}

/**
 * Whether an HTTP/1 request head (latin1 text, fields from `start`) may hold a hidden value: a
 * sensitive header, or a `?` / `%3` / `#` anywhere (where a secret query or fragment parameter could start). When
 * not, `collectSecrets` would find nothing (decoding never makes a `?`, `%3`, `#` or a header name).
 */
export function mayHideValues(text: string, start: number, policy: SecretPolicy): boolean {
  if (text.indexOf('?') >= 0 || text.indexOf('%3') >= 0 || text.indexOf('#') >= 0) return true;
  const limit = text.length - 2;
  for (let pos = start; pos < limit; ) {
    const colon = text.indexOf(':', pos);
    const end = text.indexOf('\r\n', pos);
    if (colon < 0 || end < 0) return true;
    const candidates = policy.sensitiveByLength[colon - pos];
    if (candidates !== undefined) {
      outer: for (const lower of candidates) {
        for (let k = 0; k < lower.length; k++) {
          const c = text.charCodeAt(pos + k);
          if ((c >= 0x41 && c <= 0x5a ? c | 0x20 : c) !== lower.charCodeAt(k)) continue outer;
        }
        return true;
      }
    }
    pos = end + 2;
  }
  return false;
}

/**
 * `authority` and `path` as tap-hub `shape` shows them in a `req` event with nothing revealed:
 * URL credentials first (redact.ts, as every event is made), then the hidden values collected from
 * the (credential-redacted) request headers and path (redact-event.ts `redactEventSecrets`).
 */
export function shownRequest(policy: SecretPolicy, rawAuthority: string, rawPath: string, rawHeaders: HeaderList): ShownRequest {
  const authority = redactAuthority(rawAuthority);
  const path = redactUrlCredentials(rawPath);
  const view = { requestHeaders: redactHeaderCredentials(rawHeaders), path } as TapEvent;
  const secrets = collectSecrets(view, policy, NOTHING_REVEALED);
  if (secrets === NOTHING_HIDDEN) return { authority, path };
  const shownPath = redactQuerySecrets(path, policy.query);
  if (secrets === undefined) return { authority, path: shownPath };
  // Every spelling of a hidden value (review10's pass), as the tap scrubs it; the C++ port has it too.
  return { authority: scrubSecrets(authority, secrets), path: scrubSecrets(shownPath, secrets) };
}
