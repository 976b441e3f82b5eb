/**
 * HTTP/1 request smuggling and framing shapes through the real sidecar process, one table.
 *
 * Each row sends its bytes on a fresh connection; a scripted server answers and closes. Every
 * row asserts the same three things: the server received exactly the client's bytes and the
 * client exactly the server's (the sidecar never changes or loses a byte, whatever the
 * framing), and then either the one give-up reason that moved (the observer refused to guess,
 * RFC 9112 §6.3 / §11.2) or the exact exchanges reported. A healthy keep-alive connection
 * keeps working throughout, and its event marks that every event of the row has arrived.
 *
 * Rows follow the shapes of the adversarial pass in issue 10 (CL+TE, duplicate and differing
 * Content-Lengths, Transfer-Encoding variants, obs-fold, bare LF/CR, chunk sizes and
 * extensions, pipelining after bad framing) and the HTTP/1 observer's contract.
 *
 * Engines: the table runs once per engine in `ENGINES`; a second engine plugs in by adding its
 * `--engine` name there.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { TapEvent } from '../tap-protocol/index.js';
import { scrape, sumMetric, type Sample } from './support/metrics-scrape.js';
import { startSidecarProcess, type SidecarProcess } from './support/meshtap-process.js';
import { connectRaw, startScriptedServer, type RecordedSocket, type ScriptedServer } from './support/raw-socket.js';
import { openTapCollector, type TapCollector } from './support/tap-collector.js';

import { ENGINES } from './support/engines.js';
import { until } from './support/until.js';

const CRLF = '\r\n';
const ERRORS = 'meshtap_observer_errors_total';
const DETECTED = 'meshtap_protocol_detected_total';

const BAD_REQUEST = `HTTP/1.1 400 Bad Request${CRLF}Content-Length: 0${CRLF}Connection: close${CRLF}${CRLF}`;
const OK_CLOSE = `HTTP/1.1 200 OK${CRLF}Content-Length: 2${CRLF}Connection: close${CRLF}${CRLF}ok`;
const GET = `GET /r HTTP/1.1${CRLF}Host: r${CRLF}${CRLF}`;

/** What an `end` event of the row must show (only the fields named). */
type End = Partial<Pick<TapEvent, 'method' | 'path' | 'authority' | 'status' | 'requestBytes' | 'responseBytes' | 'error' | 'protocol'>>;

interface Row {
  name: string;
  client: string | Buffer;
  server: string;
  /** Give-up reasons expected to move (by one each); none when absent. */
  gaveUp?: string;
  /** Protocol detection outcome (default h1). */
  detected?: 'h1' | 'opaque';
  /** The exchanges reported, in order (each also counted in `request_total`). */
  ends: End[] | { count: number };
}

const h = (lines: string[], body = ''): string => lines.join(CRLF) + CRLF + CRLF + body;

// ---- request framing --------------------------------------------------------------------

