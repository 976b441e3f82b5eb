/**
 * review16's walk-through, the CLI nits session 15 left: each mistake is told as what the user
 * typed, the first thing wrong first. `record -o /missing/dir/x` named the hidden partial file
 * (`ENOENT … open '/missing/dir/.x.partial-4087'`); `proxy --admin 127.0.0.1:99999` was told
 * "nothing to listen on" before its bad port; `agent --resync 25h` was told of the missing node
 * before its bad period. The real CLI, nothing contacted.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { runMeshtap } from './support/meshtap-process.js';

const dir = mkdtempSync(join(tmpdir(), 'review16-cli-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('review16: the first mistake, in the words the user typed', () => {
  it('record -o into a missing directory says the directory does not exist, naming the file; exit 1', async () => {
    const out = join(dir, 'missing', 'x.jsonl');
    const r = await runMeshtap(['record', '--proxy', '127.0.0.1:1', '--since', '1m', '-o', out], { timeoutMs: 60_000 });
    expect([r.code, r.stdout, r.stderr]).toEqual([1, '', `meshtap: cannot write ${out}: directory ${join(dir, 'missing')} does not exist\n`]);
  }, 90_000);

  it('record -o under a file says it is not a directory', async () => {
    writeFileSync(join(dir, 'plain'), 'x');
    const out = join(dir, 'plain', 'x.jsonl');
    const r = await runMeshtap(['record', '--proxy', '127.0.0.1:1', '-o', out], { timeoutMs: 60_000 });
    expect([r.code, r.stderr]).toEqual([1, `meshtap: cannot write ${out}: ${join(dir, 'plain')} is not a directory\n`]);
  }, 90_000);

  it('convert of a HAR into a missing directory: the same line', async () => {
    const har = join(dir, 'in.har');
    writeFileSync(har, JSON.stringify({ log: { version: '1.2', creator: { name: 't', version: '1' }, entries: [] } }));
    const out = join(dir, 'gone', 'out.jsonl');
    const r = await runMeshtap(['convert', har, '-o', out], { timeoutMs: 60_000 });
    expect([r.code, r.stderr]).toEqual([1, `meshtap: cannot write ${out}: directory ${join(dir, 'gone')} does not exist\n`]);
  }, 90_000);

  it('proxy --admin with a bad port alone: the port first (exit 2)', async () => {
    const r = await runMeshtap(['proxy', '--engine', 'js', '--admin', '127.0.0.1:99999'], { timeoutMs: 60_000 });
    expect([r.code, r.stderr]).toEqual([2, "meshtap: --admin: '127.0.0.1:99999' is not HOST:PORT (e.g. 127.0.0.1:4191)\n"]);
  }, 90_000);

  it('proxy with good flags and nothing to listen on still says so (exit 2)', async () => {
    const r = await runMeshtap(['proxy', '--engine', 'js', '--admin', '127.0.0.1:0'], { timeoutMs: 60_000 });
    expect([r.code, r.stderr]).toEqual([2, 'meshtap: proxy: nothing to listen on; give --forward LISTEN=TARGET (or --inbound/--outbound with BPF)\n']);
  }, 90_000);

  it('agent --resync 25h without --node: the period first (exit 2); without a bad flag, the node', async () => {
    const env = { MESHTAP_NODE_NAME: '' };
    const r = await runMeshtap(['agent', '--resync', '25h'], { timeoutMs: 60_000, env });
    expect([r.code, r.stderr]).toEqual([2, "meshtap: --resync: '25h' is too long; give at most 24h\n"]);
    const r2 = await runMeshtap(['agent', '--resync', '5m'], { timeoutMs: 60_000, env });
    expect([r2.code, r2.stderr]).toEqual([2, 'meshtap: agent: no node name; pass --node NAME or set MESHTAP_NODE_NAME (fieldRef spec.nodeName)\n']);
  }, 90_000);
});
