/**
 * BPF interception at the scope level, with real programs in a real kernel: a test-local
 * relay (uid 2102, in the scope's cgroup) plays the sidecar and asks getOriginalDst through
 * the addon; real clients in the scope's cgroup connect to real servers on a veth.
 * Needs root, cgroup v2, the built addon and iproute2: otherwise skipped with a reason.
 */
import { execFileSync, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { createServer, connect, type Server, type AddressInfo } from 'node:net';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { reportBpfSkip } from '../test/bpf-skip.js';
import { createCgroup, findCgroup2Mount, removeCgroup } from './cgroup.js';
import { addIpv6, createNetns, deleteNetns, type Netns } from './netns.js';
import { spawnInScope } from './process.js';
import { runPrerequisiteProblem } from './run.js';
import { attachCgroupScope, countOriginalDstEntries, detachScope, hasScope, readScopeStats, writeScopeSettings, type ScopeOptions } from './scope.js';
import { until } from '../test/support/until.js';

const ADDON = fileURLToPath(new URL('../native/build/Release/meshtap_native.node', import.meta.url));
const SIDECAR_UID = 2102;

function skipReason(): string | undefined {
  const p = runPrerequisiteProblem();
  if (p) return p;
  try {
    execFileSync('ip', ['-V'], { stdio: 'ignore' });
    execFileSync('setpriv', ['--version'], { stdio: 'ignore' });
  } catch {
    return 'iproute2 and setpriv are needed';
  }
  return undefined;
}
const skip = skipReason();
if (skip) reportBpfSkip('bpf/scope.test.ts', skip);

const RELAY = `
const net = require('net'); const n = require(${JSON.stringify(ADDON)});
const srv = net.createServer((c) => {
  let o; try { o = n.getOriginalDst(c._handle.fd); } catch (e) { o = { error: e.message }; }
  process.stdout.write(JSON.stringify({ event: 'conn', orig: o ?? null }) + '\\n');
  c.on('error', () => {});
  if (!o || o.error) { c.destroy(); return; }
  const u = net.connect({ host: o.address, port: o.port });
  u.on('error', () => c.destroy()); c.pipe(u).pipe(c);
});
srv.listen(0, '127.0.0.1', () => process.stdout.write(JSON.stringify({ event: 'listening', port: srv.address().port }) + '\\n'));
`;

const CLIENT = `
const net = require('net');
const [host, port, count] = JSON.parse(process.argv[1]);
let done = 0; const results = [];
for (let i = 0; i < count; i++) {
  const payload = Buffer.from('hello-' + i + '-' + 'x'.repeat(i * 37) + '\\r\\n\\0\\xff');
  let peer;
  const s = net.connect({ host, port }, () => { peer = s.remoteAddress + ':' + s.remotePort; s.write(payload); });
  const got = [];
  s.on('data', (d) => { got.push(d); if (Buffer.concat(got).length >= payload.length) s.end(); });
  s.on('error', (e) => { results.push({ ok: false, error: e.message }); if (++done === count) finish(); });
  s.on('close', () => {
    if (s.errored) return;
    results.push({ ok: Buffer.concat(got).equals(payload), peer });
    if (++done === count) finish();
  });
}
function finish() { process.stdout.write(JSON.stringify(results) + '\\n'); }
`;

interface ClientResult { ok: boolean; peer?: string; error?: string }

function collectLines(child: ChildProcess, onLine: (obj: Record<string, unknown>) => void): void {
  let buf = '';
  child.stdout!.setEncoding('utf8');
  child.stdout!.on('data', (d: string) => {
    buf += d;
    let i: number;
    while ((i = buf.indexOf('\n')) >= 0) {
      const line = buf.slice(0, i);
      buf = buf.slice(i + 1);
      if (line.trim()) onLine(JSON.parse(line) as Record<string, unknown>);
    }
  });
}

async function runClient(cgroupPath: string, host: string, port: number, count = 1): Promise<ClientResult[]> {
  const child = spawnInScope([process.execPath, '-e', CLIENT, JSON.stringify([host, port, count])], { cgroupPath, stdio: ['ignore', 'pipe', 'inherit'] });
  let out = '';
  child.stdout!.setEncoding('utf8');
  child.stdout!.on('data', (d: string) => (out += d));
  const code = await new Promise<number | null>((r) => child.once('exit', r));
  expect(code).toBe(0);
  return JSON.parse(out) as ClientResult[];
}

function echoServer(host: string): Promise<{ server: Server; port: number; peers: string[] }> {
  return new Promise((resolve) => {
    const peers: string[] = [];
    const server = createServer((s) => {
      peers.push(`${s.remoteAddress}:${s.remotePort}`);
      s.on('error', () => undefined);
      s.pipe(s);
    });
    server.listen(0, host, () => resolve({ server, port: (server.address() as AddressInfo).port, peers }));
  });
}

describe.skipIf(skip !== undefined)('BPF scope: outbound interception', { timeout: 60_000 }, () => {
  const id = randomBytes(4).toString('hex');
  const scope = `test-${id}`;
  let pod: string;
  let netns: Netns;
  let relay: ChildProcess;
  const relayed: { orig: { address: string; port: number; family: number } | null }[] = [];
  let relayPort = 0;
  const servers: Server[] = [];
  let v4: Awaited<ReturnType<typeof echoServer>>;
  let v6: Awaited<ReturnType<typeof echoServer>>;
  let opts: ScopeOptions;
  const HOST6 = `fd00:6d74:${parseInt(id.slice(0, 4), 16).toString(16)}::1`;

  beforeAll(async () => {
    pod = join(findCgroup2Mount()!, `mt-test-${id}`);
    createCgroup(join(pod, 'app'));
    createCgroup(join(pod, 'relay'));
    netns = await createNetns(`mt-${id.slice(0, 6)}`);
    await addIpv6(netns, HOST6, HOST6.replace(/1$/, '2'));
    v4 = await echoServer(netns.hostAddress);
    v6 = await echoServer(HOST6);
    servers.push(v4.server, v6.server);
    relay = spawnInScope([process.execPath, '-e', RELAY], { cgroupPath: join(pod, 'relay'), uid: SIDECAR_UID, stdio: ['ignore', 'pipe', 'inherit'] });
    collectLines(relay, (o) => {
      if (o.event === 'listening') relayPort = o.port as number;
      else relayed.push({ orig: o.orig as (typeof relayed)[number]['orig'] });
    });
    await until('the relay', () => relayPort > 0);
    opts = { sidecarUid: SIDECAR_UID, outboundPort: relayPort };
    attachCgroupScope(scope, pod, opts);
  });

  afterAll(async () => {
    relay?.kill('SIGKILL');
    if (hasScope(scope)) detachScope(scope);
    if (pod) await removeCgroup(pod);
    for (const s of servers) s.close();
    if (netns) await deleteNetns(netns);
  });

  it('redirects a connect to the relay, which learns the original destination; bytes arrive unchanged', async () => {
    const before = relayed.length;
    const [r] = await runClient(join(pod, 'app'), netns.hostAddress, v4.port);
    expect(r.ok).toBe(true);
    expect(relayed.slice(before)).toEqual([{ orig: { address: netns.hostAddress, port: v4.port, family: 4 } }]);
    // getpeername shows the real peer, not the relay's loopback listener
    expect(r.peer).toBe(`${netns.hostAddress}:${v4.port}`);
    // the relay's own connect (uid 2102) was not redirected back to itself: the server saw it
    expect(v4.peers.at(-1)).toMatch(new RegExp(`^${netns.hostAddress.replace(/\./g, '\\.')}:`));
  });

  it('leaves processes outside the cgroup untouched', async () => {
    const before = relayed.length;
    const sock = connect({ host: netns.hostAddress, port: v4.port });
    await new Promise((r) => sock.once('connect', r));
    expect(`${sock.remoteAddress}:${sock.remotePort}`).toBe(`${netns.hostAddress}:${v4.port}`);
    await until('the relay sees the client', () => v4.peers.includes(`${sock.localAddress}:${sock.localPort}`));
    sock.destroy();
    expect(relayed.length).toBe(before);
  });

  it('handles many concurrent connections and removes every map entry once they close', async () => {
    const before = relayed.length;
    const results = await runClient(join(pod, 'app'), netns.hostAddress, v4.port, 64);
    expect(results.filter((r) => r.ok)).toHaveLength(64);
    expect(relayed.length - before).toBe(64);
    await until('no original-destination entries left', () => countOriginalDstEntries(scope) === 0);
    expect(readScopeStats(scope).sockoptHit).toBeGreaterThanOrEqual(64);
  });

  it('intercepts IPv6 and v4-mapped destinations through connect6', async () => {
    const before = relayed.length;
    const [r6] = await runClient(join(pod, 'app'), HOST6, v6.port);
    const [rm] = await runClient(join(pod, 'app'), `::ffff:${netns.hostAddress}`, v4.port);
    expect(r6.ok && rm.ok).toBe(true);
    expect(relayed.slice(before)).toEqual([
      { orig: { address: HOST6, port: v6.port, family: 6 } },
      { orig: { address: netns.hostAddress, port: v4.port, family: 4 } },
    ]);
    expect(r6.peer).toBe(`${HOST6}:${v6.port}`);
  });

  it('never intercepts skip-listed ports and CIDRs, or the sidecar ports', async () => {
    const extra = await echoServer(netns.hostAddress);
    servers.push(extra.server);
    const count = () => relayed.length;
    let before = count();
    writeScopeSettings(scope, { ...opts, skipOutboundPorts: [extra.port] });
    expect((await runClient(join(pod, 'app'), netns.hostAddress, extra.port))[0].ok).toBe(true);
    expect(count()).toBe(before);
    expect((await runClient(join(pod, 'app'), netns.hostAddress, v4.port))[0].ok).toBe(true);
    expect(count()).toBe(before + 1);

    before = count();
    writeScopeSettings(scope, { ...opts, skipCidrs: [`${netns.hostAddress}/32`] });
    expect((await runClient(join(pod, 'app'), netns.hostAddress, v4.port))[0].ok).toBe(true);
    expect(count()).toBe(before);

    writeScopeSettings(scope, { ...opts, adminPort: extra.port, tapPort: v4.port });
    expect((await runClient(join(pod, 'app'), netns.hostAddress, extra.port))[0].ok).toBe(true);
    expect((await runClient(join(pod, 'app'), netns.hostAddress, v4.port))[0].ok).toBe(true);
    expect(count()).toBe(before);
    writeScopeSettings(scope, opts);
  });

  it('keeps intercepting after the loader exits (pinned links) and stops once detached', async () => {
    const scope2 = `${scope}-b`;
    const pod2 = join(findCgroup2Mount()!, `mt-test-${id}-b`);
    createCgroup(pod2);
    try {
      // a separate loader process (the built CLI's module) attaches and exits
      const built = new URL('../dist/bpf/scope.js', import.meta.url);
      expect(existsSync(built), "run 'npx tsc -p .' first").toBe(true);
      const loader = `import(${JSON.stringify(built.href)}).then((m) => m.attachCgroupScope(${JSON.stringify(scope2)}, ${JSON.stringify(pod2)}, ${JSON.stringify(opts)}))`;
      execFileSync(process.execPath, ['--input-type=module', '-e', loader], { stdio: 'inherit' });
      let before = relayed.length;
      // the relay listens in the first pod's cgroup: the getsockopt program there answers
      // only for sockets of that scope, so here we check the redirect itself (and the bytes)
      const [r] = await runClient(pod2, netns.hostAddress, v4.port);
      expect(relayed.length).toBe(before + 1);
      expect(r.ok).toBe(false);
      expect(attachCgroupScope(scope2, pod2, opts).adopted).toHaveLength(6);
      detachScope(scope2);
      expect(existsSync(join('/sys/fs/bpf/meshtap', scope2))).toBe(false);
      before = relayed.length;
      expect((await runClient(pod2, netns.hostAddress, v4.port))[0].ok).toBe(true);
      expect(relayed.length).toBe(before);
    } finally {
      detachScope(scope2);
      await removeCgroup(pod2);
    }
  });
});
