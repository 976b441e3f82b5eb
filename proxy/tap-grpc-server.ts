/**
 * The tap port's gRPC server, on node:http2 directly: what the tap service needs of gRPC and no
 * more — calls with one JSON request message (unary or server streaming), JSON/text responses
 * written as length-prefixed messages, statuses in trailers (or a trailers-only answer), deadlines
 * (`grpc-timeout`), cancellation, per-write completion (HTTP/2 flow control) and bounds on
 * concurrent streams (per connection, MAX_STREAMS_PER_CONNECTION; per server, MAX_OPEN_CALLS). Callers stay grpc-js (the tap API, `record`, tests) or tap-h2-reader.ts.
 *
 * Why not grpc-js's Server (docs/decisions.md, "The tap port serves gRPC with node:http2"): loading
 * grpc-js with the first tap cost the tapped sidecar ~7 MB of RSS (issue 14: ≤ 60 MB under load),
 * and its per-message path serialized each batch twice (the text to a Buffer, then into a framed
 * copy) through interceptor layers. Every behaviour a caller sees is grpc-js's: the same status
 * codes and details for an unknown method, a missing, second, oversized or undecodable request
 * message, a bad `grpc-timeout`, an expired deadline; `application/grpc` answers with
 * `grpc-status`/`grpc-message` (percent-encoded as grpc-js does); 415 for a non-gRPC content type.
 * proxy/tap-grpc-server.test.ts holds it to real grpc-js clients.
 */
import type * as Http2 from 'node:http2';
import { createRequire } from 'node:module';
import type { Socket } from 'node:net';
import { createGrpcMessageSplitter, GRPC_FRAME_HEADER_BYTES, GRPC_STATUS, TAP_STREAMS_PER_CONNECTION } from '../tap-protocol/index.js';
import { httpDate } from '../common/index.js';
import { GRPC_TIMEOUT_UNIT_MS } from './h2/grpc-status.js';

let http2Module: typeof Http2 | undefined;
/** node:http2 with the first tap connection: most sidecars never see one (issue 13's start-up RSS). */
const http2 = (): typeof Http2 => (http2Module ??= createRequire(import.meta.url)('node:http2') as typeof Http2);

/** Most bytes of a request message: grpc-js's default receive limit (a tap request is a few KiB). */
export const MAX_REQUEST_MESSAGE_BYTES = 4 * 1024 * 1024;
/**
 * Most bytes the server holds, over all its connections and streams, of requests not yet read to
 * their end (read before any grant is checked). Without it a peer with no grant held 4 MiB per
 * stream, 256 streams per connection, on any number of connections (grpc-js's Server too): one
 * connection of 64 unfinished requests took 192 MiB of the sidecar (review8). Taps open a few at
 * a time with requests of a few KiB; past the bound a request is refused with RESOURCE_EXHAUSTED.
 */
export const MAX_HELD_REQUEST_BYTES = 8 * 1024 * 1024;
/**
 * A connection with no call running this long is closed (GOAWAY; grpc-js clients reconnect at their
 * next call). The tap port holds at most 256 connections (tap-service.ts): without this, a peer
 * that opened them and left them idle kept every tap out for good (review8). A call runs once its
 * request is read to its end (a live tap, however quiet, is never cut by this); a request still
 * being read does not count, so a peer cannot keep a connection by opening requests it never
 * finishes (review8 F5b).
 */
export const IDLE_SESSION_MS = 60_000;
/**
 * Most calls open at once over all connections. Any peer may open streams before a grant is
 * checked, and each open stream cost the sidecar ~6.5 KB of node's stream objects: 256
 * connections of 256 streams (the per-connection limit), HEADERS only and never a byte more, took
 * it from 51 to 434 MB (review9). Taps are a few calls each (maxSubscribers, 64 by default, plus
 * short history and Flush calls); past the bound a call is refused with RESOURCE_EXHAUSTED at
 * once (bound `tap-calls`), and 512 held calls cost ~3 MB.
 */
