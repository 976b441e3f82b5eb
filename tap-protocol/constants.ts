/**
 * Protocol magic every party reads the same way: the sidecar's detector and HTTP/2 observer,
 * the mock server's protocol sniffing, record's gRPC message framing. Written once so that a
 * typo in one copy cannot make two parts of meshtap disagree about the wire.
 */

/** The HTTP/2 client connection preface (RFC 9113 §3.4). */
export const H2_PREFACE = Buffer.from('PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n', 'latin1');

/** A gRPC length-prefixed message starts with 1 flag byte and a 4-byte big-endian length. */
export const GRPC_FRAME_HEADER_BYTES = 5;

/** The tap wire version this build speaks (the `vN` of the gRPC package, tap-wire.ts). */
export const TAP_WIRE_VERSION = 2;

/**
 * Calls a sidecar's tap port serves at once on one connection (its SETTINGS_MAX_CONCURRENT_STREAMS,
 * proxy/tap-grpc-server.ts): a bound on what a flood of streams costs it. Callers that hold many
 * calls to one sidecar (the tap API) open a connection per this many (tap-wire.ts).
 */
export const TAP_STREAMS_PER_CONNECTION = 8;
