/**
 * `meshtap agent` end to end, as a DaemonSet runs it: the built CLI against a stand-in API
 * server speaking the real list/watch protocol, with "pods" that are real local cgroups in
 * the kubelet's layouts (systemd and cgroupfs, under a test-owned --cgroup-root), each with
 * its own network namespace and a test relay playing the sidecar (uid 2102, ports 4140 and
 * 4143, asks the addon for the original destination). Asserts pins, redirects (outbound and
 * inbound), skip-list updates from annotations, convergence after bookmarks / closed
 * watches / 410 Gone, adoption and cleanup across an agent restart, and that nothing is
 * left behind. Needs root, cgroup v2, the built addon, iproute2, setpriv, nsenter and dist/.
 */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { randomBytes, randomUUID } from 'node:crypto';
import { existsSync, readdirSync } from 'node:fs';
import { connect, createServer, type AddressInfo, type Server } from 'node:net';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { agentPrerequisiteProblem, createCgroup, createNetns, deleteNetns, detachScope, findCgroup2Mount, listScopes, removeCgroup, spawnInScope, type Netns } from '../bpf/index.js';
import { loadNativeBpf } from '../native/index.js';
import { reportBpfSkip } from './bpf-skip.js';
import { startKubeApiServer, type KubeApiServer } from './support/kube-api-server.js';
import { pod as kubePod, type Pod } from './support/kube-objects.js';
import { until } from './support/until.js';

const CLI = fileURLToPath(new URL('../dist/bin/meshtap.js', import.meta.url));
const ADDON = fileURLToPath(new URL('../native/build/Release/meshtap_native.node', import.meta.url));
const PIN_ROOT = '/sys/fs/bpf/meshtap';
const NODE = 'node-agent-test';
const SIDECAR_UID = 2102;

function skipReason(): string | undefined {
  const p = agentPrerequisiteProblem();
  if (p) return p;
  if (!existsSync(CLI)) return 'dist/ is not built (npx tsc -p .)';
  for (const tool of ['ip', 'setpriv', 'nsenter']) {
    try {
      execFileSync('sh', ['-c', `command -v ${tool}`], { stdio: 'ignore' });
    } catch {
      return `${tool} is missing`;
    }
  }
  return undefined;
}
const skip = skipReason();
if (skip) reportBpfSkip('test/agent-bpf.test.ts', skip);

/** The sidecar stand-in: outbound on 127.0.0.1:4140 (original dst via the addon), inbound on :4143. */
const RELAY = `
const net = require('net'); const n = require(${JSON.stringify(ADDON)});
const emit = (o) => process.stdout.write(JSON.stringify(o) + '\\n');
const pipe = (c, u) => { u.on('error', () => c.destroy()); c.on('error', () => u.destroy()); c.pipe(u).pipe(c); };
const out = net.createServer((c) => {
  let o; try { o = n.getOriginalDst(c._handle.fd); } catch (e) { o = { error: e.message }; }
  emit({ event: 'out', orig: o ?? null });
  if (!o || o.error) return c.destroy();
  pipe(c, net.connect({ host: o.address, port: o.port }));
});
const inb = net.createServer((c) => {
  emit({ event: 'in', local: c.localAddress + ':' + c.localPort });
  pipe(c, net.connect({ host: '127.0.0.1', port: c.localPort }));
});
let up = 0; const ready = () => { if (++up === 2) emit({ event: 'ready' }); };
out.listen(4140, '127.0.0.1', ready); inb.listen(4143, '0.0.0.0', ready);
`;

const CLIENT = `
const net = require('net'); const [host, port] = JSON.parse(process.argv[1]);
const payload = Buffer.from('ping-' + Date.now() + '\\r\\n\\0');
const s = net.connect({ host, port }, () => s.write(payload)); const got = [];
s.on('data', (d) => { got.push(d); if (Buffer.concat(got).length >= payload.length) s.end(); });
s.on('error', (e) => { console.log(JSON.stringify({ ok: false, error: e.message })); });
s.on('close', () => { if (!s.errored) console.log(JSON.stringify({ ok: Buffer.concat(got).equals(payload) })); });
`;