const REQUEST_ROWS: Row[] = [
  // Content-Length + Transfer-Encoding, both orders and spellings.
  { name: 'CL then TE', client: h(['POST /s HTTP/1.1', 'Host: s', 'Content-Length: 4', 'Transfer-Encoding: chunked'], `0${CRLF}${CRLF}`), server: BAD_REQUEST, gaveUp: 'h1-ambiguous-framing', ends: [] },
  { name: 'TE then CL', client: h(['POST /s HTTP/1.1', 'Host: s', 'Transfer-Encoding: chunked', 'Content-Length: 4'], `0${CRLF}${CRLF}`), server: BAD_REQUEST, gaveUp: 'h1-ambiguous-framing', ends: [] },
  { name: 'CL with TE: identity', client: h(['POST /s HTTP/1.1', 'Host: s', 'Content-Length: 2', 'Transfer-Encoding: identity'], 'hi'), server: BAD_REQUEST, gaveUp: 'h1-ambiguous-framing', ends: [] },
  { name: 'CL 0 with TE chunked smuggling a GET', client: h(['POST /s HTTP/1.1', 'Host: s', 'Content-Length: 0', 'Transfer-Encoding: chunked'], `0${CRLF}${CRLF}GET /smuggled HTTP/1.1${CRLF}Host: s${CRLF}${CRLF}`), server: BAD_REQUEST, gaveUp: 'h1-ambiguous-framing', ends: [] },
  // Content-Length values.
  { name: 'two identical CL lines', client: h(['POST /s HTTP/1.1', 'Host: s', 'Content-Length: 5', 'Content-Length: 5'], 'hello'), server: OK_CLOSE, ends: [{ method: 'POST', path: '/s', status: 200, requestBytes: 5, responseBytes: 2 }] },
  { name: 'CL list of identical values', client: h(['POST /s HTTP/1.1', 'Host: s', 'Content-Length: 5, 5'], 'hello'), server: OK_CLOSE, ends: [{ status: 200, requestBytes: 5 }] },
  { name: 'two different CL lines', client: h(['POST /s HTTP/1.1', 'Host: s', 'Content-Length: 5', 'Content-Length: 6'], 'hello!'), server: BAD_REQUEST, gaveUp: 'h1-ambiguous-framing', ends: [] },
  { name: 'CL list of different values', client: h(['POST /s HTTP/1.1', 'Host: s', 'Content-Length: 5, 6'], 'hello!'), server: BAD_REQUEST, gaveUp: 'h1-ambiguous-framing', ends: [] },
  { name: 'negative CL', client: h(['POST /s HTTP/1.1', 'Host: s', 'Content-Length: -1']), server: BAD_REQUEST, gaveUp: 'h1-parse', ends: [] },
  { name: 'CL with a plus sign', client: h(['POST /s HTTP/1.1', 'Host: s', 'Content-Length: +5'], 'hello'), server: BAD_REQUEST, gaveUp: 'h1-parse', ends: [] },
  { name: 'hex CL', client: h(['POST /s HTTP/1.1', 'Host: s', 'Content-Length: 0x5'], 'hello'), server: BAD_REQUEST, gaveUp: 'h1-parse', ends: [] },
  { name: 'CL with a fraction', client: h(['POST /s HTTP/1.1', 'Host: s', 'Content-Length: 5.0'], 'hello'), server: BAD_REQUEST, gaveUp: 'h1-parse', ends: [] },
  { name: 'CL in exponent form', client: h(['POST /s HTTP/1.1', 'Host: s', 'Content-Length: 1e1'], 'hellohello'), server: BAD_REQUEST, gaveUp: 'h1-parse', ends: [] },
  { name: 'CL beyond 2^53', client: h(['POST /s HTTP/1.1', 'Host: s', 'Content-Length: 99999999999999999999']), server: BAD_REQUEST, gaveUp: 'h1-parse', ends: [] },
  { name: 'empty CL', client: h(['POST /s HTTP/1.1', 'Host: s', 'Content-Length: ']), server: BAD_REQUEST, gaveUp: 'h1-parse', ends: [] },
  { name: 'CL with digits split by a space', client: h(['POST /s HTTP/1.1', 'Host: s', 'Content-Length: 1 0'], 'hellohello'), server: BAD_REQUEST, gaveUp: 'h1-parse', ends: [] },
  { name: 'space-padded CL (OWS)', client: h(['POST /s HTTP/1.1', 'Host: s', 'Content-Length:   5   '], 'hello'), server: OK_CLOSE, ends: [{ status: 200, requestBytes: 5 }] },
  { name: 'space before the colon of CL', client: h(['POST /s HTTP/1.1', 'Host: s', 'Content-Length : 5'], 'hello'), server: BAD_REQUEST, gaveUp: 'h1-parse', ends: [] },
  // Transfer-Encoding variants.
  { name: 'TE chunked', client: h(['POST /s HTTP/1.1', 'Host: s', 'Transfer-Encoding: chunked'], `5${CRLF}hello${CRLF}0${CRLF}${CRLF}`), server: OK_CLOSE, ends: [{ status: 200, requestBytes: 5 }] },
  { name: 'TE " chunked" (leading OWS)', client: h(['POST /s HTTP/1.1', 'Host: s', 'Transfer-Encoding:  chunked'], `5${CRLF}hello${CRLF}0${CRLF}${CRLF}`), server: OK_CLOSE, ends: [{ status: 200, requestBytes: 5 }] },
  { name: 'TE "\\tchunked" (tab OWS)', client: h(['POST /s HTTP/1.1', 'Host: s', 'Transfer-Encoding:\tchunked'], `5${CRLF}hello${CRLF}0${CRLF}${CRLF}`), server: OK_CLOSE, ends: [{ status: 200, requestBytes: 5 }] },
  { name: 'TE CHUNKED (case)', client: h(['POST /s HTTP/1.1', 'Host: s', 'Transfer-Encoding: CHUNKED'], `5${CRLF}hello${CRLF}0${CRLF}${CRLF}`), server: OK_CLOSE, ends: [{ status: 200, requestBytes: 5 }] },
  { name: 'TE "chunked, identity" (chunked not last)', client: h(['POST /s HTTP/1.1', 'Host: s', 'Transfer-Encoding: chunked, identity'], `0${CRLF}${CRLF}`), server: BAD_REQUEST, gaveUp: 'h1-ambiguous-framing', ends: [] },
  { name: 'TE "gzip, chunked"', client: h(['POST /s HTTP/1.1', 'Host: s', 'Transfer-Encoding: gzip, chunked'], `3${CRLF}abc${CRLF}0${CRLF}${CRLF}`), server: OK_CLOSE, ends: [{ status: 200, requestBytes: 3 }] },
  { name: 'TE xchunked', client: h(['POST /s HTTP/1.1', 'Host: s', 'Transfer-Encoding: xchunked'], `0${CRLF}${CRLF}`), server: BAD_REQUEST, gaveUp: 'h1-ambiguous-framing', ends: [] },
  { name: 'TE "chunked-false"', client: h(['POST /s HTTP/1.1', 'Host: s', 'Transfer-Encoding: chunked-false'], `0${CRLF}${CRLF}`), server: BAD_REQUEST, gaveUp: 'h1-ambiguous-framing', ends: [] },
  { name: 'TE chunked on two lines', client: h(['POST /s HTTP/1.1', 'Host: s', 'Transfer-Encoding: chunked', 'Transfer-Encoding: chunked'], `0${CRLF}${CRLF}`), server: BAD_REQUEST, gaveUp: 'h1-ambiguous-framing', ends: [] },
  { name: 'TE gzip only (request)', client: h(['POST /s HTTP/1.1', 'Host: s', 'Transfer-Encoding: gzip'], 'abc'), server: BAD_REQUEST, gaveUp: 'h1-ambiguous-framing', ends: [] },
  { name: 'TE with a quoted parameter', client: h(['POST /s HTTP/1.1', 'Host: s', 'Transfer-Encoding: chunked;q="x"'], `0${CRLF}${CRLF}`), server: OK_CLOSE, ends: [{ status: 200, requestBytes: 0 }] },
  { name: 'TE name misspelt (Transfer_Encoding): body read as the next request', client: h(['POST /s HTTP/1.1', 'Host: s', 'Transfer_Encoding: chunked'], `0${CRLF}${CRLF}`), server: BAD_REQUEST, gaveUp: 'h1-parse', ends: [{ path: '/s', error: 'observer-gave-up' }] },
  { name: 'regression: TE on an HTTP/1.0 request was read as chunked (faulty framing, RFC 9112 §6.1)', client: h(['POST /s HTTP/1.0', 'Host: s', 'Transfer-Encoding: chunked'], `0${CRLF}${CRLF}`), server: BAD_REQUEST, gaveUp: 'h1-ambiguous-framing', ends: [] },
  // Line folding, bare LF / CR, controls.
  { name: 'obs-fold in a header', client: h(['GET /s HTTP/1.1', 'Host: s', 'X-Folded: a', ' b']), server: BAD_REQUEST, gaveUp: 'h1-ambiguous-framing', ends: [] },
  { name: 'obs-fold continuing Transfer-Encoding', client: h(['POST /s HTTP/1.1', 'Host: s', 'Transfer-Encoding:', ' chunked'], `0${CRLF}${CRLF}`), server: BAD_REQUEST, gaveUp: 'h1-ambiguous-framing', ends: [] },
  { name: 'bare LF line endings', client: 'GET /s HTTP/1.1\nHost: s\n\n', server: BAD_REQUEST, gaveUp: 'h1-ambiguous-framing', ends: [] },
  { name: 'bare LF in one header line', client: `GET /s HTTP/1.1${CRLF}Host: s\nX: y${CRLF}${CRLF}`, server: BAD_REQUEST, gaveUp: 'h1-ambiguous-framing', ends: [] },
  { name: 'bare CR inside a header value', client: h(['GET /s HTTP/1.1', 'Host: s', 'X: a\rb']), server: BAD_REQUEST, gaveUp: 'h1-parse', ends: [] },
  { name: 'NUL inside a header value', client: h(['GET /s HTTP/1.1', 'Host: s', 'X: a\0b']), server: BAD_REQUEST, gaveUp: 'h1-parse', ends: [] },
  { name: 'header name with a non-token character', client: h(['GET /s HTTP/1.1', 'Host: s', 'X@Y: 1']), server: BAD_REQUEST, gaveUp: 'h1-parse', ends: [] },
  { name: 'header line without a colon', client: h(['GET /s HTTP/1.1', 'Host s']), server: BAD_REQUEST, gaveUp: 'h1-parse', ends: [] },
  { name: 'two spaces in the request line', client: h(['GET  /s HTTP/1.1', 'Host: s']), server: BAD_REQUEST, gaveUp: 'h1-parse', ends: [] },
  { name: 'bad HTTP version', client: h(['GET /s HTTP/1.x', 'Host: s']), server: BAD_REQUEST, gaveUp: 'h1-parse', ends: [] },
  { name: 'control character in the target', client: h(['GET /s\x01 HTTP/1.1', 'Host: s']), server: BAD_REQUEST, gaveUp: 'h1-parse', ends: [] },
  { name: 'lower-case method (not HTTP/1 to detection)', client: h(['get /s HTTP/1.1', 'Host: s']), server: BAD_REQUEST, detected: 'opaque', ends: [] },
  { name: 'request head over the header bound', client: h(['GET /s HTTP/1.1', 'Host: s', ...Array.from({ length: 70 }, (_, i) => `X-F${i}: ${'v'.repeat(1000)}`)]), server: BAD_REQUEST, gaveUp: 'h1-header-too-large', ends: [] },
  // Chunked bodies.
  { name: 'chunk size overflowing 2^53', client: h(['POST /s HTTP/1.1', 'Host: s', 'Transfer-Encoding: chunked'], `FFFFFFFFFFFFFFFFFF${CRLF}x`), server: BAD_REQUEST, gaveUp: 'h1-parse', ends: [{ path: '/s', error: 'observer-gave-up' }] },
  { name: 'chunk size with 0x prefix', client: h(['POST /s HTTP/1.1', 'Host: s', 'Transfer-Encoding: chunked'], `0x5${CRLF}hello${CRLF}0${CRLF}${CRLF}`), server: BAD_REQUEST, gaveUp: 'h1-parse', ends: [{ path: '/s', error: 'observer-gave-up' }] },
  { name: 'chunk size with a leading space', client: h(['POST /s HTTP/1.1', 'Host: s', 'Transfer-Encoding: chunked'], ` 5${CRLF}hello${CRLF}0${CRLF}${CRLF}`), server: BAD_REQUEST, gaveUp: 'h1-parse', ends: [{ path: '/s', error: 'observer-gave-up' }] },
  { name: 'negative chunk size', client: h(['POST /s HTTP/1.1', 'Host: s', 'Transfer-Encoding: chunked'], `-5${CRLF}hello${CRLF}0${CRLF}${CRLF}`), server: BAD_REQUEST, gaveUp: 'h1-parse', ends: [{ path: '/s', error: 'observer-gave-up' }] },
  { name: 'chunk data longer than its size', client: h(['POST /s HTTP/1.1', 'Host: s', 'Transfer-Encoding: chunked'], `3${CRLF}hello${CRLF}0${CRLF}${CRLF}`), server: BAD_REQUEST, gaveUp: 'h1-parse', ends: [{ path: '/s', error: 'observer-gave-up' }] },
  { name: 'chunk size line ended by a bare LF', client: h(['POST /s HTTP/1.1', 'Host: s', 'Transfer-Encoding: chunked'], `5\nhello${CRLF}0${CRLF}${CRLF}`), server: BAD_REQUEST, gaveUp: 'h1-ambiguous-framing', ends: [{ path: '/s', error: 'observer-gave-up' }] },
  { name: 'chunk extensions (token, quoted string with ; inside)', client: h(['POST /s HTTP/1.1', 'Host: s', 'Transfer-Encoding: chunked'], `5;a=b;c="x;y"${CRLF}hello${CRLF}0;last${CRLF}${CRLF}`), server: OK_CLOSE, ends: [{ status: 200, requestBytes: 5 }] },
  { name: 'chunk extension longer than the header bound', client: h(['POST /s HTTP/1.1', 'Host: s', 'Transfer-Encoding: chunked'], `5;${'e'.repeat(70_000)}${CRLF}hello${CRLF}0${CRLF}${CRLF}`), server: BAD_REQUEST, gaveUp: 'h1-header-too-large', ends: [{ path: '/s', error: 'observer-gave-up' }] },
  { name: 'chunked trailers', client: h(['POST /s HTTP/1.1', 'Host: s', 'Transfer-Encoding: chunked'], `2${CRLF}hi${CRLF}0${CRLF}X-Sum: 1${CRLF}${CRLF}`), server: OK_CLOSE, ends: [{ status: 200, requestBytes: 2 }] },
  { name: 'obs-fold in chunked trailers', client: h(['POST /s HTTP/1.1', 'Host: s', 'Transfer-Encoding: chunked'], `2${CRLF}hi${CRLF}0${CRLF}X-Sum: 1${CRLF} 2${CRLF}${CRLF}`), server: BAD_REQUEST, gaveUp: 'h1-ambiguous-framing', ends: [{ path: '/s', error: 'observer-gave-up' }] },
  { name: 'huge chunk size, connection closes mid-chunk', client: h(['POST /s HTTP/1.1', 'Host: s', 'Transfer-Encoding: chunked'], `7FFFFFFF${CRLF}partial`), server: BAD_REQUEST, ends: [{ path: '/s', status: 400, requestBytes: 7, error: 'client-closed' }] },
  // Pipelining, leading empty lines, keep-alive leftovers.
  { name: 'pipelining after bad framing', client: GET.replace('/r', '/p1') + h(['POST /p2 HTTP/1.1', 'Host: s', 'Content-Length: 1', 'Transfer-Encoding: chunked'], `0${CRLF}${CRLF}`), server: BAD_REQUEST, gaveUp: 'h1-ambiguous-framing', ends: [{ path: '/p1', error: 'observer-gave-up' }] },
  {
    name: 'three pipelined requests',
    client: GET.replace('/r', '/q1') + h(['POST /q2 HTTP/1.1', 'Host: s', 'Content-Length: 3'], 'abc') + GET.replace('/r', '/q3'),
    server: `HTTP/1.1 200 OK${CRLF}Content-Length: 1${CRLF}${CRLF}1HTTP/1.1 201 Created${CRLF}Content-Length: 2${CRLF}${CRLF}22HTTP/1.1 204 No Content${CRLF}${CRLF}`,
    ends: [{ path: '/q1', status: 200, responseBytes: 1 }, { path: '/q2', status: 201, requestBytes: 3, responseBytes: 2 }, { path: '/q3', status: 204, responseBytes: 0 }],
  },
  { name: 'leading empty lines before the request line (RFC 9112 §2.2)', client: `${CRLF}${CRLF}GET /lead HTTP/1.1${CRLF}Host: s${CRLF}${CRLF}`, server: OK_CLOSE, ends: [{ method: 'GET', path: '/lead', status: 200, responseBytes: 2 }] },
  {
    name: 'stray CRLF after a body on keep-alive',
    client: h(['POST /k1 HTTP/1.1', 'Host: s', 'Content-Length: 5'], 'hello') + CRLF + GET.replace('/r', '/k2'),
    server: `HTTP/1.1 200 OK${CRLF}Content-Length: 0${CRLF}${CRLF}` + OK_CLOSE,
    ends: [{ path: '/k1', status: 200, requestBytes: 5 }, { path: '/k2', status: 200, responseBytes: 2 }],
  },
  { name: 'absolute-form target', client: h(['GET http://a.example/x?y HTTP/1.1', 'Host: other']), server: OK_CLOSE, ends: [{ authority: 'a.example', path: 'http://a.example/x?y', status: 200 }] },
  { name: 'two Host headers (first one reported)', client: h(['GET /s HTTP/1.1', 'Host: one', 'Host: two']), server: BAD_REQUEST, ends: [{ authority: 'one', status: 400 }] },
  { name: 'Expect: 100-continue', client: h(['POST /s HTTP/1.1', 'Host: s', 'Content-Length: 2', 'Expect: 100-continue'], 'hi'), server: `HTTP/1.1 100 Continue${CRLF}${CRLF}` + OK_CLOSE, ends: [{ status: 200, requestBytes: 2, responseBytes: 2 }] },
    // More events than a tap subscriber's queue holds: counted in request_total, not compared one by one.
  { name: 'too many pipelined requests awaiting responses', client: GET.repeat(1001), server: BAD_REQUEST, gaveUp: 'h1-too-many-pipelined', ends: { count: 1000 } },
];

