/**
 * The node part of `meshtap check`: what this kernel and machine support for BPF
 * interception, one pass/fail line each with a hint on how to fix it.
 */
import { existsSync } from 'node:fs';
import type { CheckResult } from '../common/index.js';
import { isNativeAvailable, loadNativeBpf } from '../native/index.js';
import { findCgroup2Mount } from './cgroup.js';
import { isBpffsMounted, BPFFS } from './bpffs.js';

const PROGRAM_CHECKS: [string, string][] = [
  ['cgroup_sock_addr', 'cgroup/connect4, connect6, getpeername4/6 programs'],
  ['sock_ops', 'sockops program'],
  ['cgroup_sockopt', 'cgroup/getsockopt program'],
  ['sk_lookup', 'sk_lookup program (inbound)'],
  ['map_lru_hash', 'LRU hash maps'],
  ['map_lpm_trie', 'LPM trie maps (skip CIDRs)'],
  ['map_sockmap', 'SOCKMAP (inbound listener)'],
];

/** Runs every node check; never throws. */
export async function runNodeChecks(): Promise<CheckResult[]> {
  const results: CheckResult[] = [];
  const isRoot = process.getuid?.() === 0;
  results.push({ name: 'running as root', ok: isRoot, detail: `uid ${process.getuid?.()}`, hint: isRoot ? undefined : 'the BPF probes and meshtap run/agent need root (or CAP_BPF+CAP_NET_ADMIN+CAP_SYS_ADMIN)' });

  const cg = findCgroup2Mount();
  results.push({ name: 'cgroup v2', ok: cg !== undefined, detail: cg ?? 'not mounted', hint: cg ? undefined : 'mount a cgroup2 hierarchy (e.g. mount -t cgroup2 none /sys/fs/cgroup)' });

  const btf = existsSync('/sys/kernel/btf/vmlinux');
  results.push({ name: 'kernel BTF', ok: btf, detail: btf ? '/sys/kernel/btf/vmlinux' : 'missing', hint: btf ? undefined : 'use a kernel built with CONFIG_DEBUG_INFO_BTF=y' });

  const bpffs = isBpffsMounted();
  results.push({
    name: 'bpffs',
    ok: bpffs || isRoot,
    detail: bpffs ? `mounted at ${BPFFS}` : `not mounted at ${BPFFS}${isRoot ? ' (meshtap mounts it when needed)' : ''}`,
    hint: bpffs || isRoot ? undefined : `mount -t bpf bpf ${BPFFS}`,
  });

  const native = isNativeAvailable();
  results.push({ name: 'native addon (libbpf loader)', ok: native, detail: native ? 'loaded' : 'not built', hint: native ? undefined : "run 'bash scripts/build-native.sh' (needs clang llvm libbpf-dev bpftool g++)" });
  if (!native) return results;

  let features: Record<string, boolean> = {};
  let probeError: string | undefined;
  try {
    features = loadNativeBpf().probeFeatures();
  } catch (err) {
    probeError = (err as Error).message;
  }
  const bpfOk = Object.values(features).some(Boolean);
  results.push({
    name: 'bpf() syscall',
    ok: bpfOk,
    detail: probeError ?? (bpfOk ? 'available' : 'no program type loads'),
    hint: bpfOk ? undefined : isRoot ? 'the kernel lacks CONFIG_BPF_SYSCALL or BPF is restricted (kernel.unprivileged_bpf_disabled, lockdown)' : 'run as root',
  });
  for (const [key, label] of PROGRAM_CHECKS) {
    const ok = features[key] === true;
    results.push({ name: label, ok, detail: ok ? 'supported' : 'not supported', hint: ok ? undefined : 'needs Linux >= 5.9 with BPF cgroup/sk_lookup support; use explicit mode (meshtap proxy --forward) meanwhile' });
  }
  return results;
}
