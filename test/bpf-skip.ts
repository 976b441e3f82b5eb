/**
 * Where BPF tests say they skipped. CI runs as root on a BPF-capable kernel, so `.ci/run` fails
 * when this file has lines there (MESHTAP_BPF_SKIP_FILE); the line also goes to stderr for people.
 */
import { appendFileSync } from 'node:fs';

export function reportBpfSkip(testFile: string, reason: string): void {
  const line = `BPF-TESTS-SKIPPED: ${testFile}: ${reason}\n`;
  process.stderr.write(line);
  const file = process.env.MESHTAP_BPF_SKIP_FILE;
  if (file) appendFileSync(file, line);
}

/**
 * Why `meshtap run` end-to-end tests cannot run here (undefined when they can): root and BPF,
 * the built CLI, and the tools `meshtap run` uses. Reported with `reportBpfSkip` by the caller.
 */
export async function meshtapRunSkipReason(cli: string): Promise<string | undefined> {
  const { runPrerequisiteProblem } = await import('../bpf/index.js');
  const { existsSync } = await import('node:fs');
  const { execFileSync } = await import('node:child_process');
  const p = runPrerequisiteProblem();
  if (p) return p;
  if (!existsSync(cli)) return 'dist/ is not built (npx tsc -p .)';
  for (const tool of ['ip', 'curl', 'setpriv', 'nsenter']) {
    try {
      execFileSync('sh', ['-c', `command -v ${tool}`], { stdio: 'ignore' });
    } catch {
      return `${tool} is missing`;
    }
  }
  return undefined;
}
