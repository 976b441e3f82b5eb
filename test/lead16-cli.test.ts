/**
 * review16's walk-through: `replay`/`mock` of a recording that is not there said the path twice
 * (`cannot read F: ENOENT: no such file or directory, open 'F'`). Now one line in the user's words,
 * for a missing file and a directory. The real CLI, nothing contacted.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { runMeshtap } from './support/meshtap-process.js';

const dir = mkdtempSync(join(tmpdir(), 'lead16-cli-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('lead16: a recording that is not there', () => {
  it.each([
    ['replay', (f: string) => ['replay', f, '--target', 'http://127.0.0.1:1']],
    ['mock', (f: string) => ['mock', f, '--listen', '127.0.0.1:0']],
  ])('%s of a missing file and of a directory: one line each, exit 1', async (_name, argv) => {
    const missing = join(dir, 'none.jsonl');
    const a = await runMeshtap(argv(missing), { timeoutMs: 60_000 });
    expect([a.code, a.stdout, a.stderr]).toEqual([1, '', `meshtap: cannot read ${missing}: no such file\n`]);
    const b = await runMeshtap(argv(dir), { timeoutMs: 60_000 });
    expect([b.code, b.stderr]).toEqual([1, `meshtap: cannot read ${dir}: it is a directory\n`]);
  }, 90_000);
});
