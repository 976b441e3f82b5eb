/**
 * Tap events, exactly as DESIGN §5: three kinds per exchange (`req`, `rsp`, `end`), each
 * self-describing. These are the types other folders (tap-api, record/replay) read.
 */
export type TapEventKind = 'req' | 'rsp' | 'end';
export type ProxyDirection = 'in' | 'out';
export type Protocol = 'http/1.1' | 'http/1.0' | 'h2' | 'grpc';
/**
 * Why an HTTP/2 stream was never processed by the server (RFC 9113 §8.7), so a client may send it
 * again (grpc-js, libcurl and browsers do, on their own): `refused`, the server reset it with
 * REFUSED_STREAM before any response HEADERS; `goaway`, its id is above the last-stream-id of the
 * server's GOAWAY (and no response HEADERS came).
 */
export type UnprocessedReason = 'refused' | 'goaway';

/** Header list in wire order: `[name, value]` pairs, names as seen (h2: lower case). */
export type HeaderList = Array<[string, string]>;

export interface TapBody {
  /** Bytes of the whole body (not only what was captured). */
  size: number;
  /**
   * True when the body was longer than the capture limit (a decoded body: also when its decoded
   * text reached the limit).
   */
  truncated: boolean;
  encoding: 'utf8' | 'base64';
  data: string;
  /**
   * Why no bytes are shown (then `data` is empty and `truncated` true): `content-type` (not in
   * the sidecar's --capture-content-type list), `too-large` (over the limit, --body-over-limit
   * drop) or `encoded` (coded with a coding meshtap does not decode (zstd, compress, more than two
   * codings) or bytes that do not decode, withheld from a viewer whose grant does not reveal every
   * secret, since secrets in coded bytes cannot be redacted) or `decode-budget` (coded, and the
   * sidecar had spent this second's decoding time: withheld as `encoded` is).
   */
  omitted?: 'content-type' | 'too-large' | 'encoded' | 'decode-budget';
  /**
   * The body was sent coded and `data` holds it decoded (session 16): the codings undone, as the
   * headers list them (`gzip`, `br`, `deflate`, `gzip, br`; for gRPC the grpc-encoding of its
   * compressed messages, re-framed uncompressed with their decoded lengths). Only for a viewer
   * whose grant does not reveal every secret (its secrets are redacted in the decoded text); the
   * reveal grant sees the bytes as sent. `size` is still the size on the wire; the decoded data is
   * bounded by the body limit (`truncated` when cut there).
   */
  decoded?: string;
}

export interface TapEvent {
  kind: TapEventKind;
  /** `<connection>.<stream>`, stable per exchange; through the tap API `<pod>/<connection>.<stream>` (exchange-id.ts). */
  id: string;
  /** ISO-8601 time of this event. */
  ts: string;
  proxy: ProxyDirection;
  src: string;
  dst: string;
  srcWorkload?: string;
  srcNamespace?: string;
  dstWorkload?: string;
  dstNamespace?: string;
  /** The pod (or local sidecar name) that observed the event. */
  pod?: string;
  protocol: Protocol;
  method: string;
  scheme: string;
  authority: string;
  path: string;
  requestHeaders?: HeaderList;
  status?: number;
  latencyMs?: number;
  responseHeaders?: HeaderList;
  /** Response trailers (h1 chunked trailers, h2 trailing HEADERS, gRPC status). */
  trailers?: HeaderList;
  /** Request trailers (h1 chunked trailers, h2 trailing HEADERS from the client), on `end`. */
  requestTrailers?: HeaderList;
  grpcStatus?: number;
  grpcMessage?: string;
  durationMs?: number;
  requestBytes?: number;
  responseBytes?: number;
  requestMessages?: number;
  responseMessages?: number;
  requestBody?: TapBody;
  responseBody?: TapBody;
  error?: string;
  /**
   * On an HTTP/1 `end` with an `error`: `true` when the response had arrived whole before it (its
   * Content-Length or chunked end, or a protocol switch), so the error tells of the request alone
   * (its client cut the body after an early answer such as 413) and the status classifies the
   * exchange (outcome.ts). Absent otherwise: an HTTP/2 stream reports an error only when its
   * response did not end cleanly.
   */
  responseComplete?: true;
  /**
   * On `end`: the server did not process this HTTP/2 stream (see UnprocessedReason). `error` and
   * `grpcStatus` say how it ended, as for any stream; this says the request was never handled, so
   * it is not a response: the metrics count it in request_total only (and in
   * meshtap_unprocessed_requests_total), and top and the dashboard count it neither way.
   */
  unprocessed?: UnprocessedReason;
}

/**
 * Headers redacted unless a grant reveals them: the standard credential headers, and the headers
 * whose whole value is a credential a well-known service accepts on its own (the same names as
 * query parameters are secret too: redact-query.ts).
 */
export const DEFAULT_SENSITIVE_HEADERS: readonly string[] = [
  'authorization',
  'proxy-authorization',
  'cookie',
  'set-cookie',
  'x-api-key',
  'x-auth-token',
  'api-key', // Azure OpenAI, Azure AI Search
  'apikey', // Supabase, Kong key-auth
  'x-goog-api-key', // Google APIs
  'ocp-apim-subscription-key', // Azure API Management
  'x-functions-key', // Azure Functions
  'x-vault-token', // HashiCorp Vault
  'private-token', // GitLab
  'x-access-token',
  'x-amz-security-token', // AWS temporary credentials' session token
];

export const REDACTED = '[redacted]';
