/**
 * HTTP/2 + HPACK + gRPC observer. The connection layer picks it when a connection starts
 * with the HTTP/2 client preface; see observer.ts for the behaviour and observe.ts for the
 * contract.
 */
export { createH2Observer, createUpgradedH2Observer, STREAM_ERROR_CLOSED, STREAM_ERROR_GAVE_UP } from './observer.js';
export { HpackDecoder, createHpackDecoder } from './hpack-decoder.js';
export type { HpackDecoderOptions, HpackError, HpackResult } from './hpack-decoder.js';
export { decodeHuffman } from './huffman.js';
export { FrameReader } from './frame-reader.js';
export type { FrameHandler } from './frame-reader.js';
export { H2_PREFACE } from './constants.js';
export { STREAM_ERROR_GOAWAY, STREAM_ERROR_RESET, STREAM_ERROR_UPSTREAM_CLOSED } from './stream-tracker.js';
