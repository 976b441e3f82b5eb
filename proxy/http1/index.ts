/**
 * HTTP/1 observation: `createHttp1Observer` follows one HTTP/1.x connection from views of the
 * forwarded bytes and reports exchanges to an `ExchangeSink` (contract: proxy/observe.ts).
 *
 * Choices where the issue was silent (a tap user's expectations, RFC 9112 where it speaks):
 * - A 101, or a 2xx to CONNECT, is reported as that exchange's response head and end (so the
 *   tap shows the switch), then `upgraded()`; pipelined exchanges after it end with
 *   `connection-upgraded`.
 * - `path` is the request-target as sent; an absolute-form target gives authority and scheme
 *   (userinfo dropped); CONNECT's target is its authority; otherwise Host (the first one).
 * - After an Upgrade or CONNECT request, later client bytes wait (copied, at most
 *   maxHeaderBytes) for its response: replayed as HTTP/1 if the switch was declined.
 * - Pipelining depth is bounded by `limits.maxStreams`; past it, and past the held-bytes bound,
 *   the observer gives up with `h1-header-too-large` (the headers it would have to hold).
 * - A response with no request waiting (a 408 before closing) is read and dropped.
 * - A client FIN mid-body ends that exchange with `client-closed`; the server closing before a
 *   response is complete ends every waiting exchange with `upstream-closed`.
 * - Field values read as UTF-8 when valid, else latin1 (byte-faithful).
 * - Empty lines before a start line are skipped (RFC 9112 §2.2); a bare LF never ends a line.
 */
export { createHttp1Observer, GAVE_UP_ERROR, UPGRADED_ERROR } from './observer.js';