export const MAX_OPEN_CALLS = 512;
/**
 * Most calls open at once on one connection (SETTINGS_MAX_CONCURRENT_STREAMS). MAX_OPEN_CALLS acts
 * only once node made a stream (~6.9 KB of its objects, freed only when V8 collects their wrappers);
 * what nghttp2 refuses under this setting never becomes one. With 256 (grpc-js's and this server's
 * figure until session 12), 256 connections of 256 HEADERS-only streams took a native sidecar's
 * RssAnon from 9 to ~100 MB here (450 MB in review R1b) and kept it there after the flood; at most
 * MAX_TAP_CONNECTIONS x this many streams exist now (256 x 8: ~14 MB). A tap needs one: `meshtap
 * tap` reads each call on its own connection, and the tap API's grpc-js calls share a connection
 * per sidecar up to this many, then open another (tap-wire.ts). A peer that opens more than this on a
 * connection gets RST_STREAM(REFUSED_STREAM) for each while our SETTINGS are unacknowledged, and a
 * connection error once they are (nghttp2's PROTOCOL_ERROR, RFC 9113 §5.1.2; node's GOAWAY says INTERNAL_ERROR); the connection
 * so closed is counted (bound `tap-streams`), as is one cut by node after 1000 refused streams.
 */
export const MAX_STREAMS_PER_CONNECTION = TAP_STREAMS_PER_CONNECTION;
/**
 * Longest a request may take from its HEADERS to its end (the client's half-close). Tap clients send
 * their few-KiB request at once; a request still unfinished past this is answered DEADLINE_EXCEEDED
 * and its stream reset (NO_ERROR), so it holds neither a stream, nor request bytes
 * (MAX_HELD_REQUEST_BYTES), nor its connection open (review8 F5b: 256 connections, each with one
 * request never finished, kept every tap out for good).
 */
export const REQUEST_READ_MS = 10_000;
/** grpc-js's `grpc-timeout` syntax (laxer than the observer's parseGrpcTimeoutMs: unanchored, spaces allowed, as grpc-js's Server reads it). */
const DEADLINE_REGEX = /(\d{1,8})\s*([HMSmun])/;
/** setTimeout's longest delay (a longer one fires at once). */
const MAX_TIMER_MS = 2 ** 31 - 1;
/**
 * What grpc-js's server answers with (content type, encoding), so clients see the same headers;
 * except that the request encodings accepted are only `identity` (grpc-js's server also took deflate
 * and gzip): a tap request is a few hundred bytes of JSON, and a grpc-js client set to compress stops
 * compressing once an answer says so (review8 F6).
 */
const RESPONSE_HEADERS = {
  ':status': 200,
  'content-type': 'application/grpc+proto',
  'grpc-accept-encoding': 'identity',
  'grpc-encoding': 'identity',
} as const;
const OK = 0;

/**
 * Response headers with the `date` node:http2 would add (as it does for grpc-js's server), written by
 * httpDate: node's own (Date's toUTCString) loads ICU's time-zone data, ~1 MB of the sidecar's RSS
 * for the first tap (common/utc-time.ts).
 */
function dated<H extends Http2.OutgoingHttpHeaders>(headers: H): H & { date: string } {
  return { ...headers, date: httpDate(Date.now()) };
}

/** One call as a handler sees it. */
export interface GrpcCall<Req> {
  readonly request: Req;
  /** `address:port` of the caller, as grpc-js's getPeer writes it. */
  readonly peer: string;
  /** A request header (metadata) value, the first if repeated. */
  header(name: string): string | undefined;
  /**
   * Writes one response message (the UTF-8 bytes of `text`); `written` once HTTP/2 took it on
   * (within the stream's flow-control window), never if the call ends first. Ignored once ended.
   */
  write(text: string, written?: () => void): void;
  /** Ends the call with OK after what was written. */
  end(): void;
  /** Ends the call with a status (trailers-only when nothing was written). */
  fail(code: number, details: string): void;
  /** Calls `listener` once when the call is over: ended, failed, cancelled by the client, past its deadline or its connection gone. */
  onClose(listener: () => void): void;
  readonly ended: boolean;
}

