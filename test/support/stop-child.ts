/** Stops a child process as an orchestrator would: SIGTERM, then SIGKILL after a grace period. */
import type { ChildProcess } from 'node:child_process';

/** Resolves once `child` has exited (`exit` is its exit promise); at once when it already has. */
export async function stopChild(child: ChildProcess, exit: Promise<unknown>, graceMs = 5_000): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  child.kill('SIGTERM');
  const t = setTimeout(() => child.kill('SIGKILL'), graceMs);
  await exit;
  clearTimeout(t);
}
