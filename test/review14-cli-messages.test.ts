/**
 * review14's walk-through: two messages that did not say what the user gave. `record -o
 * /missing/dir/x.jsonl` named only the hidden partial file (`cannot create /missing/dir/.x.jsonl.partial-PID`);
 * it names the file asked for first, as `convert` does. `--proxy 127.0.0.1:0` said "give its host and
 * port" to an address that has both: port 0 is what is wrong. The real CLI.
 */
import { describe, expect, it } from 'vitest';
import { runMeshtap } from './support/meshtap-process.js';

describe('review14: messages name what the user gave', () => {
  it('record into a missing directory names the output file, one line, nothing contacted', async () => {
    const r = await runMeshtap(['record', '--proxy', '127.0.0.1:1', '-o', '/nonexistent-review14/dir/x.jsonl'], { timeoutMs: 60_000 });
    expect(r.code).toBe(1);
    expect(r.stderr).toBe('meshtap: cannot write /nonexistent-review14/dir/x.jsonl: directory /nonexistent-review14/dir does not exist\n');
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
  }, 90_000);

  it.each([
    ['127.0.0.1:0', 'port 0 means any free port when listening'],
    [':4190', 'give its host'],
  ])('--proxy %s says what is missing', async (address, why) => {
    const r = await runMeshtap(['tap', '--proxy', address], { timeoutMs: 60_000 });
    expect(r.code).toBe(2);
    expect(r.stderr).toBe(`meshtap: --proxy: '${address}' is not an address to connect to: ${why} (e.g. 127.0.0.1:4191)\n`);
  }, 90_000);
});