export interface GrpcMethod {
  /** The request message, parsed (throws: INTERNAL, as grpc-js's deserializer failure). */
  parse(message: Buffer): unknown;
  handle(call: GrpcCall<unknown>): void;
}

export interface TapGrpcServer {
  /** Serves a connection accepted elsewhere (the tap port's listener). */
  inject(socket: Socket): void;
  /** Sends GOAWAY on every connection and waits until their calls are over, at most `graceMs`; then cuts them. */
  close(graceMs: number): Promise<void>;
}

/** Percent-encodes a status message as grpc-js does (its clients decode it with decodeURIComponent). */
const encodeDetails = (details: string): string => encodeURI(details);

function firstValue(v: string | string[] | undefined): string | undefined {
  return Array.isArray(v) ? v[0] : v;
}

/** `methods` by path; anything else is UNIMPLEMENTED as grpc-js words it. */
export function createTapGrpcServer(
  methods: ReadonlyMap<string, GrpcMethod>,
  options: {
    /** MAX_STREAMS_PER_CONNECTION unless given (tests raise it to reach the other bounds). */
    maxConcurrentStreams?: number;
    maxHeldRequestBytes?: number;
    idleMs?: number;
    /** REQUEST_READ_MS unless given (tests lower it). */
    requestReadMs?: number;
    /** MAX_OPEN_CALLS unless given (tests lower it). */
    maxOpenCalls?: number;
    onBoundHit?: (bound: 'tap-request-bytes' | 'tap-calls' | 'tap-streams') => void;
  },
): TapGrpcServer {
  const h2 = http2();
  const maxStreams = options.maxConcurrentStreams ?? MAX_STREAMS_PER_CONNECTION;
  const server = h2.createServer({
    settings: { maxConcurrentStreams: maxStreams },
    // As grpc-js's server: node's session memory check misbehaves when reached; what a session holds
    // is bounded by the streams (maxConcurrentStreams) and each tap's bytes in flight (tap-hub.ts).
    maxSessionMemory: Number.MAX_SAFE_INTEGER,
    maxSendHeaderBlockLength: Number.MAX_SAFE_INTEGER,
  });
  const sessions = new Set<Http2.ServerHttp2Session>();
  const idleMs = options.idleMs ?? IDLE_SESSION_MS;
  // Each session's running calls, its streams node made (open or not yet closed), and the timer that
  // closes it once it has had no running call for idleMs.
  const open = new Map<Http2.Http2Session, { calls: number; streams: number; timer?: NodeJS.Timeout }>();
  const idleFrom = (session: Http2.Http2Session): void => {
    const o = open.get(session);
    if (o === undefined || o.calls > 0) return;
    o.timer = setTimeout(() => session.close(), idleMs);
    o.timer.unref();
  };
  server.on('session', (session) => {
    sessions.add(session);
    const o = { calls: 0, streams: 0 };
    open.set(session, o);
    idleFrom(session);
    session.on('close', () => {
      sessions.delete(session);
      clearTimeout(open.get(session)?.timer);
      open.delete(session);
    });
    // Followed by 'close'; its streams close with it. A peer past maxStreams: nghttp2's connection
    // error for a stream over our acknowledged SETTINGS ("Protocol error", with maxStreams open), or
    // node's cut after 1000 streams nghttp2 refused before they were acknowledged.
    session.on('error', (err: NodeJS.ErrnoException) => {
      if (err.code === 'ERR_HTTP2_TOO_MANY_INVALID_FRAMES' || (err.code === 'ERR_HTTP2_ERROR' && o.streams >= maxStreams)) options.onBoundHit?.('tap-streams');
    });
  });
  server.on('sessionError', () => {});
  const held: HeldRequests = { bytes: 0, max: options.maxHeldRequestBytes ?? MAX_HELD_REQUEST_BYTES, onBoundHit: options.onBoundHit };
  const maxOpenCalls = options.maxOpenCalls ?? MAX_OPEN_CALLS;
  let openCalls = 0;
  const requestReadMs = options.requestReadMs ?? REQUEST_READ_MS;
  server.on('stream', (stream, headers) => {
    stream.on('error', () => {}); // every error is followed by 'close', which ends the call
    const streamSession = stream.session;
    const counted = streamSession === undefined ? undefined : open.get(streamSession);
    if (counted !== undefined) {
      counted.streams++;
      // Not when its session is being destroyed (its streams close before it reports why: the count is read then).
      stream.once('close', () => void (streamSession!.destroyed ? undefined : counted.streams--));
    }
    // Served once node has read what came with it. A stream answered and closed here, while nghttp2
    // is still reading the frames that came in the same read, gave its slot of maxStreams back at
    // once, and the connection's next HEADERS became a node stream too: a peer that wrote 256 HEADERS
    // at once on each of 256 connections had every one made (and refused with MT_TAP_BUSY past
    // MAX_OPEN_CALLS), 65,536 streams whose memory stays until GC. Served on the next turn, at most
    // maxStreams of them per connection per read are made; nghttp2 refuses the others
    // (REFUSED_STREAM) without a node object. Frames for the stream meanwhile wait in its buffer.
    setImmediate(() => {
      if (!stream.closed && !stream.destroyed) serve(stream, headers);
    });
  });
  const serve = (stream: Http2.ServerHttp2Stream, headers: Http2.IncomingHttpHeaders): void => {
    if (openCalls >= maxOpenCalls) {
      options.onBoundHit?.('tap-calls');
      stream.respond(dated({ ...RESPONSE_HEADERS, 'grpc-status': String(GRPC_STATUS.RESOURCE_EXHAUSTED), 'grpc-message': encodeDetails(`MT_TAP_BUSY: this sidecar has ${maxOpenCalls} tap calls open already; try again`) }), { endStream: true });
      return closeAnswered(stream);
    }
    openCalls++;
    stream.once('close', () => openCalls--);
    const session = stream.session;
    const o = session === undefined ? undefined : open.get(session);
    // Counted from the handler's start to the call's end: only a running call keeps its connection.
    const running = (): void => {
      if (o === undefined || stream.closed || stream.destroyed) return;
      clearTimeout(o.timer);
      o.timer = undefined;
      o.calls++;
      stream.once('close', () => {
        o.calls--;
        idleFrom(session!);
      });
    };
    serveStream(stream, headers, methods, held, requestReadMs, running);
  };

  return {
    inject(socket) {
      server.emit('connection', socket);
    },
    close(graceMs) {
      return new Promise<void>((resolve) => {
        if (sessions.size === 0) return resolve();
        let left = sessions.size;
        const timer = setTimeout(() => {
          for (const s of sessions) s.destroy();
          resolve();
        }, graceMs);
        timer.unref();
        for (const s of [...sessions]) {
          s.close(() => {
            if (--left === 0) {
              clearTimeout(timer);
              resolve();
            }
          });
        }
      });
    },
  };
}

