/**
 * `meshtap run -- CMD`: runs CMD in a fresh cgroup (and, with netns, a fresh network
 * namespace with a veth) next to a sidecar under its own uid, with BPF interception on
 * the pair's cgroup (outbound) and namespace (inbound). Exits with CMD's code; on exit or
 * SIGINT/SIGTERM everything is removed: processes, pins (programs, maps), cgroups,
 * namespace, veth. One cleanup path, run exactly once.
 */
import type { ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { createServer } from 'node:net';
import { constants } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { MeshtapError, createLogger, formatHostPort } from '../common/index.js';
import { isNativeAvailable } from '../native/index.js';
import { createCgroup, findCgroup2Mount, removeCgroup } from './cgroup.js';
import { createNetns, deleteNetns, netnsHostIf, type Netns } from './netns.js';
import { findListenerFd, spawnInScope } from './process.js';
import { MAX_RELAY_CONNECTIONS, startTapApiRelay, type TapApiRelay } from './run-relay.js';
import { attachCgroupScope, attachInbound, detachScope, listScopes, readScopeStats, writeScopeSettings, type ScopeOptions } from './scope.js';

const log = createLogger('bpf.run');

/** Longest meshtap run waits for its sidecar to stop on SIGTERM before it is killed with its cgroup. */
const SIDECAR_STOP_MS = 3_000;

/** Default uid of the sidecar (loop prevention skips its connects). */
export const DEFAULT_SIDECAR_UID = 2102;

/** Options of `meshtap run`. */
export interface RunOptions {
  command: string[];
  name: string;
  namespace: string;
  netns: boolean;
  skipPorts: number[];
  skipCidrs: string[];
  admin?: { host: string; port: number };
  tap?: { host: string; port: number };
  tapApi?: string;
  /** The tap API's registration token: given to the sidecar by environment (not argv), never to CMD. */
  tapApiToken?: string;
  sidecarUid: number;
  /** The sidecar's data path engine (`--engine`); js when left out. */
  engine?: 'js' | 'native';
  /** Called with each line meshtap itself prints (default: stderr). */
  report?: (line: string) => void;
  /** Awaited once the sidecar is ready, before CMD starts (e.g. to subscribe to its tap). */
  onSidecarReady?: (addresses: { tap: string; admin: string; ip?: string }) => Promise<void>;
  /** Awaited after CMD exited, before the sidecar stops (e.g. to let its last exchanges end). */
  onCommandExit?: () => Promise<void>;
}

async function freePort(host = '127.0.0.1'): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(0, host, () => {
      const port = (srv.address() as { port: number }).port;
      srv.close(() => resolve(port));
    });
  });
}

/** The `meshtap` CLI the sidecar runs (dist/bin/meshtap.js, also when called from sources). */
export function meshtapBin(): string {
  for (const rel of ['../bin/meshtap.js', '../dist/bin/meshtap.js']) {
    const p = fileURLToPath(new URL(rel, import.meta.url));
    if (existsSync(p)) return p;
  }
  throw new MeshtapError('MT_NOT_BUILT', "dist/bin/meshtap.js is missing; run 'npx tsc -p .' first");
}

