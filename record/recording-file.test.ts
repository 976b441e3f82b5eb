/**
 * The recording file: written through a temporary file and moved into place, never clobbering
 * without force; gzip or plain; the reader tolerates (and reports) a truncated last line,
 * refuses corrupt lines clearly and leaves the file untouched.
 */
import { appendFile, mkdtemp, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createRecordingHeader, exchangeFromEvent, type RecordedExchange } from './format.js';
import { joinGrpcFrames, splitGrpcFrames } from './grpc-frames.js';
import { readRecording } from './recording-reader.js';
import { createRecordingWriter } from './recording-writer.js';
import fc from 'fast-check';
import type { TapEvent } from '../tap-protocol/index.js';

const header = createRecordingHeader({ kind: 'proxy', address: '127.0.0.1:4190' }, '0.1.0');
const ex = (n: number): RecordedExchange => ({
  kind: 'end', id: `1.${n}`, ts: new Date(1_700_000_000_000 + n).toISOString(), proxy: 'in', src: '127.0.0.1:1', dst: '127.0.0.1:2',
  protocol: 'http/1.1', method: 'GET', scheme: 'http', authority: 'a', path: `/p/${n}`, status: 200,
});

describe('recording file', () => {
  let dir: string;
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'meshtap-rec-'));
  });
  afterEach(async () => rm(dir, { recursive: true, force: true }));

  for (const name of ['r.jsonl', 'r.jsonl.gz']) {
    it(`writes and reads back ${name}, leaving no temporary file`, async () => {
      const file = join(dir, name);
      const w = await createRecordingWriter(file, header);
      await expect(stat(file)).rejects.toThrow(); // not there until closed
      for (let i = 0; i < 50; i++) await w.write(ex(i));
      await w.close();
      const rec = await readRecording(file);
      expect(rec.header).toEqual(header);
      expect(rec.exchanges).toEqual(Array.from({ length: 50 }, (_, i) => ex(i)));
      expect(rec.issues).toEqual([]);
      expect(await readdir(dir)).toEqual([name]);
      const raw = await readFile(file);
      expect(raw[0] === 0x1f && raw[1] === 0x8b).toBe(name.endsWith('.gz'));
    });
  }

  it('never clobbers an existing file without force, and replaces it with force', async () => {
    const file = join(dir, 'r.jsonl');
    await writeFile(file, 'precious\n');
    await expect(createRecordingWriter(file, header)).rejects.toMatchObject({ code: 'MT_RECORDING_EXISTS' });
    expect(await readFile(file, 'utf8')).toBe('precious\n');
    // Appearing while recording: the final link refuses, the data stays in the temp file.
    const late = join(dir, 'late.jsonl');
    const w = await createRecordingWriter(late, header);
    await w.write(ex(1));
    await writeFile(late, 'someone else\n');
    await expect(w.close()).rejects.toThrow(/appeared while recording.*kept in/);
    expect(await readFile(late, 'utf8')).toBe('someone else\n');
    expect((await readRecording(w.tempPath)).exchanges).toEqual([ex(1)]);
    const f = await createRecordingWriter(file, header, { force: true });
    await f.close();
    expect((await readRecording(file)).exchanges).toEqual([]);
  });

  it('reads a partial file after a crash: flushed lines are there, the cut line is reported', async () => {
    const file = join(dir, 'r.jsonl.gz');
    const w = await createRecordingWriter(file, header, { flushIntervalMs: 10 });
    for (let i = 0; i < 5; i++) await w.write(ex(i));
    // No close(): only the periodic flush may put the lines on disk, as for a writer that crashed.
    const deadline = Date.now() + 20_000;
    let partial = await readRecording(w.tempPath);
    while (partial.exchanges.length < 5 && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 20));
      partial = await readRecording(w.tempPath);
    }
    expect(partial.exchanges).toEqual([0, 1, 2, 3, 4].map(ex));
    await w.abort();
  });

  it('reports a truncated last line and returns everything before it', async () => {
    for (const gz of [false, true]) {
      const file = join(dir, gz ? 't.jsonl.gz' : 't.jsonl');
      const text = [JSON.stringify(header), JSON.stringify(ex(1)), JSON.stringify(ex(2)).slice(0, 40)].join('\n');
      await writeFile(file, gz ? gzipSync(text) : text);
      const rec = await readRecording(file);
      expect(rec.exchanges).toEqual([ex(1)]);
      expect(rec.issues).toEqual([expect.objectContaining({ line: 3, kind: 'truncated-last-line', message: expect.stringMatching(/line 3 is cut short.*1 complete exchanges/) })]);
    }
  });

  it('refuses a corrupt line in the middle, naming it, and changes nothing; --lenient skips it', async () => {
    const file = join(dir, 'c.jsonl');
    const text = [JSON.stringify(header), JSON.stringify(ex(1)), '{"oops":', JSON.stringify(ex(3)), ''].join('\n');
    await writeFile(file, text);
    await expect(readRecording(file)).rejects.toMatchObject({ code: 'MT_RECORDING_CORRUPT', message: expect.stringMatching(/line 3: not valid JSON; nothing was changed/) });
    expect(await readFile(file, 'utf8')).toBe(text);
    const rec = await readRecording(file, { lenient: true });
    expect(rec.exchanges).toEqual([ex(1), ex(3)]);
    expect(rec.issues.map((i) => i.kind)).toEqual(['corrupt-line']);
  });

  it('refuses files that are not recordings', async () => {
    const file = join(dir, 'x.har');
    await writeFile(file, '{"log":{"entries":[]}}\n');
    await expect(readRecording(file)).rejects.toThrow(/x\.har is a HAR file, not a recording; convert it first: meshtap convert \S+x\.har -o \S+x\.jsonl/);
    await writeFile(file, '{"not":"a header"}\n');
    await expect(readRecording(file)).rejects.toThrow(/not a meshtap-recording header.*meshtap convert FILE.har -o FILE.jsonl/);
    await writeFile(file, '');
    await expect(readRecording(file)).rejects.toThrow(/empty file/);
    await expect(readRecording(join(dir, 'none'))).rejects.toMatchObject({ code: 'MT_RECORDING_READ' });
    await appendFile(join(dir, 'v.jsonl'), JSON.stringify({ ...header, version: 99 }) + '\n');
    await expect(readRecording(join(dir, 'v.jsonl'))).rejects.toThrow(/version 99 is newer/);
  });
});

