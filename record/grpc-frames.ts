/**
 * gRPC length-prefixed message framing: 1 byte compressed flag + 4 bytes big-endian length +
 * payload. Captured bodies are the raw stream; recordings keep one frame per message.
 */
import { GRPC_FRAME_HEADER_BYTES } from '../tap-protocol/index.js';
import type { GrpcFrame } from './format.js';

export { GRPC_FRAME_HEADER_BYTES };

/**
 * Splits a captured length-prefixed stream into frames. When the capture was cut
 * (`truncated`) or ends mid-frame, the last frame carries what was captured, `truncated: true`.
 * A partial 1-4 byte prefix at the very end is dropped (it carries no payload).
 */
export function splitGrpcFrames(bytes: Buffer, truncated = false): GrpcFrame[] {
  const frames: GrpcFrame[] = [];
  let at = 0;
  while (at + GRPC_FRAME_HEADER_BYTES <= bytes.length) {
    const compressed = bytes[at] === 1;
    const size = bytes.readUInt32BE(at + 1);
    const start = at + GRPC_FRAME_HEADER_BYTES;
    const end = Math.min(start + size, bytes.length);
    const frame: GrpcFrame = { compressed, data: bytes.subarray(start, end).toString('base64'), size };
    if (end - start < size) frame.truncated = true;
    frames.push(frame);
    at = end;
  }
  if (truncated && frames.length > 0 && at < bytes.length) frames[frames.length - 1]!.truncated = true;
  return frames;
}

/** Joins frames back into the length-prefixed stream (what a gRPC peer sends). */
export function joinGrpcFrames(frames: readonly GrpcFrame[]): Buffer {
  const parts: Buffer[] = [];
  for (const f of frames) {
    const data = Buffer.from(f.data, 'base64');
    const prefix = Buffer.alloc(GRPC_FRAME_HEADER_BYTES);
    prefix[0] = f.compressed ? 1 : 0;
    prefix.writeUInt32BE(data.length, 1);
    parts.push(prefix, data);
  }
  return Buffer.concat(parts);
}