/** Says what is missing for `meshtap run` here, or undefined when it can run. */
export function runPrerequisiteProblem(): string | undefined {
  if (process.getuid?.() !== 0) return 'meshtap run needs root (CAP_BPF, CAP_NET_ADMIN, CAP_SYS_ADMIN, CAP_SYS_PTRACE)';
  if (!findCgroup2Mount()) return 'meshtap run needs a cgroup v2 hierarchy and none is mounted';
  if (!isNativeAvailable()) return "meshtap run needs the native addon with BPF support; run 'bash scripts/build-native.sh'";
  return undefined;
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** Removes pins and cgroups left by `meshtap run`s whose process is gone (e.g. SIGKILL). */
export async function reapStaleRuns(cgroupRoot: string): Promise<void> {
  for (const scope of listScopes()) {
    const m = /^run-(\d+)-([0-9a-f]+)$/.exec(scope);
    if (!m || isAlive(Number(m[1]))) continue;
    log.info('removing stale run', { scope });
    detachScope(scope);
    await removeCgroup(join(cgroupRoot, `meshtap-${scope}`)).catch(() => undefined);
    const name = runNetnsName(m[2]!);
    if (existsSync(`/run/netns/${name}`)) await deleteNetns({ name, hostIf: netnsHostIf(name) });
  }
}

/** A run's namespace is named after its scope, so that a later run can reap it after a SIGKILL. */
function runNetnsName(scopeHex: string): string {
  return `mt-${scopeHex.slice(0, 6)}`;
}

function waitForReady(child: ChildProcess, report: (l: string) => void, timeoutMs: number): Promise<void> {
  return new Promise((resolve, reject) => {
    let buffered = '';
    let ready = false;
    const timer = setTimeout(() => reject(new MeshtapError('MT_SIDECAR_START', `the sidecar did not become ready within ${timeoutMs} ms`)), timeoutMs);
    child.stderr?.setEncoding('utf8');
    child.stderr?.on('data', (chunk: string) => {
      buffered += chunk;
      let nl: number;
      while ((nl = buffered.indexOf('\n')) >= 0) {
        const line = buffered.slice(0, nl);
        buffered = buffered.slice(nl + 1);
        if (!ready && line.trim() === 'ready') {
          ready = true;
          clearTimeout(timer);
          resolve();
        } else if (!ready && /^listening /.test(line)) {
          /* printed by us below in a stable form */
        } else {
          report(`sidecar: ${line}`);
        }
      }
    });
    child.once('exit', (code, signal) => {
      clearTimeout(timer);
      if (!ready) reject(new MeshtapError('MT_SIDECAR_START', `the sidecar exited before it was ready (${signal ?? `code ${code}`})`));
    });
  });
}

/** Runs the command intercepted; resolves with its exit code (128+n when killed by signal n). */
export async function runIntercepted(opts: RunOptions): Promise<number> {
  const problem = runPrerequisiteProblem();
  if (problem) throw new MeshtapError('MT_RUN_UNSUPPORTED', `${problem}; without it, use explicit mode: meshtap proxy --forward LISTEN=TARGET`);
  const report = opts.report ?? ((l: string) => process.stderr.write(`${l}\n`));
  const cgroupRoot = findCgroup2Mount()!;
  await reapStaleRuns(cgroupRoot);

  const scopeHex = randomBytes(4).toString('hex');
  const scope = `run-${process.pid}-${scopeHex}`;
  const podCgroup = join(cgroupRoot, `meshtap-${scope}`);
  let netns: Netns | undefined;
  let relay: TapApiRelay | undefined;
  let sidecar: ChildProcess | undefined;
  let app: ChildProcess | undefined;
  let signalled: NodeJS.Signals | undefined;
  const onSignal = (sig: NodeJS.Signals) => {
    signalled = sig;
    if (app && app.exitCode === null) app.kill(sig);
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);

  const cleanup = async () => {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
    // The sidecar ends its taps with a reason (the sidecar stopped) and says goodbye to the tap API
    // on SIGTERM; removing the cgroup would SIGKILL it mid-way, so it gets a bounded moment first.
    const s = sidecar;
    if (s && s.exitCode === null && s.signalCode === null) {
      const exited = new Promise<void>((resolve) => s.once('exit', () => resolve()));
      s.kill('SIGTERM');
      await Promise.race([exited, new Promise<void>((resolve) => setTimeout(resolve, SIDECAR_STOP_MS).unref())]);
    }
    await relay?.close();
    detachScope(scope);
    await removeCgroup(podCgroup).catch((err) => report(`meshtap run: ${(err as Error).message}`));
    if (netns) await deleteNetns(netns);
  };

  try {
    const appCgroup = createCgroup(join(podCgroup, 'app'));
    const sidecarCgroup = createCgroup(join(podCgroup, 'sidecar'));
    if (opts.netns) netns = await createNetns(runNetnsName(scopeHex));
    const listenHost = netns ? netns.address : '127.0.0.1';
    // In the namespace, 127.0.0.1 is not the host's: a tap API on the host's loopback is relayed.
    if (netns && opts.tapApi) {
      relay = await startTapApiRelay(opts.tapApi, netns.hostAddress, (n) => {
        if (n === 1) report(`meshtap run: the tap API relay refused a connection: ${MAX_RELAY_CONNECTIONS} were open`);
      });
      if (relay) report(`meshtap run: the sidecar reaches the tap API ${opts.tapApi} through ${relay.url} (the host end of the namespace's veth)`);
    }
    const tapApi = relay?.url ?? opts.tapApi;
    const outboundPort = await freePort();
    const inboundPort = await freePort();
    const admin = opts.admin ?? { host: listenHost, port: await freePort() };
    const tap = opts.tap ?? { host: listenHost, port: await freePort() };
    const scopeOpts: ScopeOptions = {
      sidecarUid: opts.sidecarUid,
      outboundPort,
      inboundPort,
      adminPort: admin.port,
      tapPort: tap.port,
      skipOutboundPorts: opts.skipPorts,
      skipInboundPorts: opts.skipPorts,
      skipCidrs: opts.skipCidrs,
      // CMD's own connections to loopback targets (a local server, a port-forward) are what a
      // user runs meshtap run to see; the sidecar's own connects are never redirected (its uid).
      interceptLoopback: true,
    };
    attachCgroupScope(scope, podCgroup, scopeOpts);

    const fmt = (a: { host: string; port: number }) => formatHostPort(a.host, a.port);
    const sidecarArgs = [
      process.execPath, meshtapBin(), 'proxy',
      '--outbound', `127.0.0.1:${outboundPort}`, '--original-dst', 'bpf',
      '--admin', fmt(admin), '--tap', fmt(tap),
      '--workload', `deploy/${opts.name}`, '--namespace', opts.namespace, '--pod', `${opts.name}-${scope.slice(-8)}`,
      ...(netns ? ['--inbound', `127.0.0.1:${inboundPort}`] : []),
      ...(tapApi ? ['--tap-api', tapApi] : []),
      // The printed tap address is in the namespace: the host reaches it from its veth end,
      // which only this machine can use (like loopback without --netns).
      ...(netns ? ['--tap-trust-peer', netns.hostAddress] : []),
      '--engine', opts.engine ?? 'js',
    ];
    sidecar = spawnInScope(sidecarArgs, {
      cgroupPath: sidecarCgroup,
      netnsPath: netns?.path,
      uid: opts.sidecarUid,
      env: { ...process.env, HOME: '/tmp', ...(opts.tapApiToken ? { MESHTAP_TAP_API_TOKEN: opts.tapApiToken } : {}) },
      stdio: ['ignore', 'inherit', 'pipe'],
    });
    sidecar.on('error', () => undefined);
    await waitForReady(sidecar, report, 30_000);

    if (netns) {
      const fd = findListenerFd(sidecar.pid!, inboundPort);
      if (fd === undefined) throw new MeshtapError('MT_SIDECAR_START', `the sidecar's inbound listener on port ${inboundPort} was not found`);
      attachInbound(scope, netns.path, { pid: sidecar.pid!, fd });
      writeScopeSettings(scope, { ...scopeOpts, inbound: true });
    }
    report(`meshtap run: admin ${fmt(admin)}`);
    report(`meshtap run: tap ${fmt(tap)}`);
    if (netns) report(`meshtap run: ip ${netns.address}`);
    report(`meshtap run: scope ${scope}`);
    const notIntercepted = ['UDP (e.g. DNS)', 'connects made by the sidecar itself'];
    if (!netns) notIntercepted.push('connections to CMD (inbound: use --netns)');
    if (opts.skipPorts.length) notIntercepted.push(`ports ${opts.skipPorts.join(',')} (--skip-ports)`);
    if (opts.skipCidrs.length) notIntercepted.push(`${opts.skipCidrs.join(',')} (--skip-cidrs)`);
    report(`meshtap run: intercepting CMD's outbound TCP connects, loopback included${netns ? `, and inbound TCP to ${netns.address}` : ''}; not intercepted: ${notIntercepted.join(', ')}`);
    await opts.onSidecarReady?.({ tap: fmt(tap), admin: fmt(admin), ...(netns ? { ip: netns.address } : {}) });

    if (signalled) return 128 + constants.signals[signalled];
    // The tapped command never gets the registration token (it could register as any pod).
    const { MESHTAP_TAP_API_TOKEN: _token, ...appEnv } = process.env;
    const child = spawnInScope(opts.command, { cgroupPath: appCgroup, netnsPath: netns?.path, env: appEnv, stdio: 'inherit' });
    app = child;
    const code = await new Promise<number>((resolve) => {
      child.once('error', (err) => {
        report(`meshtap run: cannot start ${opts.command[0]}: ${err.message}`);
        resolve(127);
      });
      child.once('exit', (c, sig) => resolve(c ?? 128 + (sig ? constants.signals[sig] : 0)));
    });
    await opts.onCommandExit?.();
    const skipped = readScopeStats(scope).skipped;
    if (skipped > 0) report(`meshtap run: ${skipped} connect${skipped === 1 ? ' was' : 's were'} left alone (sidecar ports or skip lists)`);
    return code;
  } finally {
    await cleanup();
  }
}