describe('gRPC frames', () => {
  it('split(join(frames)) is the identity for any messages', () => {
    fc.assert(
      fc.property(fc.array(fc.tuple(fc.boolean(), fc.uint8Array({ maxLength: 300 }))), (msgs) => {
        const frames = msgs.map(([compressed, d]) => ({ compressed, data: Buffer.from(d).toString('base64'), size: d.length }));
        expect(splitGrpcFrames(joinGrpcFrames(frames))).toEqual(frames);
      }),
    );
  });

  it('marks a frame cut by the capture limit as truncated', () => {
    const bytes = joinGrpcFrames([{ compressed: false, data: Buffer.from('hello').toString('base64'), size: 5 }, { compressed: true, data: Buffer.from('world!').toString('base64'), size: 6 }]);
    const frames = splitGrpcFrames(bytes.subarray(0, bytes.length - 2), true);
    expect(frames).toEqual([
      { compressed: false, data: Buffer.from('hello').toString('base64'), size: 5 },
      { compressed: true, data: Buffer.from('worl').toString('base64'), size: 6, truncated: true },
    ]);
  });

  it('turns a gRPC end event body into frames', () => {
    const body = joinGrpcFrames([{ compressed: false, data: Buffer.from('a').toString('base64'), size: 1 }]);
    const out = exchangeFromEvent({ ...(ex(1) as unknown as TapEvent), kind: 'end', protocol: 'grpc', requestMessages: 1, requestBody: { size: body.length, truncated: false, encoding: 'base64', data: body.toString('base64') } });
    expect(out.requestMessages).toEqual([{ compressed: false, data: 'YQ==', size: 1 }]);
    expect(out.requestBody).toBeUndefined();
  });
});