// ---- response framing -------------------------------------------------------------------

const RESPONSE_ROWS: Row[] = [
  { name: 'response CL + TE', client: GET, server: h(['HTTP/1.1 200 OK', 'Content-Length: 2', 'Transfer-Encoding: chunked'], `0${CRLF}${CRLF}`), gaveUp: 'h1-ambiguous-framing', ends: [{ path: '/r', error: 'observer-gave-up' }] },
  { name: 'response with differing CLs', client: GET, server: h(['HTTP/1.1 200 OK', 'Content-Length: 2', 'Content-Length: 3'], 'abc'), gaveUp: 'h1-ambiguous-framing', ends: [{ path: '/r', error: 'observer-gave-up' }] },
  { name: 'response obs-fold', client: GET, server: h(['HTTP/1.1 200 OK', 'X: a', ' b', 'Content-Length: 0']), gaveUp: 'h1-ambiguous-framing', ends: [{ path: '/r', error: 'observer-gave-up' }] },
  { name: 'response bare LF', client: GET, server: 'HTTP/1.1 200 OK\nContent-Length: 0\n\n', gaveUp: 'h1-ambiguous-framing', ends: [{ path: '/r', error: 'observer-gave-up' }] },
  { name: 'regression: TE on an HTTP/1.0 response was read as chunked (faulty framing, RFC 9112 §6.1)', client: GET, server: h(['HTTP/1.0 200 OK', 'Transfer-Encoding: chunked'], `2${CRLF}ok${CRLF}0${CRLF}${CRLF}`), gaveUp: 'h1-ambiguous-framing', ends: [{ path: '/r', error: 'observer-gave-up' }] },
  { name: 'response TE chunked twice', client: GET, server: h(['HTTP/1.1 200 OK', 'Transfer-Encoding: chunked, chunked'], `0${CRLF}${CRLF}`), gaveUp: 'h1-ambiguous-framing', ends: [{ path: '/r', error: 'observer-gave-up' }] },
  { name: 'response TE "chunked, gzip" (read until close)', client: GET, server: h(['HTTP/1.1 200 OK', 'Transfer-Encoding: chunked, gzip'], 'abcdef'), ends: [{ path: '/r', status: 200, responseBytes: 6 }] },
  { name: 'response without length (read until close)', client: GET, server: h(['HTTP/1.1 200 OK'], 'until-close'), ends: [{ status: 200, responseBytes: 11 }] },
  { name: 'response 204 with a Content-Length', client: GET, server: h(['HTTP/1.1 204 No Content', 'Content-Length: 5']), ends: [{ status: 204, responseBytes: 0 }] },
  { name: 'response to HEAD with a Content-Length', client: h(['HEAD /r HTTP/1.1', 'Host: r']), server: h(['HTTP/1.1 200 OK', 'Content-Length: 100']), ends: [{ method: 'HEAD', status: 200, responseBytes: 0 }] },
  { name: 'interim 103 then 200', client: GET, server: `HTTP/1.1 103 Early Hints${CRLF}Link: </a>${CRLF}${CRLF}` + OK_CLOSE, ends: [{ status: 200, responseBytes: 2 }] },
  { name: 'two-digit status', client: GET, server: h(['HTTP/1.1 20 OK', 'Content-Length: 0']), gaveUp: 'h1-parse', ends: [{ path: '/r', error: 'observer-gave-up' }] },
  { name: 'control character in the reason phrase', client: GET, server: h(['HTTP/1.1 200 O\x01K', 'Content-Length: 0']), gaveUp: 'h1-parse', ends: [{ path: '/r', error: 'observer-gave-up' }] },
  { name: 'response chunk size overflowing', client: GET, server: h(['HTTP/1.1 200 OK', 'Transfer-Encoding: chunked'], `FFFFFFFFFFFFFFFFFF${CRLF}`), gaveUp: 'h1-parse', ends: [{ path: '/r', status: 200, error: 'observer-gave-up' }] },
  { name: 'response chunk extension and trailers', client: GET, server: h(['HTTP/1.1 200 OK', 'Transfer-Encoding: chunked'], `2;x=y${CRLF}ok${CRLF}0${CRLF}T: 1${CRLF}${CRLF}`), ends: [{ status: 200, responseBytes: 2 }] },
];

