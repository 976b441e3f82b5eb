/**
 * gRPC over HTTP/2 details the observer needs: counting length-prefixed messages in one
 * direction of a stream (across DATA frames and chunk boundaries, without copying), and
 * reading grpc-status / grpc-message from trailers.
 */
import type { HeaderList } from '../../tap-protocol/index.js';
import { GRPC_FRAME_HEADER_BYTES } from './constants.js';
import { parseGrpcStatus } from './grpc-status.js';

/** Counts messages of one direction: a 5-byte prefix (flag + big-endian length), then the body. */
export class GrpcMessageCounter {
  messages = 0;
  isCompressed = false;
  /** Prefix bytes read of the current message (0..5). */
  private prefixFill = 0;
  private bodyLength = 0;
  private bodyLeft = 0;

  feed(buf: Buffer, start: number, end: number): void {
    let pos = start;
    while (pos < end) {
      if (this.prefixFill < GRPC_FRAME_HEADER_BYTES) {
        const b = buf[pos++]!;
        if (this.prefixFill === 0) {
          if (b === 1) this.isCompressed = true;
          this.bodyLength = 0;
        } else {
          this.bodyLength = this.bodyLength * 256 + b;
        }
        if (++this.prefixFill === GRPC_FRAME_HEADER_BYTES) {
          this.bodyLeft = this.bodyLength;
          if (this.bodyLeft === 0) this.completeMessage();
        }
        continue;
      }
      const take = Math.min(this.bodyLeft, end - pos);
      pos += take;
      this.bodyLeft -= take;
      if (this.bodyLeft === 0) this.completeMessage();
    }
  }

  private completeMessage(): void {
    this.messages++;
    this.prefixFill = 0;
  }
}

/** True for request content types that mark a gRPC call (`application/grpc`, `+proto`, …). */
export function isGrpcContentType(headers: HeaderList): boolean {
  for (const [name, value] of headers) {
    if (name === 'content-type') return value.startsWith('application/grpc');
  }
  return false;
}

/**
 * grpc-status and (percent-decoded) grpc-message from a trailer block, when present;
 * `isMalformed` when a grpc-status field was there but not a number.
 */
export function readGrpcStatus(headers: HeaderList): { status?: number; message?: string; isMalformed?: boolean } {
  let status: number | undefined;
  let message: string | undefined;
  let isMalformed: boolean | undefined;
  for (const [name, value] of headers) {
    if (name === 'grpc-status') {
      status = parseGrpcStatus(value);
      isMalformed = status === undefined ? true : undefined;
    } else if (name === 'grpc-message') {
      message = percentDecode(value);
    }
  }
  return { status, message, isMalformed };
}

/**
 * gRPC percent-encoding (PROTOCOL-HTTP2.md): `%XX` are UTF-8 bytes; anything malformed is
 * kept as it was rather than dropped, as the gRPC spec asks of receivers.
 */
export function percentDecode(value: string): string {
  if (!value.includes('%')) return Buffer.from(value, 'latin1').toString('utf8');
  const bytes = Buffer.from(value, 'latin1');
  const out = Buffer.allocUnsafe(bytes.length);
  let n = 0;
  for (let i = 0; i < bytes.length; i++) {
    const b = bytes[i]!;
    if (b === 0x25 && i + 2 < bytes.length && isHex(bytes[i + 1]!) && isHex(bytes[i + 2]!)) {
      out[n++] = parseInt(String.fromCharCode(bytes[i + 1]!, bytes[i + 2]!), 16);
      i += 2;
    } else {
      out[n++] = b;
    }
  }
  return out.toString('utf8', 0, n);
}

function isHex(b: number): boolean {
  return (b >= 0x30 && b <= 0x39) || (b >= 0x41 && b <= 0x46) || (b >= 0x61 && b <= 0x66);
}
