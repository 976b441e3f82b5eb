/**
 * `meshtap __complete targets WORD -- WORDS…`: what the completion scripts run on TAB after a
 * resource word (`meshtap tap deploy/<TAB>`), as kubectl's completion runs `kubectl __complete`:
 * prints the targets of that kind starting with WORD, one per line, named by the tap API (meshed
 * workloads or pods of the namespace), reached with the connection flags found among WORDS (the
 * command line being completed: `-n`, `--tap-api`, `--token`, `--kubeconfig`, `--context`) or
 * the usual environment, config file and kubeconfig.
 *
 * Quiet and bounded, because it runs inside the user's shell on a keystroke: it never writes to
 * stderr, prints nothing when there is no tap API or cluster, or it refuses, or it has not
 * answered within COMPLETE_TIMEOUT_MS, and always exits 0. Not a listed command (not in
 * `meshtap --help` nor completed itself).
 */
import type { ParsedArgs } from '../common/index.js';
import { connectionFromArgs, listTargetNames, resourceOfKind } from '../tap-api/index.js';

/** Longest a TAB waits for names (a slow or unreachable cluster must not hang the shell). */
export const COMPLETE_TIMEOUT_MS = 2000;

/** Flags of the command line that say where to ask (value in the next word, or after `=`). */
const CONNECTION_FLAGS: Record<string, string> = { '-n': 'namespace', '--namespace': 'namespace', '--tap-api': 'tap-api', '--token': 'token', '--kubeconfig': 'kubeconfig', '--context': 'context' };

/** The connection flags among `words` (the last of each wins, as in parseArgs). */
function connectionValues(words: string[]): Record<string, string> {
  const values: Record<string, string> = {};
  for (let i = 0; i < words.length; i++) {
    const w = words[i]!;
    const eq = w.indexOf('=');
    const name = CONNECTION_FLAGS[eq > 0 ? w.slice(0, eq) : w];
    if (name === undefined) continue;
    if (eq > 0) values[name] = w.slice(eq + 1);
    else if (i + 1 < words.length) values[name] = words[++i]!;
  }
  return values;
}

/** The candidates for WORD (`deploy/we`): undefined when WORD names no resource kind. */
async function candidates(word: string, words: string[]): Promise<string[]> {
  const slash = word.indexOf('/');
  const resource = slash > 0 ? resourceOfKind(word.slice(0, slash)) : undefined;
  if (resource === undefined) return [];
  const values = connectionValues(words);
  const args: ParsedArgs = { values, positionals: [], tokens: [] };
  const kind = word.slice(0, slash + 1);
  // Names come back in their short form (`deploy/web`): offered in the kind word the user typed (`deployment/web`).
  const names = await listTargetNames(connectionFromArgs('completion', args), resource, values.namespace);
  return names.map((n) => kind + n.slice(n.indexOf('/') + 1)).filter((n) => n.startsWith(word));
}

/** Runs `__complete ARGS`; resolves with what to print. Never rejects. */
export async function completeWords(argv: string[]): Promise<string[]> {
  const [what, word = '', dashdash, ...words] = argv;
  if (what !== 'targets' || (dashdash !== undefined && dashdash !== '--')) return [];
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<string[]>((resolve) => {
    timer = setTimeout(() => resolve([]), COMPLETE_TIMEOUT_MS);
  });
  try {
    return await Promise.race([candidates(word, words).catch(() => []), timeout]);
  } finally {
    clearTimeout(timer);
  }
}
