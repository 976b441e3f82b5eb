/**
 * Cuts a gRPC response stream (length-prefixed messages: a flag byte, a 4-byte big-endian
 * length, the message) into messages, for a reader fed by HTTP/2 reads of any size
 * (tap-h2-reader.ts). Tap messages are never compressed, so a set flag is an error, as is a
 * message over the reader's limit.
 *
 * A message that spans reads is held as its pieces and joined once, when its last byte has
 * come: each byte is copied a bounded number of times. (Joining what was held to every read,
 * as the reader once did, copied a 64 MiB message once per 16 KiB read: quadratic.)
 */
import { GRPC_FRAME_HEADER_BYTES } from './constants.js';

/** Why the stream cannot be read on: `compressed` flag set, or a message over the limit. */
export type GrpcSplitError = { kind: 'compressed' } | { kind: 'too-large'; length: number };

export interface GrpcMessageSplitter {
  /**
   * The messages `chunk` completes, in order (views; valid as long as the chunk is), or an
   * error: then the messages of this read are not returned and the splitter reads no more.
   */
  push(chunk: Buffer): { messages: Buffer[]; error?: GrpcSplitError };
}

const NONE: Buffer[] = [];

export function createGrpcMessageSplitter(maxMessageBytes: number): GrpcMessageSplitter {
  /** Bytes of an incomplete message (copies), and their count. */
  let held: Buffer[] = [];
  let heldBytes = 0;
  /** Prefix + body bytes of the held message once its prefix is known (checked), else 0. */
  let needed = 0;
  let failed: GrpcSplitError | undefined;
  return {
    push(chunk) {
      if (failed) return { messages: NONE, error: failed };
      // The held message is still incomplete after this read: keep the read, nothing to cut.
      if (needed > 0 && heldBytes + chunk.length < needed) {
        held.push(Buffer.from(chunk));
        heldBytes += chunk.length;
        return { messages: NONE };
      }
      const buf = heldBytes > 0 ? Buffer.concat([...held, chunk], heldBytes + chunk.length) : chunk;
      held = [];
      heldBytes = 0;
      needed = 0;
      const messages: Buffer[] = [];
      let off = 0;
      while (buf.length - off >= GRPC_FRAME_HEADER_BYTES) {
        if (buf[off] !== 0) return { messages: NONE, error: (failed = { kind: 'compressed' }) };
        const length = buf.readUInt32BE(off + 1);
        if (length > maxMessageBytes) return { messages: NONE, error: (failed = { kind: 'too-large', length }) };
        if (buf.length - off - GRPC_FRAME_HEADER_BYTES < length) {
          needed = GRPC_FRAME_HEADER_BYTES + length;
          break;
        }
        messages.push(buf.subarray(off + GRPC_FRAME_HEADER_BYTES, off + GRPC_FRAME_HEADER_BYTES + length));
        off += GRPC_FRAME_HEADER_BYTES + length;
      }
      if (off < buf.length) {
        held.push(Buffer.from(buf.subarray(off)));
        heldBytes = buf.length - off;
      }
      return { messages };
    },
  };
}
