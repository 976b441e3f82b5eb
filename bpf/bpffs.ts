/**
 * bpffs: where meshtap pins its links and maps so interception outlives the loader.
 * Not mounted by default on many machines: mounted here when missing.
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, readFileSync } from 'node:fs';
import { MeshtapError } from '../common/index.js';

/** The standard bpffs mount point. */
export const BPFFS = '/sys/fs/bpf';
/** meshtap's pins: one directory per scope (`pod-<uid>`, `run-<pid>-<id>`). */
export const PIN_ROOT = `${BPFFS}/meshtap`;

/** Whether a bpffs is mounted at `path`. */
export function isBpffsMounted(path = BPFFS): boolean {
  return readFileSync('/proc/mounts', 'utf8')
    .split('\n')
    .some((l) => {
      const [, mp, type] = l.split(' ');
      return mp === path && type === 'bpf';
    });
}

/** Mounts bpffs at /sys/fs/bpf if needed and creates PIN_ROOT. */
export function ensureBpffs(): void {
  if (!isBpffsMounted()) {
    try {
      mkdirSync(BPFFS, { recursive: true });
      execFileSync('mount', ['-t', 'bpf', 'bpf', BPFFS], { stdio: ['ignore', 'ignore', 'pipe'] });
    } catch (err) {
      throw new MeshtapError('MT_BPFFS', `cannot mount bpffs at ${BPFFS} (needs root): ${(err as Error).message.split('\n')[0]}`, { cause: err });
    }
  }
  mkdirSync(PIN_ROOT, { recursive: true });
}