const APP = `require('net').createServer((c) => { c.on('error', () => {}); c.end('app saw ' + c.localPort); }).listen(8080, '0.0.0.0', () => console.log('listening'));`;

interface RelayEvent { event: string; orig?: { address: string; port: number } | null; local?: string }

interface TestPod {
  uid: string;
  netns: Netns;
  podCgroup: string;
  sidecar: string;
  app: string;
  relay: ChildProcess;
  events: RelayEvent[];
  procs: ChildProcess[];
  object: Pod;
}

function lines(stream: NodeJS.ReadableStream, onLine: (l: string) => void): void {
  let buf = '';
  stream.setEncoding('utf8');
  stream.on('data', (d: string) => {
    buf += d;
    let i: number;
    while ((i = buf.indexOf('\n')) >= 0) {
      const l = buf.slice(0, i);
      buf = buf.slice(i + 1);
      if (l.trim()) onLine(l);
    }
  });
}

interface AgentHandle { child: ChildProcess; admin: string; lines: string[]; exit: Promise<number | null> }

describe.skipIf(skip !== undefined)('meshtap agent', { timeout: 60_000 }, () => {
  const id = randomBytes(3).toString('hex');
  let root: string;
  let api: KubeApiServer;
  let echo: Server;
  let echoPort = 0;
  let agent: AgentHandle | undefined;
  const pods: TestPod[] = [];

  async function startAgent(): Promise<AgentHandle> {
    const child = spawn(
      process.execPath,
      [CLI, 'agent', '--kubeconfig', api.kubeconfigPath, '--node', NODE, '--cgroup-root', root, '--admin', '127.0.0.1:0', '--resync', '3s', '--max-backoff', '1s'],
      { stdio: ['ignore', 'ignore', 'pipe'], env: { ...process.env, MESHTAP_LOG: 'info' } },
    );
    const out: string[] = [];
    lines(child.stderr!, (l) => out.push(l));
    const exit = new Promise<number | null>((r) => child.once('exit', (c) => r(c)));
    await until('the agent to be ready', () => out.includes('meshtap agent: ready') || child.exitCode !== null, 30_000);
    expect(child.exitCode, out.join('\n')).toBeNull();
    const admin = /^meshtap agent: admin (\S+)$/.exec(out.find((l) => l.startsWith('meshtap agent: admin'))!)![1];
    return { child, admin, lines: out, exit };
  }

  async function stopAgent(): Promise<void> {
    if (!agent) return;
    agent.child.kill('SIGTERM');
    expect(await agent.exit).toBe(0);
    agent = undefined;
  }

  async function createPod(layout: 'systemd' | 'cgroupfs', meshed = true): Promise<TestPod> {
    const uid = randomUUID();
    const netns = await createNetns(`mt-${randomBytes(3).toString('hex')}`);
    const podCgroup = layout === 'systemd'
      ? join(root, 'kubepods.slice', 'kubepods-burstable.slice', `kubepods-burstable-pod${uid.replace(/-/g, '_')}.slice`)
      : join(root, 'kubepods', 'besteffort', `pod${uid}`);
    const container = () => join(podCgroup, layout === 'systemd' ? `cri-containerd-${randomBytes(32).toString('hex')}.scope` : randomBytes(32).toString('hex'));
    const sidecar = createCgroup(container());
    const app = createCgroup(container());
    const pod: TestPod = { uid, netns, podCgroup, sidecar, app, relay: undefined as unknown as ChildProcess, events: [], procs: [], object: kubePod({ uid, nodeName: NODE, meshed, podIP: netns.address }) };
    pods.push(pod);
    await startRelay(pod);
    return pod;
  }

  /** Starts (or restarts) the pod's sidecar stand-in and waits until it listens. */
  async function startRelay(pod: TestPod): Promise<void> {
    const relay = spawnInScope([process.execPath, '-e', RELAY], { cgroupPath: pod.sidecar, netnsPath: pod.netns.path, uid: SIDECAR_UID, stdio: ['ignore', 'pipe', 'inherit'] });
    pod.relay = relay;
    pod.procs.push(relay);
    let ready = false;
    lines(relay.stdout!, (l) => {
      const e = JSON.parse(l) as RelayEvent;
      if (e.event === 'ready') ready = true;
      else pod.events.push(e);
    });
    await until('the relay', () => ready, 30_000);
  }

  function connectInbound(pod: TestPod): Promise<string> {
    return new Promise<string>((resolve, reject) => {
      const s = connect({ host: pod.netns.address, port: 8080 });
      let text = '';
      s.setEncoding('utf8');
      s.on('data', (d: string) => (text += d));
      s.on('end', () => resolve(text));
      s.on('error', reject);
    });
  }

  async function runClient(pod: TestPod, host: string, port: number): Promise<{ ok: boolean; error?: string }> {
    const child = spawnInScope([process.execPath, '-e', CLIENT, JSON.stringify([host, port])], { cgroupPath: pod.app, netnsPath: pod.netns.path, stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    child.stdout!.setEncoding('utf8');
    child.stdout!.on('data', (d: string) => (out += d));
    await new Promise((r) => child.once('exit', r));
    return JSON.parse(out) as { ok: boolean; error?: string };
  }

  const outEvents = (pod: TestPod) => pod.events.filter((e) => e.event === 'out');
  const pins = (uid: string) => (existsSync(join(PIN_ROOT, `pod-${uid}`)) ? readdirSync(join(PIN_ROOT, `pod-${uid}`)).sort() : []);
  const podStatus = async (uid: string) =>
    ((await fetch(`http://${agent!.admin}/pods`).then((r) => r.json())) as { uid: string; state: string; inbound: boolean }[]).find((p) => p.uid === uid);
  const metric = async (re: RegExp) => {
    const m = re.exec(await fetch(`http://${agent!.admin}/metrics`).then((r) => r.text()));
    return m ? Number(m[1]) : 0;
  };
  const isAttached = async (pod: TestPod) => {
    const s = await podStatus(pod.uid);
    return s?.state === 'attached' && s.inbound;
  };

  beforeAll(async () => {
    root = createCgroup(join(findCgroup2Mount()!, `mt-agent-test-${id}`));
    api = await startKubeApiServer();
    echo = createServer((s) => {
      s.on('error', () => undefined);
      s.pipe(s);
    });
    await new Promise<void>((r) => echo.listen(0, '0.0.0.0', r));
    echoPort = (echo.address() as AddressInfo).port;
  });

  afterAll(async () => {
    if (agent && agent.child.exitCode === null) agent.child.kill('SIGKILL');
    for (const p of pods) {
      for (const c of p.procs) if (c.exitCode === null) c.kill('SIGKILL');
      detachScope(`pod-${p.uid}`);
      await deleteNetns(p.netns);
    }
    if (root) await removeCgroup(root);
    echo?.close();
    await api?.close();
  });

  it('pod ADDED: attaches pinned programs; the pod\'s connects reach the sidecar with their original destination, inbound goes through it too', async () => {
    const other = await createPod('cgroupfs', false);
    api.add(other.object);
    agent = await startAgent();
    const a = await createPod('systemd');
    api.add(a.object);
    await until('pod A attached', () => isAttached(a), 30_000);
    expect(pins(a.uid).filter((n) => n.startsWith('link-'))).toEqual(
      ['link-connect4', 'link-connect6', 'link-getpeername4', 'link-getpeername6', 'link-getsockopt', 'link-sk-lookup', 'link-sockops'],
    );
    // the unmeshed pod was seen first and left alone
    expect(pins(other.uid)).toEqual([]);
    expect(await podStatus(other.uid)).toBeUndefined();

    expect(await runClient(a, a.netns.hostAddress, echoPort)).toEqual({ ok: true });
    expect(outEvents(a)).toEqual([{ event: 'out', orig: { address: a.netns.hostAddress, port: echoPort, family: 4 } }]);

    const app = spawnInScope([process.execPath, '-e', APP], { cgroupPath: a.app, netnsPath: a.netns.path, stdio: ['ignore', 'pipe', 'inherit'] });
    a.procs.push(app);
    const up: string[] = [];
    lines(app.stdout!, (l) => up.push(l));
    await until('the app server', () => up.includes('listening'), 30_000);
    expect(await connectInbound(a)).toBe('app saw 8080');
    expect(a.events.filter((e) => e.event === 'in')).toEqual([{ event: 'in', local: `${a.netns.address}:8080` }]);
    expect(await metric(/^meshtap_agent_pods_attached (\d+)$/m)).toBe(1);
  });

  it('annotation change (MODIFIED): skip lists follow the pod; an invalid value is a warning and ignored', async () => {
    const a = pods.find((p) => p.object.metadata.labels?.['meshtap.dev/injected'])!;
    const skipMap = join(PIN_ROOT, `pod-${a.uid}`, 'mt_skip_port');
    const key = Buffer.alloc(4);
    key.writeUInt32LE(echoPort);
    const warningsBefore = await metric(/^meshtap_agent_annotation_warnings_total (\d+)$/m);
    api.update(a.object, (p) => {
      p.metadata.annotations!['meshtap.dev/skip-outbound-ports'] = `${echoPort}`;
      p.metadata.annotations!['meshtap.dev/skip-outbound-cidrs'] = 'not-a-cidr';
    });
    await until('the skip port in the map', () => loadNativeBpf().mapLookup(skipMap, key) !== undefined, 30_000);
    const before = outEvents(a).length;
    expect(await runClient(a, a.netns.hostAddress, echoPort)).toEqual({ ok: true });
    expect(outEvents(a)).toHaveLength(before);
    expect(await metric(/^meshtap_agent_annotation_warnings_total (\d+)$/m)).toBeGreaterThan(warningsBefore);
    expect(loadNativeBpf().mapKeys(join(PIN_ROOT, `pod-${a.uid}`, 'mt_skip_cidr'), 16)).toEqual([]);

    api.update(a.object, (p) => {
      delete p.metadata.annotations!['meshtap.dev/skip-outbound-ports'];
      delete p.metadata.annotations!['meshtap.dev/skip-outbound-cidrs'];
    });
    await until('the skip port removed', () => loadNativeBpf().mapLookup(skipMap, key) === undefined, 30_000);
    expect(await runClient(a, a.netns.hostAddress, echoPort)).toEqual({ ok: true });
    expect(outEvents(a)).toHaveLength(before + 1);
  });

  it('sidecar restart: inbound falls through to the app meanwhile, then the new listener is handed to sk_lookup (on the pod update or the next resync)', async () => {
    const a = pods.find((p) => p.object.metadata.labels?.['meshtap.dev/injected'])!;
    a.relay.kill('SIGKILL');
    await new Promise((r) => (a.relay.exitCode === null && a.relay.signalCode === null ? a.relay.once('exit', r) : r(undefined)));
    // with the old listener gone, inbound connections fall through to the app: never broken
    expect(await connectInbound(a)).toBe('app saw 8080');
    await startRelay(a);
    const inBefore = a.events.filter((e) => e.event === 'in').length;
    api.update(a.object, (p) => {
      const st = (p.status.initContainerStatuses as { restartCount: number }[])[0];
      st.restartCount += 1;
    });
    await until('inbound through the restarted sidecar', async () => {
      expect(await connectInbound(a)).toBe('app saw 8080');
      return a.events.filter((e) => e.event === 'in').length > inBefore;
    }, 30_000);
  });

  it('follows bookmarks, reconnects when the server closes the watch, and re-lists on 410 Gone to converge', async () => {
    const watches = () => api.requests.filter((r) => r.isWatch).length;
    const lists = () => api.requests.filter((r) => !r.isWatch).length;
    api.add(kubePod({ nodeName: 'elsewhere', meshed: true }));
    const rv = String(api.resourceVersion);
    api.bookmark();
    const before = watches();
    api.closeWatches();
    const again = await api.waitForRequest((r) => r.isWatch && api.requests.filter((x) => x.isWatch).indexOf(r) >= before);
    expect(again.query.get('resourceVersion')).toBe(rv);

    const c = await createPod('cgroupfs');
    api.add(c.object);
    await until('pod C attached after the reconnect', () => isAttached(c), 30_000);
    expect(pins(c.uid)).toContain('link-sk-lookup');

    // C goes away while the agent is not told; only the 410 and the re-list reveal it
    const listsBefore = lists();
    api.silent = true;
    api.remove('Pod', c.object.metadata.namespace, c.object.metadata.name);
    api.silent = false;
    api.expireHistory();
    await until('pod C detached after the re-list', () => pins(c.uid).length === 0, 30_000);
    expect(lists()).toBeGreaterThan(listsBefore);
    expect(await metric(/^meshtap_agent_watch_restarts_total\{reason="expired"\} (\d+)$/m)).toBeGreaterThanOrEqual(1);
    expect(await metric(/^meshtap_agent_watch_restarts_total\{reason="closed"\} (\d+)$/m)).toBeGreaterThanOrEqual(1);
  });

  it('agent restart: pins of live pods are adopted (same links, still intercepting), pins of a pod deleted meanwhile are removed', async () => {
    const a = pods.find((p) => existsSync(join(PIN_ROOT, `pod-${p.uid}`)))!;
    const d = await createPod('systemd');
    api.add(d.object);
    await until('pod D attached', () => isAttached(d), 30_000);
    const linkId = () => loadNativeBpf().linkInfo(join(PIN_ROOT, `pod-${a.uid}`, 'link-connect4'))?.id;
    const idBefore = linkId();
    expect(idBefore).toBeGreaterThan(0);

    await stopAgent();
    expect(pins(a.uid)).toContain('link-connect4');
    expect(pins(d.uid)).toContain('link-connect4');
    // interception does not depend on the agent process
    let before = outEvents(a).length;
    expect(await runClient(a, a.netns.hostAddress, echoPort)).toEqual({ ok: true });
    expect(outEvents(a)).toHaveLength(before + 1);
    api.remove('Pod', d.object.metadata.namespace, d.object.metadata.name);

    agent = await startAgent();
    await until("the deleted pod's pins removed", () => pins(d.uid).length === 0);
    await until('pod A adopted', () => isAttached(a), 30_000);
    expect(linkId()).toBe(idBefore);
    expect(await metric(/^meshtap_agent_attaches_total\{how="adopted"\} (\d+)$/m)).toBeGreaterThanOrEqual(1);
    before = outEvents(a).length;
    expect(await runClient(a, a.netns.hostAddress, echoPort)).toEqual({ ok: true });
    expect(outEvents(a)).toHaveLength(before + 1);
  });

  it('pod DELETED: detached, pins gone, its connects go straight out; nothing of ours is left pinned', async () => {
    const a = pods.find((p) => existsSync(join(PIN_ROOT, `pod-${p.uid}`)))!;
    api.remove('Pod', a.object.metadata.namespace, a.object.metadata.name);
    await until('pod A detached', () => pins(a.uid).length === 0, 30_000);
    const before = outEvents(a).length;
    expect(await runClient(a, a.netns.hostAddress, echoPort)).toEqual({ ok: true });
    expect(outEvents(a)).toHaveLength(before);
    expect(await metric(/^meshtap_agent_pods_attached (\d+)$/m)).toBe(0);
    await stopAgent();
    const ours = new Set(pods.map((p) => `pod-${p.uid}`));
    expect(listScopes().filter((s) => ours.has(s))).toEqual([]);
  });
});
