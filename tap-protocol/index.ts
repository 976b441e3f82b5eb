/**
 * What every tap party shares (DESIGN §2, §5, §7): the event schema, the tap request and its
 * filters (and their compilation), the gRPC wire between tap clients and sidecars, grants
 * (claims, signing, verification) and protocol constants. The sidecar, the tap API, record/
 * and the CLI import only this file; it imports nothing of the project but `common/`.
 */
export type { TapEvent, TapEventKind, TapBody, HeaderList, Protocol, ProxyDirection, UnprocessedReason } from './events.js';
export { DEFAULT_SENSITIVE_HEADERS, REDACTED } from './events.js';
export { bodyCodings, decodeCodings, decodedTapBody, decodeGrpcFrames, grpcEncodingOf, isDecodableCoding, MAX_DECODED_CODINGS } from './body-coding.js';
export { podQualifiedId } from './exchange-id.js';
export { GRPC_FAILURE_CODES, OBSERVER_GAVE_UP, endOutcome, isFailedByError, isFailedEnd, isFailedResponse, isUnobserved, outcomeTone } from './outcome.js';
export { redactAuthority, redactUrlCredentials, redactHeaderCredentials, redactUrlCredentialsInEvent } from './redact.js';
export { DEFAULT_SECRET_FIELDS, DEFAULT_SECRET_QUERY_PARAMS, queryNames, redactQuerySecrets } from './redact-query.js';
export type { QueryNames } from './redact-query.js';
export { lengthMask, MIN_SECRET_CHARS, scrubEscapedSecrets, scrubSecrets, scrubSecretsAsWritten } from './redact-values.js';
export { bytesAsFieldText, type EscapeStyle } from './field-bytes.js';
export { addSecrets, collectSecrets, filterView, NOTHING_HIDDEN, redactEventSecrets, secretPolicy } from './redact-event.js';
export type { Reveal, SecretPolicy } from './redact-event.js';
export type { TapFilter, TapRequest, TapMessage } from './tap-types.js';
export {
  openTapStream,
  openTapWireStream,
  openTapBatchStream,
  observeChannelCounts,
  batchText,
  TAP_SERVICE,
  TAP_SERVICE_V1,
  TAP_OBSERVE_PATH,
  TAP_FLUSH_PATH,
  TAP_OBSERVE_PATH_V1,
  FLUSH_TOKEN_MAX_CHARS,
  flushTap,
  TAP_WIRE_VERSION,
  TAP_BATCH_MAX_BYTES,
  TAP_BATCH_MAX_MESSAGES,
  WIRE_TOO_OLD_DETAILS,
  GRANT_METADATA_KEY,
  SIDECAR_STOPPED_DETAILS,
  isSidecarStopped,
} from './tap-wire.js';
export type { TapStream, TapBatchStream, FlushRequest, FlushReply } from './tap-wire.js';
export { EVENT_MESSAGE_PREFIX, eventJsonOf, parseBatch, parseMessageBytes, splitBatch, createLineSplitter } from './message-bytes.js';
export { GRPC_STATUS, loadGrpc } from './grpc-lazy.js';
export { compileMatches, compilePathRegex, filteredHeaderNames, parseGrpcStatus, GRPC_STATUS_NAMES } from './tap-filter.js';
export type { CompiledMatch, DecisionPoint } from './tap-filter.js';
export {
  signGrant,
  verifyGrant,
  makeGrantClaims,
  grantRevealsHeader,
  normalizeTapAddress,
  generateGrantKeyPair,
  loadOrCreateGrantKey,
  exportPublicKeyRaw,
  importPublicKeyRaw,
  DEFAULT_GRANT_TTL_MS,
  MAX_GRANT_BYTES,
  GRANT_CLOCK_SKEW_MS,
} from './grant.js';
export type { GrantClaims, GrantError, GrantErrorCode, GrantKeyPair, VerifyGrantOptions } from './grant.js';
export { H2_PREFACE, GRPC_FRAME_HEADER_BYTES, TAP_STREAMS_PER_CONNECTION } from './constants.js';
export { createGrpcMessageSplitter } from './grpc-message-splitter.js';
