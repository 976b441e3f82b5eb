/**
 * GOAWAY from the server ends the client streams above its last-stream-id, in id order, once:
 * generated conversations (streams opened with growing, gapped ids, answered or not, GOAWAYs
 * with any ids, repeated or lowered) against a model of RFC 9113 §6.8. And a server that
 * repeats GOAWAY costs the observer per frame, not per frame and open stream: each 17-byte
 * GOAWAY once walked every open stream (1,000 open: 61 M steps per MiB of GOAWAYs, seconds of
 * the JS thread). That case runs under a vm timeout, so a return of it fails the test.
 */
import * as vm from 'node:vm';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { FLAG_END_HEADERS as EH, FLAG_END_STREAM as ES } from './constants.js';
import { encodeBlock } from './test-support/hpack-encoder.js';
import { clientStart, goaway, headers, settings } from './test-support/frames.js';
import { feedConversation, type LoggedChunk } from './test-support/recording-sink.js';

const C = (chunk: Buffer): LoggedChunk => ({ fromClient: true, chunk });
const S = (chunk: Buffer): LoggedChunk => ({ fromClient: false, chunk });
const REQ = encodeBlock([[':method', 'GET'], [':scheme', 'http'], [':authority', 'a'], [':path', '/']]);
const OK = encodeBlock([[':status', '200']]);

type Op = { kind: 'open'; gap: number } | { kind: 'answer'; pick: number } | { kind: 'goaway'; last: number };

describe('HTTP/2 observer: GOAWAY', () => {
  it('ends the streams above the lowest last-stream-id, in id order, as the model says', () => {
    const op: fc.Arbitrary<Op> = fc.oneof(
      fc.record({ kind: fc.constant('open' as const), gap: fc.nat({ max: 3 }) }),
      fc.record({ kind: fc.constant('answer' as const), pick: fc.nat() }),
      fc.record({ kind: fc.constant('goaway' as const), last: fc.oneof(fc.nat({ max: 40 }), fc.constant(0x7fffffff)) }),
    );
    fc.assert(
      fc.property(fc.array(op, { maxLength: 40 }), (ops) => {
        const log: LoggedChunk[] = [C(clientStart()), S(settings())];
        const want: string[] = [];
        const open: number[] = []; // ascending
        let lowest = Infinity;
        let next = 1;
        for (const o of ops) {
          if (o.kind === 'open') {
            const id = next + 2 * o.gap;
            next = id + 2;
            log.push(C(headers(id, EH | ES, REQ)));
            want.push(`req:${id}`);
            if (id > lowest) want.push(`end:${id}`);
            else open.push(id);
          } else if (o.kind === 'answer') {
            if (open.length === 0) continue;
            const [id] = open.splice(o.pick % open.length, 1);
            log.push(S(headers(id!, EH | ES, OK)));
            want.push(`rsp:${id}`, `end:${id}`);
          } else {
            log.push(S(goaway(o.last)));
            if (o.last < lowest) lowest = o.last;
            const ended: number[] = [];
            while (open.length > 0 && open[open.length - 1]! > lowest) ended.unshift(open.pop()!);
            want.push(...ended.map((id) => `end:${id}`)); // in id order
          }
        }
        const rec = feedConversation(log, { isClosing: false });
        expect(rec.calls).toEqual(want);
        for (const ex of rec.ended) if (ex.status === 0) expect(ex.error).toBe('goaway');
      }),
      { numRuns: 1_000 },
    );
  });

  it('a server repeating GOAWAY (300,000 frames, each lowering the id by one) over 10,000 open streams costs per frame', () => {
    // maxStreams raised from its default 1,000 so that a walk per frame and stream (3e9 steps)
    // is far from the work per frame (what the vm timeout tells apart).
    const log: LoggedChunk[] = [C(clientStart()), S(settings())];
    const opens: Buffer[] = [];
    for (let i = 0; i < 10_000; i++) opens.push(headers(2 * i + 1, EH | ES, REQ));
    log.push(C(Buffer.concat(opens)));
    const one = goaway(0);
    const frames = Buffer.alloc(one.length * 300_000);
    for (let i = 0; i < 300_000; i++) {
      one.copy(frames, i * one.length);
      frames.writeUInt32BE(0x7fffffff - i, i * one.length + 9);
    }
    log.push(S(frames), S(goaway(10_000)));
    const sandbox = vm.createContext({ feedConversation, log, rec: undefined });
    vm.runInContext('rec = feedConversation(log, { isClosing: false, limits: { maxStreams: 10_000 } })', sandbox, { timeout: 5_000 });
    const rec = sandbox.rec as ReturnType<typeof feedConversation>;
    // Streams 10001..19999 ended at the last GOAWAY, in id order; none before it.
    const ends = rec.calls.filter((c) => c.startsWith('end:'));
    expect(ends).toEqual(Array.from({ length: 5_000 }, (_, i) => `end:${10_001 + 2 * i}`));
    expect(rec.ended.every((ex) => ex.error === 'goaway')).toBe(true);
    expect(rec.giveUps).toEqual([]);
  });
});

