/**
 * `meshtap convert` through the real CLI. Regression (issue 11 item 1): `convert FILE --to har`,
 * the command the README and `convert --help` gave, wrote `"entries": []` and exited 0, because
 * `--to` is also the shared destination filter (`--to deploy/NAME`) and `har` matched no
 * workload. The output format now has its own flag (`--format`) and a format name given to a
 * filter flag is refused with the right spelling.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { runMeshtap } from './support/meshtap-process.js';

const dir = mkdtempSync(join(tmpdir(), 'mt-convert-'));
const recording = join(dir, 'web.jsonl');
const exchange = (id: string, path: string, dstWorkload: string) => ({
  kind: 'end', id, ts: '2025-03-01T10:00:01.250Z', proxy: 'out', src: '127.0.0.1:51234', dst: '127.0.0.1:8080',
  dstWorkload, dstNamespace: 'shop', protocol: 'http/1.1', method: 'GET', scheme: 'http', authority: 'svc:8080', path,
  requestHeaders: [['Host', 'svc:8080']], status: 200, responseHeaders: [['Content-Type', 'text/plain']], trailers: [],
  durationMs: 3.4, requestBytes: 0, responseBytes: 2, responseBody: { size: 2, truncated: false, encoding: 'utf8', data: 'ok' },
});
writeFileSync(
  recording,
  [
    { format: 'meshtap-recording', version: 1, created: '2025-03-01T10:00:00.000Z', source: { kind: 'proxy', address: '127.0.0.1:4190' }, meshtap: '0.1.0' },
    exchange('1.1', '/emoji/list', 'deploy/emoji'),
    exchange('2.1', '/votes', 'deploy/voting'),
  ].map((l) => JSON.stringify(l)).join('\n') + '\n',
);
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const urls = (har: string) => (JSON.parse(har) as { log: { entries: Array<{ request: { url: string } }> } }).log.entries.map((e) => e.request.url);

describe('meshtap convert', () => {
  it('refuses `--to har` (a filter flag) with the flag to use instead, and writes nothing', async () => {
    const r = await runMeshtap(['convert', recording, '--to', 'har']);
    expect(r.code).toBe(2);
    expect(r.stdout).toBe('');
    expect(r.stderr).toMatch(/--to is a traffic filter.*--format har/);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
  });

  it('writes every exchange with --format har, and --to deploy/NAME still filters', async () => {
    const all = await runMeshtap(['convert', recording, '--format', 'har']);
    expect(all.code).toBe(0);
    expect(urls(all.stdout)).toEqual(['http://svc:8080/emoji/list', 'http://svc:8080/votes']);
    const emoji = await runMeshtap(['convert', recording, '--format', 'har', '--to', 'deploy/emoji']);
    expect(emoji.code).toBe(0);
    expect(urls(emoji.stdout)).toEqual(['http://svc:8080/emoji/list']);
  });

  it('reads the input kind from the file: recording -> HAR -> recording without --format', async () => {
    const har = join(dir, 'web.har');
    const toHar = await runMeshtap(['convert', recording, '-o', har]);
    expect(toHar.code).toBe(0);
    expect(urls(readFileSync(har, 'utf8'))).toHaveLength(2);
    const back = join(dir, 'back.jsonl');
    const toRec = await runMeshtap(['convert', har, '-o', back]);
    expect(toRec.code).toBe(0);
    const lines = readFileSync(back, 'utf8').trim().split('\n').map((l) => JSON.parse(l) as { path?: string; format?: string });
    expect(lines[0]!.format).toBe('meshtap-recording');
    expect(lines.slice(1).map((l) => l.path)).toEqual(['/emoji/list', '/votes']);
    const again = await runMeshtap(['convert', har, '--format', 'har']);
    expect(again.code).toBe(2);
    expect(again.stderr).toMatch(/already HAR/);
  });

  it('says what --format takes, and its --help tells the truth', async () => {
    const bad = await runMeshtap(['convert', recording, '--format', 'xml']);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/--format takes har or recording/);
    const help = await runMeshtap(['convert', '--help']);
    expect(help.stdout).toMatch(/meshtap convert FILE --format har/);
    expect(help.stdout).not.toMatch(/--to har/);
  });
});

describe('a HAR file given where a recording goes', () => {
  it('replay and mock say how to convert it (a HAR file is usually pretty-printed: not "line 1: not valid JSON")', async () => {
    const har = join(dir, 'browser.har');
    writeFileSync(har, JSON.stringify({ log: { version: '1.2', creator: { name: 'x', version: '1' }, entries: [] } }, null, 2));
    for (const args of [['replay', har, '--target', 'http://127.0.0.1:9'], ['mock', har, '--listen', '127.0.0.1:0']]) {
      const r = await runMeshtap(args);
      expect(r.code).toBe(1);
      expect(r.stderr.trim()).toBe(`meshtap: ${har} is a HAR file, not a recording; convert it first: meshtap convert ${har} -o ${join(dir, 'browser.jsonl')}`);
    }
  });
});
