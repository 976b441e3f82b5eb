/**
 * Network namespaces with a veth to the host, for `meshtap run --netns` and for tests:
 * the namespace gets its own IP (from a /30 in 10.200.0.0/16 chosen free at random) and a
 * default route through the host end. Created with iproute2; traffic stays on the machine.
 */
import { execFile } from 'node:child_process';
import { randomBytes, randomInt } from 'node:crypto';
import { existsSync } from 'node:fs';
import { promisify } from 'node:util';
import { MeshtapError } from '../common/index.js';

const run = promisify(execFile);

/** One namespace and its veth pair. */
export interface Netns {
  name: string;
  /** /run/netns/<name>: open it for setns or to attach sk_lookup. */
  path: string;
  hostIf: string;
  hostAddress: string;
  address: string;
}

/** Runs `ip ARGS…`, turning a failure into a one-line MeshtapError. */
export async function ip(...args: string[]): Promise<string> {
  try {
    return (await run('ip', args)).stdout;
  } catch (err) {
    const stderr = String((err as { stderr?: string }).stderr ?? '').trim();
    throw new MeshtapError('MT_NETNS', `ip ${args.join(' ')}: ${stderr || (err as Error).message}`, { cause: err });
  }
}

async function pickFreeSubnet(): Promise<[string, string]> {
  const used = await ip('-4', '-o', 'addr');
  for (let i = 0; i < 64; i++) {
    const n = randomInt(0, 16384);
    const third = n >> 6;
    const base = (n & 63) * 4;
    const host = `10.200.${third}.${base + 1}`;
    const ns = `10.200.${third}.${base + 2}`;
    if (!used.includes(` ${host}/`) && !used.includes(` ${ns}/`)) return [host, ns];
  }
  throw new MeshtapError('MT_NETNS', 'no free /30 in 10.200.0.0/16 for the namespace');
}

/** Creates `mt-<id>` (or `name`) with a veth to the host, loopback up, default route. */
export async function createNetns(name = `mt-${randomBytes(3).toString('hex')}`): Promise<Netns> {
  const hostIf = netnsHostIf(name);
  const nsIf = hostIf.replace(/h$/, 'n');
  const [hostAddress, address] = await pickFreeSubnet();
  const netns: Netns = { name, path: `/run/netns/${name}`, hostIf, hostAddress, address };
  try {
    await ip('netns', 'add', name);
    await ip('link', 'add', hostIf, 'type', 'veth', 'peer', 'name', nsIf, 'netns', name);
    await ip('addr', 'add', `${hostAddress}/30`, 'dev', hostIf);
    await ip('link', 'set', hostIf, 'up');
    await ip('-n', name, 'addr', 'add', `${address}/30`, 'dev', nsIf);
    await ip('-n', name, 'link', 'set', nsIf, 'up');
    await ip('-n', name, 'link', 'set', 'lo', 'up');
    await ip('-n', name, 'route', 'add', 'default', 'via', hostAddress);
  } catch (err) {
    await deleteNetns(netns);
    throw err;
  }
  return netns;
}

/** The host end of `name`'s veth (`mt-1a2b3c` → `mt1a2b3ch`; interface names have 15 bytes at most). */
export function netnsHostIf(name: string): string {
  return `mt${name.replace(/^mt-/, '').slice(0, 10)}h`;
}

/** Deletes the veth (both ends go together) and the namespace; never throws. */
export async function deleteNetns(netns: Pick<Netns, 'name' | 'hostIf'>): Promise<void> {
  await ip('link', 'del', netns.hostIf).catch(() => undefined);
  if (existsSync(`/run/netns/${netns.name}`)) await ip('netns', 'del', netns.name).catch(() => undefined);
}

/** Adds an IPv6 ULA pair on the veth (for IPv6 tests and dual-stack runs). */
export async function addIpv6(netns: Netns, hostAddress: string, address: string): Promise<void> {
  await ip('addr', 'add', `${hostAddress}/126`, 'dev', netns.hostIf, 'nodad');
  await ip('-n', netns.name, 'addr', 'add', `${address}/126`, 'dev', netns.hostIf.replace(/h$/, 'n'), 'nodad');
}
