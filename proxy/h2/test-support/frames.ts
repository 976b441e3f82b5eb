/**
 * Test-only HTTP/2 frame builders, for hand-made conversations (padding, CONTINUATION,
 * GOAWAY, garbage) that real clients do not readily produce.
 */
import {
  FLAG_PADDED,
  FRAME_DATA,
  FRAME_GOAWAY,
  FRAME_HEADERS,
  FRAME_RST_STREAM,
  FRAME_SETTINGS,
  H2_PREFACE,
} from '../constants.js';

/** One frame: 9-byte header + payload. */
export function frame(type: number, flags: number, streamId: number, payload: Buffer = Buffer.alloc(0)): Buffer {
  const header = Buffer.alloc(9);
  header.writeUIntBE(payload.length, 0, 3);
  header[3] = type;
  header[4] = flags;
  header.writeUInt32BE(streamId >>> 0, 5);
  return Buffer.concat([header, payload]);
}

/** Adds the pad-length byte and `padBytes` of padding (sets PADDED). */
export function padded(type: number, flags: number, streamId: number, payload: Buffer, padBytes: number): Buffer {
  return frame(type, flags | FLAG_PADDED, streamId, Buffer.concat([Buffer.from([padBytes]), payload, Buffer.alloc(padBytes)]));
}

export function settings(entries: Array<[number, number]> = [], flags = 0): Buffer {
  const payload = Buffer.alloc(entries.length * 6);
  entries.forEach(([id, value], i) => {
    payload.writeUInt16BE(id, i * 6);
    payload.writeUInt32BE(value, i * 6 + 2);
  });
  return frame(FRAME_SETTINGS, flags, 0, payload);
}

export function headers(streamId: number, flags: number, block: Buffer): Buffer {
  return frame(FRAME_HEADERS, flags, streamId, block);
}

export function data(streamId: number, flags: number, payload: Buffer): Buffer {
  return frame(FRAME_DATA, flags, streamId, payload);
}

export function rstStream(streamId: number, code = 8): Buffer {
  const payload = Buffer.alloc(4);
  payload.writeUInt32BE(code);
  return frame(FRAME_RST_STREAM, 0, streamId, payload);
}

export function goaway(lastStreamId: number, code = 0): Buffer {
  const payload = Buffer.alloc(8);
  payload.writeUInt32BE(lastStreamId);
  payload.writeUInt32BE(code, 4);
  return frame(FRAME_GOAWAY, 0, 0, payload);
}

/** A client's opening bytes: preface + empty SETTINGS. */
export function clientStart(): Buffer {
  return Buffer.concat([H2_PREFACE, settings()]);
}

/** gRPC length-prefixed message. */
export function grpcMessage(body: Buffer, isCompressed = false): Buffer {
  const prefix = Buffer.alloc(5);
  prefix[0] = isCompressed ? 1 : 0;
  prefix.writeUInt32BE(body.length, 1);
  return Buffer.concat([prefix, body]);
}

/** Frame headers of one direction of a captured conversation (a test oracle, simple on purpose). */
export function listFrames(
  log: Array<{ fromClient: boolean; chunk: Buffer }>,
  isClient: boolean,
): Array<{ type: number; flags: number; streamId: number; length: number }> {
  let bytes = Buffer.concat(log.filter((c) => c.fromClient === isClient).map((c) => c.chunk));
  if (isClient) bytes = bytes.subarray(H2_PREFACE.length);
  const out: Array<{ type: number; flags: number; streamId: number; length: number }> = [];
  for (let at = 0; at + 9 <= bytes.length; ) {
    const length = bytes.readUIntBE(at, 3);
    out.push({ type: bytes[at + 3]!, flags: bytes[at + 4]!, streamId: bytes.readUInt32BE(at + 5) & 0x7fffffff, length });
    at += 9 + length;
  }
  return out;
}
