/**
 * HTTP/2 wire constants (RFC 9113) shared by the frame reader and the observer.
 * Named so that protocol magic never appears as bare numbers elsewhere.
 */
import { GRPC_FRAME_HEADER_BYTES, H2_PREFACE } from '../../tap-protocol/index.js';

/** The client connection preface and the gRPC message prefix size live in `tap-protocol/`. */
export { GRPC_FRAME_HEADER_BYTES, H2_PREFACE };

export const FRAME_HEADER_BYTES = 9;

/** Frame types (RFC 9113 §6). Any other type is ignored, as the RFC requires. */
export const FRAME_DATA = 0x0;
export const FRAME_HEADERS = 0x1;
export const FRAME_PRIORITY = 0x2;
export const FRAME_RST_STREAM = 0x3;
export const FRAME_SETTINGS = 0x4;
export const FRAME_PUSH_PROMISE = 0x5;
export const FRAME_PING = 0x6;
export const FRAME_GOAWAY = 0x7;
export const FRAME_WINDOW_UPDATE = 0x8;
export const FRAME_CONTINUATION = 0x9;

/** Frame flags. */
export const FLAG_END_STREAM = 0x1;
export const FLAG_ACK = 0x1;
export const FLAG_END_HEADERS = 0x4;
export const FLAG_PADDED = 0x8;
export const FLAG_PRIORITY = 0x20;

/** SETTINGS identifiers the observer cares about. */
export const SETTINGS_HEADER_TABLE_SIZE = 0x1;
export const SETTINGS_MAX_FRAME_SIZE = 0x5;
export const SETTINGS_ENTRY_BYTES = 6;

/** SETTINGS_MAX_FRAME_SIZE default and allowed range (RFC 9113 §6.5.2). */
export const DEFAULT_MAX_FRAME_SIZE = 16_384;
export const MAX_ALLOWED_FRAME_SIZE = 16_777_215;

/** SETTINGS_HEADER_TABLE_SIZE default (RFC 9113 §6.5.2): the HPACK table every connection starts with. */
export const DEFAULT_HEADER_TABLE_SIZE = 4096;

/** Fixed payload sizes of control frames. */
export const PRIORITY_PAYLOAD_BYTES = 5;
export const RST_STREAM_PAYLOAD_BYTES = 4;
export const PING_PAYLOAD_BYTES = 8;
export const WINDOW_UPDATE_PAYLOAD_BYTES = 4;
export const GOAWAY_MIN_PAYLOAD_BYTES = 8;
