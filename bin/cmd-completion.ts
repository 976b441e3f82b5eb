import { meshtapVersion, UsageError } from '../common/index.js';
import type { Command } from './command.js';
import { COMMANDS } from './commands.js';
import { completionOf } from './completion-spec.js';
import { renderCompletion, SHELLS, type Shell } from './completion-scripts.js';

const help = `Print a shell completion script: commands, each command's flags, -o values, files,
resource types for TARGET (deploy/, pod/, ns/, …) and then their names (deploy/<TAB>: the meshed
workloads of the line's -n namespace, asked of the tap API the line or your environment names, as
'meshtap tap' would; nothing when it does not answer within 2s). It is built from the commands'
own flag specs.

Usage: meshtap completion bash|zsh|fish

Load it in the current shell:
  source <(meshtap completion bash)
  source <(meshtap completion zsh)          # after compinit
  meshtap completion fish | source

Or once for every new shell:
  meshtap completion bash > ~/.local/share/bash-completion/completions/meshtap   # needs bash-completion
  meshtap completion zsh > "\${fpath[1]}/_meshtap"
  meshtap completion fish > ~/.config/fish/completions/meshtap.fish
`;

const command: Command = {
  spec: { name: 'completion', summary: 'print a shell completion script (bash, zsh, fish)', help, allowPositionals: true, options: {} },
  async run(args) {
    const [shell, ...extra] = args.positionals;
    if (shell === undefined || extra.length > 0) throw new UsageError("completion: which shell? give one of bash, zsh, fish (e.g. 'source <(meshtap completion bash)')");
    if (!(SHELLS as readonly string[]).includes(shell)) throw new UsageError(`completion: '${shell}' is not a shell meshtap completes; use bash, zsh or fish`);
    // Every command's spec, in table order (loading them all takes a moment; a TAB never does).
    const commands = await Promise.all(Object.entries(COMMANDS).map(async ([name, entry]) => completionOf(name, entry.summary, (await entry.load()).default.spec)));
    process.stdout.write(renderCompletion(shell as Shell, commands, meshtapVersion()));
    return 0;
  },
};
export default command;
