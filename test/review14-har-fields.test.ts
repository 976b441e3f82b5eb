/**
 * review14: a recording converted to HAR and back (`meshtap convert`, the real CLI) lost the two
 * members that decide what `mock` serves and `replay` sends: `unprocessed` (an HTTP/2 stream its
 * server never processed, unproc13) and `responseComplete` (a response seen whole before an error,
 * small13). Through HAR, a grpc-js call refused then retried put the refused attempt back in the
 * mock's rotation (every other call got UNAVAILABLE), and an HTTP/1 answer seen whole before the
 * observer gave up on its connection was no answer any more. The real mock process, grpc-js and
 * curl as its clients.
 */
import * as grpc from '@grpc/grpc-js';
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { runMeshtap, spawnMeshtap, type CliProcess } from './support/meshtap-process.js';
import { recordedCall } from './support/recorded-exchange.js';

const run = promisify(execFile);
const dir = mkdtempSync(join(tmpdir(), 'mt-review14-har-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const OK_MESSAGE = Buffer.from([0, 0, 0, 0, 2, 0x6f, 0x6b]); // one gRPC message: "ok"
const exchanges = [
  // grpc-js's first attempt, refused before any response: its client reports UNAVAILABLE and retries.
  recordedCall({ id: '1.1', ts: '2026-12-07T16:00:00.000Z', error: 'reset', grpcStatus: 14, unprocessed: 'refused', durationMs: 1 }),
  recordedCall({
    id: '1.3', ts: '2026-12-07T16:00:00.010Z', status: 200, grpcStatus: 0, responseHeaders: [[':status', '200'], ['content-type', 'application/grpc']],
    trailers: [['grpc-status', '0']], responseMessages: [{ compressed: false, size: 2, data: OK_MESSAGE.subarray(5).toString('base64') }],
  }),
  // An HTTP/1 answer seen whole; then the observer gave up on the connection.
  {
    ...recordedCall({ id: '2.1', ts: '2026-12-07T16:00:01.000Z', protocol: 'http/1.1', method: 'GET', path: '/whole', status: 200 }),
    responseHeaders: [['Content-Type', 'text/plain']], responseBody: { size: 5, truncated: false, encoding: 'utf8' as const, data: 'whole' },
    error: 'observer-gave-up', responseComplete: true as const,
  },
];
const header = { format: 'meshtap-recording', version: 1, created: '2026-12-07T16:00:00.000Z', source: { kind: 'proxy', address: '127.0.0.1:4190' }, meshtap: '0.1.0' };
const original = join(dir, 'calls.jsonl');
writeFileSync(original, [header, ...exchanges].map((l) => JSON.stringify(l)).join('\n') + '\n');

describe('review14: HAR keeps what mock and replay read', () => {
  let mock: CliProcess | undefined;
  afterEach(async () => {
    mock?.kill();
    await mock?.done;
    mock = undefined;
  });

  let trips = 0;
  const roundTrip = async (): Promise<string> => {
    const har = join(dir, `calls-${++trips}.har`);
    const back = join(dir, `back-${trips}.jsonl`);
    expect((await runMeshtap(['convert', original, '-o', har], { timeoutMs: 90_000 })).code).toBe(0);
    expect((await runMeshtap(['convert', har, '-o', back], { timeoutMs: 90_000 })).code).toBe(0);
    return back;
  };

  it('recording -> HAR -> recording keeps unprocessed and responseComplete', async () => {
    const lines = readFileSync(await roundTrip(), 'utf8').trim().split('\n').slice(1).map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(lines.map((l) => [l.id, l.unprocessed, l.responseComplete])).toEqual([
      ['1.1', 'refused', undefined],
      ['1.3', undefined, undefined],
      ['2.1', undefined, true],
    ]);
  }, 240_000);

  it('mock serves the round-tripped recording as it serves the original: the retry answer every time, the whole HTTP/1 answer', async () => {
    const back = await roundTrip();
    mock = spawnMeshtap(['mock', back, '--listen', '127.0.0.1:0'], { timeoutMs: 120_000 });
    const address = /listening (\S+)/.exec(await mock.waitForStderr(/listening \S+\n/))![1]!;
    const client = new grpc.Client(address, grpc.credentials.createInsecure());
    try {
      const codes: number[] = [];
      for (let i = 0; i < 4; i++) {
        codes.push(await new Promise<number>((resolve) => client.makeUnaryRequest('/pkg.Svc/Call', (b: Buffer) => b, (b: Buffer) => b, Buffer.alloc(0), (err) => resolve(err ? err.code : grpc.status.OK))));
      }
      expect(codes).toEqual([0, 0, 0, 0]);
    } finally {
      client.close();
    }
    const { stdout } = await run('curl', ['-sS', `http://${address}/whole`]);
    expect(stdout).toBe('whole');
  }, 240_000);
});
