/**
 * `meshtap completion bash|zsh|fish` through the real CLI and real shells (issue 11, habits:
 * "meshtap completion bash|zsh|fish", kubectl-shaped). Before, `meshtap completion` was an unknown
 * command. bash: the script loaded as the README says (`source <(meshtap completion bash)`)
 * registers with `complete`, and its function, run as bash runs it on TAB, completes
 * `meshtap ta` and `meshtap tap --me`; fish completes through `complete -C`; zsh's script parses
 * and its function offers the same words (zsh's own builtins stubbed: they need a terminal).
 * The flags offered are exactly those of each command's parse spec, so they cannot drift.
 */
import { execFile, execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { COMMANDS } from '../bin/commands.js';
import { MESHTAP_BIN, runMeshtap } from './support/meshtap-process.js';

const run = promisify(execFile);
const has = (shell: string) => {
  try {
    execFileSync('sh', ['-c', `command -v ${shell}`]);
    return true;
  } catch {
    return false;
  }
};
const dir = mkdtempSync(join(tmpdir(), 'mt-completion-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const scripts: Record<string, string> = {};
beforeAll(async () => {
  for (const shell of ['bash', 'zsh', 'fish']) {
    const r = await runMeshtap(['completion', shell]);
    expect(r.code, r.stderr).toBe(0);
    scripts[shell] = join(dir, `meshtap.${shell}`);
    writeFileSync(scripts[shell]!, r.stdout);
  }
}, 60_000);

/** bash: loads the script with `source <(meshtap completion bash)` and "presses TAB" on each line. */
async function bashComplete(lines: string[][]): Promise<string[]> {
  const driver = [
    `meshtap() { node ${MESHTAP_BIN} "$@"; }`,
    'source <(meshtap completion bash)',
    'complete -p meshtap',
    't() { COMP_WORDS=("$@"); COMP_CWORD=$((${#COMP_WORDS[@]}-1)); COMPREPLY=(); _meshtap; echo "${COMPREPLY[*]}"; }',
    ...lines.map((words) => `t ${words.map((w) => `'${w}'`).join(' ')}`),
  ].join('\n');
  const { stdout } = await run('bash', ['-c', driver], { timeout: 60_000 });
  return stdout.split('\n').slice(0, -1);
}

describe('meshtap completion', () => {
  it('bash: registers with complete and completes commands, flags, -o values and resource types', async () => {
    const out = await bashComplete([
      ['meshtap', 'ta'],
      ['meshtap', 'tap', '--me'],
      ['meshtap', 'tap', '-o', ''],
      ['meshtap', 'tap', 'de'],
      ['meshtap', 'stat', ''],
      ['meshtap', 'completion', ''],
      ['meshtap', 'help', 'ver'],
      ['meshtap', 'replay', '--direction', ''],
      ['meshtap', 'mock', join(dir, 'meshtap.b')],
    ]);
    expect(out).toEqual([
      'complete -F _meshtap meshtap',
      'tap tap-api',
      '--method',
      'text wide json yaml jsonpath=',
      'deploy/',
      'pod/ deploy/ ns/ sts/ ds/ job/',
      'bash zsh fish',
      'version',
      'in out all',
      join(dir, 'meshtap.bash'),
    ]);
  }, 60_000);

  it("bash: each command offers exactly the flags its parser accepts (from the same table and specs)", async () => {
    const entries = Object.entries(COMMANDS);
    const out = await bashComplete(entries.map(([name]) => ['meshtap', name, '-']));
    const specs = await Promise.all(entries.map(async ([, e]) => (await e.load()).default.spec));
    entries.forEach(([name], i) => {
      const expected = Object.entries(specs[i]!.options).flatMap(([long, o]) => [`--${long}`, ...(o.short ? [`-${o.short}`] : [])]);
      expect(out[i + 1]!.split(' ').sort(), name).toEqual([...expected, '--help', '-h'].sort());
    });
    // And every command of `meshtap --help` is offered.
    const top = await runMeshtap(['--help']);
    const listed = [...top.stdout.matchAll(/^ {2}(\S+) {2}/gm)].map((m) => m[1]!);
    expect(listed.length).toBeGreaterThan(15);
    const [commands] = await bashComplete([['meshtap', '']]).then((o) => o.slice(1));
    expect(commands!.split(' ').sort()).toEqual(['help', ...listed].sort());
  }, 120_000);

  it.skipIf(!has('fish'))('fish: the script parses and `complete -C` completes commands, flags and -o values', async () => {
    await run('fish', ['-n', scripts.fish!]);
    const driver = `source ${scripts.fish}; complete -C 'meshtap ta'; echo ---; complete -C 'meshtap tap --me'; echo ---; complete -C 'meshtap tap -o '`;
    const { stdout } = await run('fish', ['-c', driver]);
    const [commands, flags, outputs] = stdout.split('---\n').map((b) => b.trim().split('\n').map((l) => l.split('\t')[0]));
    expect(commands).toEqual(['tap', 'tap-api']);
    expect(flags).toEqual(['--method']);
    expect(outputs!.sort()).toEqual(['json', 'jsonpath=', 'text', 'wide', 'yaml']);
  }, 60_000);

  it.skipIf(!has('zsh'))('zsh: the script parses, and its function offers commands, flags and -o values', async () => {
    await run('zsh', ['-n', scripts.zsh!]);
    // compadd/_describe are zsh's completion builtins (they need a line editor): stubbed to print
    // what the script hands them, filtered by the word being completed as zsh would.
    const driver = [
      `source ${scripts.zsh} 2>/dev/null`, // compdef is absent without compinit: only the registration line fails
      'compadd() { local a; for a in "$@"; do case $a in -S|""|--) ;; *) [[ $a == ${words[CURRENT]}* ]] && print -r -- "$a";; esac; done }',
      '_describe() { local -a arr; arr=("${(@P)4}"); local n; for n in ${arr%%:*}; do [[ $n == ${words[CURRENT]}* ]] && print -r -- $n; done }',
      't() { words=("$@"); CURRENT=${#words}; _meshtap; print -- --- }',
      "t meshtap ta; t meshtap tap --me; t meshtap tap -o ''; t meshtap tap de",
    ].join('\n');
    const { stdout } = await run('zsh', ['-f', '-c', driver]);
    const blocks = stdout.split('---\n').slice(0, -1).map((b) => b.trim().split('\n'));
    expect(blocks).toEqual([['tap', 'tap-api'], ['--method'], ['text', 'wide', 'json', 'yaml', 'jsonpath='], ['deploy/']]);
  }, 60_000);

  it('an unknown or missing shell is a usage error (exit 2)', async () => {
    const bad = await runMeshtap(['completion', 'powershell']);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toBe("meshtap: completion: 'powershell' is not a shell meshtap completes; use bash, zsh or fish\n");
    const none = await runMeshtap(['completion']);
    expect(none.code).toBe(2);
    expect(none.stderr).toMatch(/^meshtap: completion: which shell\? give one of bash, zsh, fish/);
  });
});
