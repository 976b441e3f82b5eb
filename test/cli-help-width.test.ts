/**
 * Regression (session 9 walk-through): `--help` texts ran up to 138 columns, wrapping mid-word
 * on an ordinary terminal. Every command's help, as the real CLI prints it, fits in 100 columns
 * (HELP_WIDTH) and says everything its source text says (same words, same order); the wrap puts a
 * flag's continuation under its description.
 */
import { describe, expect, it } from 'vitest';
import { COMMANDS } from '../bin/commands.js';
import { HELP_WIDTH, wrapHelpText } from '../common/index.js';
import { runMeshtap } from './support/meshtap-process.js';

const columns = (line: string): number => [...line].length;
const words = (text: string): string[] => text.split(/\s+/).filter((w) => w !== '');

describe(`--help fits in ${HELP_WIDTH} columns`, () => {
  it('every command, and meshtap --help', async () => {
    const names = Object.keys(COMMANDS);
    const wide: string[] = [];
    const lost: string[] = [];
    // A few at a time: each is a node process.
    for (let i = 0; i < names.length; i += 4) {
      await Promise.all(
        names.slice(i, i + 4).map(async (name) => {
          const r = await runMeshtap([name, '--help']);
          expect([name, r.code, r.stderr]).toEqual([name, 0, '']);
          for (const line of r.stdout.split('\n')) if (columns(line) > HELP_WIDTH) wide.push(`${name}: ${line}`);
          const source = (await COMMANDS[name]!.load()).default.spec.help;
          if (words(r.stdout).join(' ') !== words(source).join(' ')) lost.push(name);
        }),
      );
    }
    const top = await runMeshtap(['--help']);
    for (const line of top.stdout.split('\n')) if (columns(line) > HELP_WIDTH) wide.push(`meshtap: ${line}`);
    expect({ wide, lost }).toEqual({ wide: [], lost: [] });
  }, 120_000);

  it('continues a flag under its description, reflowing the lines that continued it', () => {
    const text = [
      'Flags:',
      '      --tap-api URL      find the sidecars through the tap API (env MESHTAP_TAP_API, or tapApi: in ~/.config/meshtap/config.yaml);',
      "                         needs 'list sidecars' in API group tap.meshtap.dev",
      '      --token TOKEN      bearer token',
      'A sentence of prose that is far too long to fit in the forty columns given here.',
    ].join('\n');
    expect(wrapHelpText(text, 60).split('\n')).toEqual([
      'Flags:',
      '      --tap-api URL      find the sidecars through the tap',
      '                         API (env MESHTAP_TAP_API, or',
      '                         tapApi: in',
      '                         ~/.config/meshtap/config.yaml);',
      "                         needs 'list sidecars' in API group",
      '                         tap.meshtap.dev',
      '      --token TOKEN      bearer token',
      'A sentence of prose that is far too long to fit in the forty',
      'columns given here.',
    ]);
    expect(wrapHelpText('short\nlines stay', 60)).toBe('short\nlines stay');
  });
});