/**
 * Closes a stream answered before its request ended (RST_STREAM NO_ERROR after the response, RFC
 * 9113 §8.1): left half-open, a refused call held its stream (and a slot of MAX_OPEN_CALLS) for as
 * long as the client kept its side open, which a peer without a grant could do for good (review9).
 * node sends the reset after the response's frames.
 */
function closeAnswered(stream: Http2.ServerHttp2Stream): void {
  if (!stream.closed && !stream.destroyed) stream.close(http2().constants.NGHTTP2_NO_ERROR);
}

/** The server's count of bytes held in request messages not yet complete (MAX_HELD_REQUEST_BYTES). */
interface HeldRequests {
  bytes: number;
  readonly max: number;
  readonly onBoundHit?: (bound: 'tap-request-bytes') => void;
}

function serveStream(
  stream: Http2.ServerHttp2Stream,
  headers: Http2.IncomingHttpHeaders,
  methods: ReadonlyMap<string, GrpcMethod>,
  held: HeldRequests,
  requestReadMs: number,
  running: () => void,
): void {
  stream.on('error', () => {}); // every error is followed by 'close', which ends the call
  const contentType = headers['content-type'];
  if (typeof contentType !== 'string' || !contentType.startsWith('application/grpc')) {
    stream.respond(dated({ ':status': 415 }), { endStream: true });
    return closeAnswered(stream);
  }
  const path = String(headers[':path'] ?? '');
  let ended = false;
  let headersSent = false;
  // Whether the client half-closed: a status sent before that also resets the stream (below).
  let requestEnded = false;
  let deadlineTimer: NodeJS.Timeout | undefined;
  let readTimer: NodeJS.Timeout | undefined;
  const closeListeners: Array<() => void> = [];
  const over = (): void => {
    if (deadlineTimer !== undefined) clearTimeout(deadlineTimer);
    deadlineTimer = undefined;
    if (readTimer !== undefined) clearTimeout(readTimer);
    readTimer = undefined;
    const listeners = closeListeners.splice(0);
    for (const l of listeners) l();
  };
  stream.once('close', () => {
    ended = true;
    over();
  });
  const usable = (): boolean => !ended && !stream.destroyed && !stream.closed;
  const sendStatus = (code: number, details: string): void => {
    if (!usable()) return;
    ended = true;
    const status = { 'grpc-status': String(code), 'grpc-message': encodeDetails(details) };
    // Answered before the request's end (a refusal, a deadline): without a reset the stream stayed
    // half-open until the client ended it, which one that never does never did. RST_STREAM NO_ERROR
    // once the answer is out (RFC 9113 §8.1): after the trailers, or after the trailers-only answer
    // (node sends it once the stream's writable side finished).
    const reset = (): void => {
      if (!requestEnded) closeAnswered(stream);
    };
    if (headersSent) {
      stream.once('wantTrailers', () => {
        stream.sendTrailers(status);
        reset();
      });
      stream.end();
    } else {
      stream.respond(dated({ ...RESPONSE_HEADERS, ...status }), { endStream: true });
      reset();
    }
    over();
  };
  const method = methods.get(path);
  if (method === undefined) return sendStatus(GRPC_STATUS.UNIMPLEMENTED, `The server does not implement the method ${path}`);

  const timeout = firstValue(headers['grpc-timeout']);
  if (timeout !== undefined) {
    const m = DEADLINE_REGEX.exec(timeout);
    if (m === null) return sendStatus(GRPC_STATUS.INTERNAL, `Invalid grpc-timeout value "${timeout}"`);
    // Held to setTimeout's range: `| 0` (grpc-js's Server) wrapped a deadline past 24.8 days (2592000S, 30 days) to a negative delay: expired at once (review8).
    const ms = Math.min(Number(m[1]) * GRPC_TIMEOUT_UNIT_MS[m[2]!]!, MAX_TIMER_MS);
    deadlineTimer = setTimeout(() => sendStatus(GRPC_STATUS.DEADLINE_EXCEEDED, 'Deadline exceeded'), ms);
  }

  readTimer = setTimeout(
    () => sendStatus(GRPC_STATUS.DEADLINE_EXCEEDED, `MT_TAP_REQUEST_TIMEOUT: the tap request was not complete within ${requestReadMs} ms; send it at once and half-close`),
    requestReadMs,
  );

  // The request: exactly one message, then the client's half-close.
  const splitter = createGrpcMessageSplitter(MAX_REQUEST_MESSAGE_BYTES);
  let request: Buffer | undefined;
  // Bytes of this request counted in `held`, given back when the call is answered or the request is
  // read to its end (the message is held until the client's half-close).
  let holding = 0;
  const release = (): void => {
    held.bytes -= holding;
    holding = 0;
  };
  closeListeners.push(release);
  stream.on('data', (chunk: Buffer) => {
    if (ended) return;
    // Bytes after the request message are a second one (refused when it begins, not held until it ends).
    if (request !== undefined && chunk.length > 0) return sendStatus(GRPC_STATUS.UNIMPLEMENTED, `Received a second request message for server streaming method ${path}`);
    if (request === undefined) {
      if (held.bytes + chunk.length > held.max) {
        held.onBoundHit?.('tap-request-bytes');
        return sendStatus(GRPC_STATUS.RESOURCE_EXHAUSTED, `MT_TAP_BUSY: this sidecar holds ${held.max} bytes of unfinished tap requests already; try again`);
      }
      held.bytes += chunk.length;
      holding += chunk.length;
    }
    const { messages, error } = splitter.push(chunk);
    if (error?.kind === 'compressed') {
      const encoding = firstValue(headers['grpc-encoding']) ?? 'identity';
      // grpc-js's words when the client said identity; otherwise say what is not supported (review8 F6).
      if (encoding === 'identity') return sendStatus(GRPC_STATUS.INTERNAL, 'Received compressed message but "grpc-encoding" header was identity');
      // Headers before the status (not a trailers-only answer): grpc-js clients learn the accepted
      // encodings from response headers only, and then send their next calls uncompressed.
      if (!headersSent && usable()) {
        headersSent = true;
        stream.respond(dated(RESPONSE_HEADERS), { waitForTrailers: true });
      }
      return sendStatus(GRPC_STATUS.UNIMPLEMENTED, `MT_TAP_COMPRESSED: the tap port takes request messages uncompressed only (this one came with grpc-encoding ${encoding}); send it uncompressed`);
    }
    if (error) return sendStatus(GRPC_STATUS.RESOURCE_EXHAUSTED, `Received message larger than max (${error.length} vs ${MAX_REQUEST_MESSAGE_BYTES})`);
    for (const message of messages) {
      if (request !== undefined) return sendStatus(GRPC_STATUS.UNIMPLEMENTED, `Received a second request message for server streaming method ${path}`);
      request = Buffer.from(message);
    }
  });
  const onRequestEnd = (): void => {
    requestEnded = true;
    clearTimeout(readTimer);
    readTimer = undefined;
    release();
    if (ended) return;
    if (request === undefined) return sendStatus(GRPC_STATUS.UNIMPLEMENTED, `Received no request message for server streaming method ${path}`);
    let parsed: unknown;
    try {
      parsed = method.parse(request);
    } catch {
      return sendStatus(GRPC_STATUS.INTERNAL, 'Error deserializing request');
    }
    const socket = stream.session?.socket;
    const peer = socket?.remoteAddress ? (socket.remotePort ? `${socket.remoteAddress}:${socket.remotePort}` : socket.remoteAddress) : 'unknown';
    const call: GrpcCall<unknown> = {
      request: parsed,
      peer,
      header: (name) => firstValue(headers[name]),
      write(text, written) {
        if (!usable()) return;
        if (!headersSent) {
          headersSent = true;
          stream.respond(dated(RESPONSE_HEADERS), { waitForTrailers: true });
        }
        // The 5-byte prefix (flag 0: not compressed) and the text, corked into one writev: node copies
        // the text's UTF-8 into memory the write owns and frees when HTTP/2 is done with it. A
        // Buffer of the frame made here lived as long as GC let it: one that waited for the
        // client's window was promoted, and its 64 KiB waited for a full GC (docs/decisions.md,
        // session 10, mem3).
        const prefix = Buffer.allocUnsafe(GRPC_FRAME_HEADER_BYTES);
        prefix[0] = 0;
        prefix.writeUInt32BE(Buffer.byteLength(text), 1);
        stream.cork();
        stream.write(prefix);
        stream.write(text, 'utf8', written === undefined ? undefined : (err?: Error | null) => void (err ? undefined : written()));
        stream.uncork();
      },
      end: () => sendStatus(OK, 'OK'),
      fail: sendStatus,
      onClose(listener) {
        if (stream.closed || stream.destroyed) listener();
        else closeListeners.push(listener);
      },
      get ended() {
        return !usable();
      },
    };
    running();
    try {
      method.handle(call);
    } catch {
      sendStatus(GRPC_STATUS.UNKNOWN, 'Unknown error');
    }
  };
  stream.on('end', onRequestEnd);
  // Served a turn after node made the stream (createTapGrpcServer): an END_STREAM that came
  // meanwhile with no byte before it was already told ('end' emitted, nothing buffered).
  if (stream.readableEnded) onRequestEnd();
}