describe.each(ENGINES)('HTTP/1 framing and smuggling shapes (engine %s, real sidecar process)', (engine) => {
  let server: ScriptedServer;
  let sidecar: SidecarProcess;
  let tap: TapCollector;
  let healthy: { client: RecordedSocket; upstream: RecordedSocket; n: number };

  beforeAll(async () => {
    server = await startScriptedServer();
    sidecar = await startSidecarProcess(['--engine', engine, '--forward', `127.0.0.1:0=127.0.0.1:${server.port}`, '--admin', '127.0.0.1:0', '--tap', '127.0.0.1:0']);
    tap = await openTapCollector(sidecar.tap!);
    const next = server.connections.length;
    const client = await connectRaw(sidecar.forwards[0].port);
    healthy = { client, upstream: await server.connection(next), n: 0 };
    await healthyStillServes(); // detected now, so rows count only their own connection
  });

  afterAll(async () => {
    tap?.close();
    healthy?.client.destroy();
    await sidecar?.stop();
    await server?.close();
  });

  /** One request on the healthy keep-alive connection; once its `end` arrives, every earlier event has. */
  async function healthyStillServes(): Promise<void> {
    const k = healthy;
    k.n++;
    const path = `/healthy/${k.n}`;
    const req = `GET ${path} HTTP/1.1${CRLF}Host: ok${CRLF}${CRLF}`;
    const rsp = `HTTP/1.1 200 OK${CRLF}Content-Length: 2${CRLF}${CRLF}ok`;
    const before = { up: k.upstream.received().length, down: k.client.received().length };
    await k.client.write(req);
    await k.upstream.waitForBytes(before.up + req.length);
    await k.upstream.write(rsp);
    await k.client.waitForBytes(before.down + rsp.length);
    const [end] = await tap.waitForEnds(1, (e) => e.path === path);
    expect([end.status, end.error]).toEqual([200, undefined]);
    expect(sidecar.isRunning()).toBe(true);
  }

  function moved(before: Sample[], after: Sample[], name: string, label: string): Record<string, number> {
    const out: Record<string, number> = {};
    for (const s of after) {
      if (s.name !== name) continue;
      const d = s.value - sumMetric(before, name, { [label]: s.labels[label] });
      if (d) out[s.labels[label]] = d;
    }
    return out;
  }

  it.each([...REQUEST_ROWS, ...RESPONSE_ROWS].map((r) => [r.name, r] as const))('%s', async (_name, row) => {
    const before = await scrape(sidecar.admin!);
    const next = server.connections.length;
    const client = await connectRaw(sidecar.forwards[0].port);
    const upstream = await server.connection(next);
    const src = `127.0.0.1:${client.socket.localPort}`;
    const bytes = Buffer.isBuffer(row.client) ? row.client : Buffer.from(row.client, 'latin1');
    await client.write(bytes);
    await upstream.waitForBytes(bytes.length);
    upstream.end(row.server);
    await client.waitForEnd();
    client.end();
    await Promise.all([client.waitForClose(), upstream.waitForClose()]);
    // Byte-exact both ways, whatever the framing.
    expect(upstream.received().equals(bytes)).toBe(true);
    expect(client.received().toString('latin1')).toBe(row.server);
    expect(client.errorCode).toBeUndefined();

    // A row that may overflow the subscriber's queue: a `dropped` notice is queued last, so once
    // it arrived the queue has room again and the healthy request's events cannot be dropped
    // (the native engine finishes the row before the tap stream has written the burst out).
    // With the tap wire's batches the burst may also fit: then every end arrives.
    if (!Array.isArray(row.ends)) {
      const total = row.ends.count;
      await until('the dropped notice or every end', () => tap.messages.some((m) => m.type === 'dropped') || tap.events.filter((e) => e.kind === 'end' && e.src === src).length >= total);
    }
    await healthyStillServes();
    const after = await scrape(sidecar.admin!);
    expect(moved(before, after, ERRORS, 'reason')).toEqual(row.gaveUp ? { [row.gaveUp]: 1 } : {});
    const detected = moved(before, after, DETECTED, 'protocol');
    expect(detected).toEqual({ [row.detected ?? 'h1']: 1 });
    const count = Array.isArray(row.ends) ? row.ends.length : row.ends.count;
    expect(sumMetric(after, 'request_total') - sumMetric(before, 'request_total')).toBe(count + 1); // + the healthy one
    // An exchange the observer gave up on before its response came whole has no response counted
    // (its outcome went unseen: tap-protocol outcome.ts isUnobserved); every other one has. The
    // pipelined burst's exchanges are all in flight when the 1,001st request makes it give up.
    const unseen = Array.isArray(row.ends) ? row.ends.filter((e) => e.error === 'observer-gave-up').length : row.ends.count;
    expect(sumMetric(after, 'response_total') - sumMetric(before, 'response_total')).toBe(count - unseen + 1);
    if (!Array.isArray(row.ends)) return;
    const ends = tap.events.filter((e) => e.kind === 'end' && e.src === src);
    expect(ends.length).toBe(row.ends.length);
    ends.forEach((e, i) => expect(e).toMatchObject((row.ends as End[])[i]!));
    // A connection the observer gave up on before any request reports nothing at all.
    if (row.ends.length === 0) expect(tap.events.filter((e) => e.src === src)).toEqual([]);
  });
});
