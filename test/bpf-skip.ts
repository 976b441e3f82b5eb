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
