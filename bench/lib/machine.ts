/** Machine facts for the top of the report: results mean little without them. */
import { execFileSync } from 'node:child_process';
import { cpus, loadavg, release } from 'node:os';
import type { MachineFacts } from '../results.js';

function firstLine(cmd: string, args: string[]): string {
  try {
    const out = execFileSync(cmd, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], timeout: 5000 });
    return out.trim().split('\n')[0] ?? '';
  } catch (err) {
    const e = err as { stderr?: string; code?: string };
    if (e.code === 'ENOENT') return 'missing';
    return (e.stderr ?? '').trim().split('\n')[0] || 'unknown';
  }
}

/** Whether a command can be run at all (ENOENT = not installed). */
export function hasCommand(cmd: string): boolean {
  try {
    execFileSync('sh', ['-c', `command -v ${cmd}`], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

/** Cores, CPU model, kernel, Node and the versions of every tool the bench uses. */
export function machineFacts(): MachineFacts {
  const c = cpus();
  return {
    cores: c.length,
    cpuModel: c[0]?.model ?? 'unknown',
    kernel: release(),
    node: process.version,
    loadAvgStart: loadavg().map((x) => Math.round(x * 100) / 100),
    tools: {
      haproxy: firstLine('haproxy', ['-v']),
      nginx: firstLine('sh', ['-c', 'nginx -v 2>&1']),
      wrk: firstLine('sh', ['-c', 'wrk -v 2>&1 | head -1']),
      h2load: firstLine('h2load', ['--version']),
      iperf3: firstLine('iperf3', ['--version']),
    },
  };
}
