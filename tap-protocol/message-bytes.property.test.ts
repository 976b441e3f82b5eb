/**
 * createLineSplitter (the tap API stream's NDJSON reader in `meshtap tap`) over generated
 * streams cut at generated points: exactly the lines of the whole stream (CRLF tolerated, empty
 * lines dropped, a last line without its newline kept back), and a long line in small chunks
 * read in time linear in its length. It once joined the partial line to every chunk and
 * rescanned it: a 16 MiB line in 1 KiB chunks took 206 s of the CLI's thread (1 MiB: 1 s). The
 * long case runs under a vm timeout, so a return of that fails the test instead of stalling it.
 */
import * as vm from 'node:vm';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { createLineSplitter } from './message-bytes.js';

/** The lines of a whole stream, as the splitter's contract says (the reference). */
function linesOf(stream: Buffer): string[] {
  const text = stream.toString('latin1');
  const parts = text.split('\n');
  parts.pop(); // the part after the last newline is not a line yet
  return parts.map((l) => (l.endsWith('\r') ? l.slice(0, -1) : l)).filter((l) => l !== '');
}

/** Cuts `stream` before each index in `cuts` (sorted, deduplicated, inside). */
function cutAt(stream: Buffer, cuts: number[]): Buffer[] {
  const at = [...new Set(cuts.map((c) => c % (stream.length + 1)))].sort((a, b) => a - b);
  const out: Buffer[] = [];
  let from = 0;
  for (const c of at) {
    out.push(stream.subarray(from, c));
    from = c;
  }
  out.push(stream.subarray(from));
  return out;
}

const sandbox = vm.createContext({ splitter: undefined, chunks: [] as Buffer[], got: 0 });

describe('tap API line splitter (properties)', () => {
  it('gives the lines of the whole stream, however it is cut', () => {
    const piece = fc.constantFrom('a', 'bc', '{"type":"event"}', '\n', '\r', '\r\n', '\n\n', ' ', 'é');
    fc.assert(
      fc.property(fc.array(piece, { maxLength: 40 }), fc.array(fc.nat(), { maxLength: 12 }), (pieces, cuts) => {
        const stream = Buffer.from(pieces.join(''), 'latin1');
        const splitter = createLineSplitter(1 << 20);
        const got = cutAt(stream, cuts).flatMap((c) => splitter.push(c).map((l) => l.toString('latin1')));
        expect(got).toEqual(linesOf(stream));
      }),
      { numRuns: 2_000 },
    );
  });

  it('refuses a partial line over the bound, counting what it held from earlier chunks', () => {
    const splitter = createLineSplitter(10);
    expect(splitter.push(Buffer.from('ok\n12345'))).toEqual([Buffer.from('ok')]);
    expect(() => splitter.push(Buffer.from('678901'))).toThrow(/longer than 10 bytes/);
    // A line that ends within the chunk is not a partial line: it is given whatever its length.
    expect(createLineSplitter(4).push(Buffer.from('123456789\n')).map(String)).toEqual(['123456789']);
  });

  it('reads an 8 MiB line that comes in 1 KiB chunks in linear time (it took ~60 s)', () => {
    const chunk = Buffer.alloc(1024, 0x61);
    sandbox.splitter = createLineSplitter(64 * 1024 * 1024);
    sandbox.chunks = [...Array.from({ length: 8 * 1024 }, () => chunk), Buffer.from('\r\nnext\n')];
    const lines = vm.runInContext('chunks.flatMap((c) => splitter.push(c))', sandbox, { timeout: 5_000 }) as Buffer[];
    expect(lines.map((l) => l.length)).toEqual([8 * 1024 * 1024, 4]);
    expect(lines[0]!.equals(Buffer.alloc(8 * 1024 * 1024, 0x61))).toBe(true);
  });
});
