/**
 * review10: a recording whose lines are JSON objects with the right `id`/`protocol`/`method`/
 * `path`/`ts` but a damaged field (headers that are not a list, a body whose data is a number,
 * gRPC frames that are not frames) was accepted by the reader. `replay` then sent the file's
 * other requests to the target and failed the damaged one with an internal TypeError
 * ("(headers ?? []).filter is not a function"), `mock` answered it 502 with the same text, and
 * `convert` crashed with "unexpected error: TypeError" and a stack trace. Now the reader refuses
 * the file naming the line and the field, before anything is sent, served or written.
 */
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { runMeshtap } from './support/meshtap-process.js';

const dir = mkdtempSync(join(tmpdir(), 'mt-review10-fields-'));
const header = { format: 'meshtap-recording', version: 1, created: '2026-12-07T05:00:00.000Z', source: { kind: 'other', description: 'review10' }, meshtap: '0.1.0' };
const good = {
  kind: 'end', id: '1.1', ts: '2026-12-07T05:00:00.100Z', proxy: 'in', src: '127.0.0.1:5000', dst: '127.0.0.1:8080',
  protocol: 'http/1.1', method: 'GET', scheme: 'http', authority: 'web', path: '/ok', requestHeaders: [['Host', 'web']],
  status: 200, responseHeaders: [['Content-Type', 'text/plain']], trailers: [], durationMs: 1, requestBytes: 0, responseBytes: 2,
  responseBody: { size: 2, truncated: false, encoding: 'utf8', data: 'ok' },
};
const grpc = {
  ...good, id: '2.1', protocol: 'grpc', method: 'POST', path: '/a.B/C', responseBody: undefined, grpcStatus: 0,
  requestMessages: [{ compressed: false, data: 'CgNhYmM=', size: 5 }], responseMessages: [{ compressed: false, data: '', size: 0 }],
};

/** Damaged exchanges, each with the words the refusal must name. */
const DAMAGED: Array<{ name: string; exchange: object; says: RegExp }> = [
  { name: 'request headers as a string', exchange: { ...good, requestHeaders: 'Host: web' }, says: /"requestHeaders" is not a list/ },
  { name: 'a response header that is not a pair', exchange: { ...good, responseHeaders: [['Content-Type']] }, says: /"responseHeaders"\[0\]/ },
  { name: 'a header value that is a number', exchange: { ...good, trailers: [['x-n', 5]] }, says: /"trailers"\[0\]/ },
  { name: 'a body whose data is a number', exchange: { ...good, responseBody: { size: 1, truncated: false, encoding: 'base64', data: 5 } }, says: /"responseBody"\.data/ },
  { name: 'a body with an unknown encoding', exchange: { ...good, requestBody: { size: 1, truncated: false, encoding: 'hex', data: '00' } }, says: /"requestBody"\.encoding/ },
  { name: 'a status that is text', exchange: { ...good, status: 'OK' }, says: /"status" "OK"/ },
  { name: 'a duration that is text', exchange: { ...good, durationMs: '1ms' }, says: /"durationMs"/ },
  { name: 'gRPC frames as a string', exchange: { ...grpc, responseMessages: 'x' }, says: /"responseMessages" is not a list/ },
  { name: 'a gRPC frame without data', exchange: { ...grpc, requestMessages: [{ data: 7 }] }, says: /"requestMessages"\[0\]/ },
  { name: 'a gRPC message count instead of frames', exchange: { ...grpc, requestMessages: 1 }, says: /"requestMessages" is not a list/ },
];

function writeRecording(name: string, exchanges: object[]): string {
  const file = join(dir, name);
  writeFileSync(file, [header, ...exchanges].map((l) => JSON.stringify(l)).join('\n') + '\n');
  return file;
}

let target: Server;
const seen: string[] = [];
afterAll(async () => {
  target?.closeAllConnections();
  await new Promise((r) => target?.close(r));
  rmSync(dir, { recursive: true, force: true });
});

async function targetUrl(): Promise<string> {
  if (!target) {
    target = createServer((req, res) => {
      seen.push(req.url!);
      res.end('ok');
    });
    await new Promise<void>((r) => target.listen(0, '127.0.0.1', r));
  }
  return `http://127.0.0.1:${(target.address() as AddressInfo).port}`;
}

