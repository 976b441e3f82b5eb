/**
 * What a complete head means for the exchange: a request head opens an exchange (fields,
 * body framing, whether it may switch protocols); a response head is interim, a protocol
 * switch, or final with a body framing.
 *
 * Kept apart from the connection state machine so that the machine only sequences events and
 * these rules (RFC 9112 §6.3, RFC 9110 §15.2) read in one place.
 */
import { requestFraming, responseFraming, type Framing } from './framing.js';
import { parseRequestHead, parseResponseHead, type HeadError, type RequestHead, type ResponseHead } from './head-parse.js';
import { Http1Exchange } from './http1-exchange.js';
import { resolveRequestTarget } from './request-target.js';

/** One exchange between its request head and its end. */
export interface Pending {
  ex: Http1Exchange;
  isHead: boolean;
  isConnect: boolean;
  /** The request may switch protocols: client bytes after it wait for its response. */
  mayUpgrade: boolean;
  isRequestDone: boolean;
  isResponseDone: boolean;
  requestError: string | undefined;
}

export type OpenResult = { ok: true; pending: Pending; framing: Framing } | { ok: false; error: HeadError };

/** Parses a request head (latin1 text) into a new exchange `stream` that started at `startMs`. */
export function openExchange(head: string, stream: number, startMs: number): OpenResult {
  const parsed = parseRequestHead(head);
  return parsed.ok ? openParsedExchange(parsed.value, stream, startMs) : parsed;
}

/** `openExchange` of a head already parsed (a parse is a function of the head's text: it may be reused). */
export function openParsedExchange(head: RequestHead, stream: number, startMs: number): OpenResult {
  const { method, target, minor, fields, facts } = head;
  const framing = requestFraming(facts, minor);
  if (!framing.ok) return framing;
  const ex = new Http1Exchange(stream, minor === 0 ? 'http/1.0' : 'http/1.1', startMs);
  const where = resolveRequestTarget(method, target, facts.host);
  ex.method = method;
  ex.scheme = where.scheme;
  ex.authority = where.authority;
  ex.path = target;
  ex.setRequestSection(fields);
  const isConnect = method === 'CONNECT';
  const pending: Pending = {
    ex,
    isHead: method === 'HEAD',
    isConnect,
    mayUpgrade: isConnect || facts.hasUpgrade,
    isRequestDone: false,
    isResponseDone: false,
    requestError: undefined,
  };
  return { ok: true, pending, framing: framing.value };
}

export type ResponseKind =
  | { kind: 'interim' }
  | { kind: 'switch'; head: ResponseHead }
  | { kind: 'final'; head: ResponseHead; framing: Framing }
  | { kind: 'error'; error: HeadError };

/**
 * Classifies a response head for the exchange `p` it answers (undefined: nobody asked).
 * 101, and a 2xx to CONNECT, switch protocols; other 1xx are interim; HEAD, 204 and 304
 * have no body whatever their headers say.
 */
export function classifyResponse(head: string, p: Pending | undefined): ResponseKind {
  const parsed = parseResponseHead(head);
  if (!parsed.ok) return { kind: 'error', error: parsed.error };
  const rsp = parsed.value;
  const status = rsp.status;
  if (status === 101) return { kind: 'switch', head: rsp };
  if (status < 200) return { kind: 'interim' };
  if (p !== undefined && p.isConnect && status < 300) return { kind: 'switch', head: rsp };
  if ((p !== undefined && p.isHead) || status === 204 || status === 304) {
    return { kind: 'final', head: rsp, framing: { kind: 'none' } };
  }
  const framing = responseFraming(rsp.facts, rsp.minor);
  if (!framing.ok) return { kind: 'error', error: framing.error };
  return { kind: 'final', head: rsp, framing: framing.value };
}
