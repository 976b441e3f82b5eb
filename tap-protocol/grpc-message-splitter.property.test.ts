/**
 * createGrpcMessageSplitter (how `meshtap tap` cuts the sidecar's gRPC stream into tap messages,
 * tap-h2-reader.ts) over generated streams cut at generated points: exactly the messages, the
 * same error at the same message whatever the cuts, and a large message in small reads read in
 * time linear in its size. The reader once joined the bytes it held to every read: a 32 MiB
 * message in 16 KiB reads was 2,048 copies of up to 32 MiB. That case runs under a vm timeout, so
 * a return of it fails the test instead of stalling it.
 */
import * as vm from 'node:vm';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { createGrpcMessageSplitter, type GrpcSplitError } from './grpc-message-splitter.js';

const MAX = 1000;

function framed(flag: number, body: Buffer, declared = body.length): Buffer {
  const prefix = Buffer.alloc(5);
  prefix[0] = flag;
  prefix.writeUInt32BE(declared, 1);
  return Buffer.concat([prefix, body]);
}

describe('gRPC message splitter (properties)', () => {
  it('gives every message, or the first error, however the stream is cut', () => {
    const message = fc.record({
      flag: fc.constantFrom(0, 0, 0, 0, 1, 2),
      body: fc.uint8Array({ maxLength: 40 }).map((a) => Buffer.from(a)),
      tooLarge: fc.constantFrom(false, false, false, false, false, false, false, false, false, true),
    });
    fc.assert(
      fc.property(fc.array(message, { maxLength: 8 }), fc.array(fc.nat(), { maxLength: 10 }), fc.nat({ max: 4 }), (messages, cuts, tail) => {
        // The reference: what a reader of the whole stream at once finds.
        const want: string[] = [];
        let error: GrpcSplitError | undefined;
        for (const m of messages) {
          if (m.flag !== 0) error = { kind: 'compressed' };
          else if (m.tooLarge) error = { kind: 'too-large', length: MAX + 1 };
          if (error) break;
          want.push(m.body.toString('hex'));
        }
        const stream = Buffer.concat([
          ...messages.map((m) => framed(m.flag, m.body, m.tooLarge ? MAX + 1 : m.body.length)),
          Buffer.from([0, 0, 0, 0, 9].slice(0, tail)), // a partial prefix left at the end
        ]);
        const at = [...new Set(cuts.map((c) => c % (stream.length + 1)))].sort((a, b) => a - b);
        const splitter = createGrpcMessageSplitter(MAX);
        const got: string[] = [];
        let gotError: GrpcSplitError | undefined;
        let from = 0;
        for (const c of [...at, stream.length]) {
          const r = splitter.push(stream.subarray(from, c));
          from = c;
          if (r.error) {
            gotError = r.error;
            break;
          }
          got.push(...r.messages.map((b) => b.toString('hex')));
        }
        // Messages completed in the read that held the error are not given (the call fails).
        if (error) {
          expect(gotError).toEqual(error);
          expect(want.slice(0, got.length)).toEqual(got);
        } else {
          expect(gotError).toBeUndefined();
          expect(got).toEqual(want);
        }
      }),
      { numRuns: 2_000 },
    );
  });

  it('once failed, reads no more', () => {
    const splitter = createGrpcMessageSplitter(MAX);
    expect(splitter.push(framed(1, Buffer.from('x'))).error).toEqual({ kind: 'compressed' });
    expect(splitter.push(framed(0, Buffer.from('y')))).toEqual({ messages: [], error: { kind: 'compressed' } });
  });

  it('reads a 32 MiB message that comes in 16 KiB reads in linear time', () => {
    const size = 32 * 1024 * 1024;
    const stream = Buffer.concat([framed(0, Buffer.alloc(size, 7)), framed(0, Buffer.from('after'))]);
    const reads: Buffer[] = [];
    for (let at = 0; at < stream.length; at += 16 * 1024) reads.push(stream.subarray(at, at + 16 * 1024));
    const sandbox = vm.createContext({ splitter: createGrpcMessageSplitter(64 * 1024 * 1024), reads });
    const messages = vm.runInContext('reads.flatMap((r) => splitter.push(r).messages)', sandbox, { timeout: 5_000 }) as Buffer[];
    expect(messages.map((m) => m.length)).toEqual([size, 5]);
    expect(messages[0]!.equals(Buffer.alloc(size, 7))).toBe(true);
    expect(messages[1]!.toString()).toBe('after');
  });
});