describe('review10: damaged fields in a recording are refused when it is read', () => {
  it.each(DAMAGED)('$name: replay, mock and convert refuse the file naming line 3 and the field; nothing is sent or written', async ({ name, exchange, says }) => {
    const file = writeRecording(`${name.replace(/\W+/g, '-')}.jsonl`, [good, exchange, good]);
    const url = await targetUrl();
    seen.length = 0;
    const replay = await runMeshtap(['replay', file, '--target', url, '--speed', 'max']);
    expect(replay.code, replay.stderr).toBe(1);
    expect(replay.stderr.trim().split('\n'), replay.stderr).toHaveLength(1);
    expect(replay.stderr).toMatch(/line 3: /);
    expect(replay.stderr).toMatch(says);
    expect(replay.stderr).not.toMatch(/TypeError|is not a function|unexpected error/);
    expect(seen, 'no request reached the target').toEqual([]);

    const mock = await runMeshtap(['mock', file, '--listen', '127.0.0.1:0'], { timeoutMs: 10_000 });
    expect(mock.code, mock.stderr).toBe(1);
    expect(mock.stderr).toMatch(says);

    const out = join(dir, `${name.replace(/\W+/g, '-')}.har`);
    const convert = await runMeshtap(['convert', file, '--format', 'har', '-o', out]);
    expect(convert.code, convert.stderr).toBe(1);
    expect(convert.stderr.trim().split('\n'), convert.stderr).toHaveLength(1);
    expect(convert.stderr).toMatch(says);
    expect(existsSync(out)).toBe(false);
  });

  it('the same file with the damaged line skipped by --lenient replays the others', async () => {
    const file = writeRecording('lenient.jsonl', [good, { ...good, requestHeaders: 'Host: web' }, { ...good, id: '1.2', path: '/ok2' }]);
    const url = await targetUrl();
    seen.length = 0;
    const replay = await runMeshtap(['replay', file, '--target', url, '--speed', 'max', '--lenient']);
    expect(replay.stderr).toMatch(/line 3: "requestHeaders" is not a list.*skipped/);
    expect(seen.sort()).toEqual(['/ok', '/ok2']);
  });

  it('well-formed recordings with every optional field still read (h2 status 0, gRPC frames with atMs, base64 bodies)', async () => {
    const file = writeRecording('good.jsonl', [
      good,
      { ...good, id: '1.2', protocol: 'h2', status: 0, responseBody: { size: 3, truncated: true, encoding: 'base64', data: 'AAE=' } },
      { ...grpc, requestMessages: [{ compressed: false, data: 'CgNhYmM=', size: 5, atMs: 1.5 }], requestTrailers: [] },
    ]);
    const out = join(dir, 'good.har');
    const convert = await runMeshtap(['convert', file, '--format', 'har', '-o', out]);
    expect(convert.code, convert.stderr).toBe(0);
    expect(existsSync(out)).toBe(true);
  });
});

/**
 * review10: `convert` crashed with "unexpected error: TypeError" and a stack trace on a HAR entry
 * with a bad URL, no response or no httpVersion, and on a HAR output in a missing directory;
 * a header whose value is a number went into the recording (which replay then could not use);
 * `convert web.jsonl -o web.jsonl.gz` wrote HAR text (not gzip) under a recording's name.
 */
describe('review10: convert refuses what it cannot convert, one line each', () => {
  const entry = (over: object) => ({ startedDateTime: '2026-01-01T00:00:00Z', time: 3, request: { method: 'GET', url: 'http://a/b', headers: [] }, response: { status: 200, headers: [], content: { size: 2, text: 'ok' } }, ...over });
  const HARS: Array<[string, object, RegExp]> = [
    ['a URL that is not one', entry({ request: { method: 'GET', url: '::' } }), /entry 1: request\.url "::" is not a URL/],
    ['no response', entry({ response: undefined }), /entry 1 has no response/],
    ['no startedDateTime', entry({ startedDateTime: undefined }), /entry 1 has no startedDateTime/],
    ['a header value that is a number', entry({ request: { method: 'GET', url: 'http://a/b', headers: [{ name: 'x', value: 5 }] } }), /entry 1: "requestHeaders"\[0\]/],
  ];
  it.each(HARS)('%s', async (_name, bad, says) => {
    const file = join(dir, 'bad.har');
    writeFileSync(file, JSON.stringify({ log: { version: '1.2', creator: { name: 't', version: '1' }, entries: [entry({}), bad] } }));
    const out = join(dir, 'from-har.jsonl');
    const r = await runMeshtap(['convert', file, '-o', out]);
    expect(r.code, r.stderr).toBe(1);
    expect(r.stderr.trim().split('\n'), r.stderr).toHaveLength(1);
    expect(r.stderr).toMatch(says);
    expect(r.stderr).not.toMatch(/TypeError|unexpected error/);
    expect(existsSync(out)).toBe(false);
  });

  it('an entry without httpVersion converts (HTTP/1.1), and reads back', async () => {
    const file = join(dir, 'nover.har');
    writeFileSync(file, JSON.stringify({ log: { version: '1.2', creator: { name: 't', version: '1' }, entries: [entry({})] } }));
    const out = join(dir, 'nover.jsonl');
    const r = await runMeshtap(['convert', file, '-o', out]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toBe(`meshtap: wrote 1 exchange to ${out}\n`);
    const back = await runMeshtap(['convert', out, '--format', 'har']);
    expect(back.code, back.stderr).toBe(0);
  });

  it('a HAR output in a missing directory: one line, exit 1', async () => {
    const file = writeRecording('for-har.jsonl', [good]);
    const r = await runMeshtap(['convert', file, '--format', 'har', '-o', join(dir, 'missing', 'x.har')]);
    expect(r.code, r.stderr).toBe(1);
    expect(r.stderr).toMatch(/^meshtap: cannot write .*missing\/x\.har: directory .*missing does not exist\n$/);
  });

  it('a recording converted without --format to a .jsonl/.gz name is refused (it would be HAR text)', async () => {
    const file = writeRecording('for-name.jsonl', [good]);
    for (const name of ['copy.jsonl', 'copy.jsonl.gz']) {
      const out = join(dir, name);
      const r = await runMeshtap(['convert', file, '-o', out]);
      expect(r.code, r.stderr).toBe(2);
      expect(r.stderr).toMatch(/is a recording and converts to HAR; name the output \.har/);
      expect(existsSync(out)).toBe(false);
    }
  });
});
