/**
 * decompressGrpc (replay sends, and compares, recorded compressed gRPC messages decompressed):
 * what was compressed comes back whole, and a recorded message that inflates past
 * MAX_DECOMPRESSED_MESSAGE_BYTES is refused with MT_REPLAY_GRPC_TOO_LARGE (the exchange is then
 * reported as failed). Before the bound, 1 MiB of gzip inflating to 1 GiB took replay 17 s and
 * 2.1 GB of memory; a 256 MiB recording line of such messages ran it out of memory.
 */
import { deflateSync, gzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { decompressGrpc, MAX_DECOMPRESSED_MESSAGE_BYTES } from './replay-grpc.js';

describe('decompressGrpc', () => {
  it('gives back what gzip and deflate compressed; uncompressed messages as they are', () => {
    const message = Buffer.from('hello '.repeat(1000));
    expect(decompressGrpc(gzipSync(message), true, 'gzip').equals(message)).toBe(true);
    expect(decompressGrpc(deflateSync(message), true, 'deflate').equals(message)).toBe(true);
    expect(decompressGrpc(message, false, 'gzip')).toBe(message);
    expect(() => decompressGrpc(message, true, 'snappy')).toThrow(expect.objectContaining({ code: 'MT_REPLAY_GRPC_ENCODING' }));
  });

  it('refuses a message that inflates past the bound (1 MiB of gzip members, 1 GiB inflated)', () => {
    // Concatenated gzip members inflate to their sum (RFC 1952 §2.2): a bomb in milliseconds.
    const member = gzipSync(Buffer.alloc(1024 * 1024));
    const members = (n: number): Buffer => Buffer.concat(Array.from({ length: n }, () => member));
    const bomb = members(1024);
    expect(bomb.length).toBeLessThan(2 * 1024 * 1024);
    expect(() => decompressGrpc(bomb, true, 'gzip')).toThrow(expect.objectContaining({ code: 'MT_REPLAY_GRPC_TOO_LARGE' }));
    expect(() => decompressGrpc(members(65), true, 'gzip')).toThrow(expect.objectContaining({ code: 'MT_REPLAY_GRPC_TOO_LARGE' }));
    expect(decompressGrpc(members(64), true, 'gzip').length).toBe(MAX_DECOMPRESSED_MESSAGE_BYTES);
  });
});
