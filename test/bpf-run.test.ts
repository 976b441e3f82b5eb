/**
 * `meshtap run` end to end, as a user runs it: the built CLI, the real sidecar
 * (`meshtap proxy`), real curl, real servers on a veth. Asserts the sidecar saw the
 * traffic (its /metrics), that CMD's exit code comes back, and that nothing is left
 * behind (pins, cgroups, netns, veths, processes), also after SIGTERM.
 * Needs root, cgroup v2, the built addon, iproute2, curl and dist/ (npx tsc -p .).
 */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { fileURLToPath } from 'node:url';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { createNetns, deleteNetns, findCgroup2Mount, runPrerequisiteProblem, type Netns } from '../bpf/index.js';
import { meshtapRunSkipReason, reportBpfSkip } from './bpf-skip.js';

const CLI = fileURLToPath(new URL('../dist/bin/meshtap.js', import.meta.url));

const skip = await meshtapRunSkipReason(CLI);
if (skip) reportBpfSkip('test/bpf-run.test.ts', skip);

interface RunHandle { child: ChildProcess; lines: string[]; exit: Promise<number | null>; waitFor(re: RegExp): Promise<RegExpExecArray> }

function startRun(args: string[], env: NodeJS.ProcessEnv = {}): RunHandle {
  const child = spawn(process.execPath, [CLI, 'run', ...args], { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, ...env } });
  const lines: string[] = [];
  const waiters: { re: RegExp; resolve: (m: RegExpExecArray) => void }[] = [];
  // One line buffer per stream: CMD's stdout (curl writes its body, then echo its newline) and the
  // exchange lines meshtap run prints on stderr interleave, and a shared buffer glued them together.
  const lineReader = () => {
    let buf = '';
    return (d: Buffer) => {
      buf += d.toString('utf8');
      let i: number;
      while ((i = buf.indexOf('\n')) >= 0) {
        const line = buf.slice(0, i);
        buf = buf.slice(i + 1);
        lines.push(line);
        for (const w of [...waiters]) {
          const m = w.re.exec(line);
          if (m) {
            waiters.splice(waiters.indexOf(w), 1);
            w.resolve(m);
          }
        }
      }
    };
  };
  child.stdout!.on('data', lineReader());
  child.stderr!.on('data', lineReader());
  // 'close' comes after both pipes are drained, so every line is in `lines` when `exit` resolves
  const exit = new Promise<number | null>((r) => child.once('close', (c) => r(c)));
  return {
    child, lines, exit,
    waitFor: (re) => {
      const hit = lines.map((l) => re.exec(l)).find(Boolean);
      return hit ? Promise.resolve(hit) : new Promise((resolve) => waiters.push({ re, resolve }));
    },
  };
}

function netnsNames(): string[] {
  return execFileSync('ip', ['netns', 'list']).toString().split('\n').map((l) => l.split(' ')[0]!).filter((n) => n.startsWith('mt-'));
}

/** Everything meshtap run may create, so a test can assert none of it is left. */
function leftovers(): string[] {
  const out: string[] = [];
  const pins = existsSync('/sys/fs/bpf/meshtap') ? readdirSync('/sys/fs/bpf/meshtap').filter((n) => n.startsWith('run-')) : [];
  out.push(...pins.map((p) => `pin ${p}`));
  const cg = findCgroup2Mount()!;
  out.push(...readdirSync(cg).filter((n) => n.startsWith('meshtap-run-')).map((n) => `cgroup ${n}`));
  return out;
}

describe.skipIf(skip !== undefined)('meshtap run', { timeout: 90_000 }, () => {
  let netns: Netns;
  let server: Server;
  let port = 0;
  const seen: string[] = [];
  const runs: RunHandle[] = [];

  beforeAll(async () => {
    netns = await createNetns();
    server = createServer((req, res) => {
      seen.push(`${req.method} ${req.url} ${req.headers['x-probe'] ?? ''}`);
      res.setHeader('x-served-by', 'test');
      res.end(`hello ${req.url}`);
    });
    await new Promise<void>((r) => server.listen(0, netns.hostAddress, r));
    port = (server.address() as AddressInfo).port;
  });
  afterEach(async () => {
    for (const r of runs.splice(0)) {
      if (r.child.exitCode === null) r.child.kill('SIGKILL');
      await r.exit;
    }
  });
  afterAll(async () => {
    server?.close();
    if (netns) await deleteNetns(netns);
  });

  it('taps outbound traffic of an unchanged command, exits with its code and leaves nothing behind', async () => {
    const url = `http://${netns.hostAddress}:${port}/out`;
    const run2 = startRun(['--name', 'web', '--', 'sh', '-c', `curl -sf -H 'x-probe: run' ${url} && echo && exit 3`]);
    runs.push(run2);
    const [, admin] = await run2.waitFor(/^meshtap run: admin (\S+)$/);
    expect(await run2.exit).toBe(3);
    expect(run2.lines).toContain('hello /out');
    expect(seen).toContain('GET /out run');
    expect(admin).toMatch(/^127\.0\.0\.1:\d+$/);
    expect(leftovers()).toEqual([]);
  });

  // With MESHTAP_ENGINE cleared (the vitest project sets it): the sidecar runs the default engine,
  // native (issue 14; failed on the old default, js).
  it('shows the exchange in the sidecar metrics while the command runs, on the native engine by default', async () => {
    const url = `http://${netns.hostAddress}:${port}/metered`;
    const flag = `/tmp/mt-run-${process.pid}-${Date.now()}`;
    const run2 = startRun(['--name', 'metered', '--', 'sh', '-c', `curl -sf ${url} >/dev/null; while [ ! -e ${flag} ]; do sleep 0.1; done; rm -f ${flag}`], { MESHTAP_ENGINE: '' });
    runs.push(run2);
    const [, admin] = await run2.waitFor(/^meshtap run: admin (\S+)$/);
    const want = new RegExp(`request_total\\{direction="outbound",authority="${netns.hostAddress.replace(/\./g, '\\.')}:${port}"[^}]*deployment="metered"`);
    let metrics = '';
    for (let i = 0; i < 400 && !want.test(metrics); i++) {
      metrics = await fetch(`http://${admin}/metrics`).then((r) => r.text()).catch(() => '');
      if (!want.test(metrics)) await new Promise((r) => setTimeout(r, 50));
    }
    execFileSync('touch', [flag]);
    expect(metrics).toMatch(want);
    expect(metrics).toMatch(/^meshtap_engine\{[^}]*engine="native"[^}]*\} 1$/m);
    expect(await run2.exit).toBe(0);
    expect(leftovers()).toEqual([]);
  });

  it('with --netns, taps inbound connections to the namespace IP and the server sees the bytes unchanged', async () => {
    const srvScript = `require('http').createServer((q, s) => { s.end('inbound ' + q.url + ' ' + (q.headers['x-probe'] || '')); }).listen(8080, '0.0.0.0')`;
    const run = startRun(['--netns', '--name', 'srv', '--', process.execPath, '-e', srvScript]);
    runs.push(run);
    const [, ip] = await run.waitFor(/^meshtap run: ip (\S+)$/);
    const [, admin] = await run.waitFor(/^meshtap run: admin (\S+)$/);
    let body = '';
    for (let i = 0; i < 200 && !body; i++) {
      body = await fetch(`http://${ip}:8080/in`, { headers: { 'x-probe': 'abc' } }).then((r) => r.text()).catch(() => '');
      if (!body) await new Promise((r) => setTimeout(r, 50));
    }
    expect(body).toBe('inbound /in abc');
    // meshtap run taps its sidecar at the printed (namespace) tap address from the host: that
    // works without a grant now (issue 11 item 6: MT_GRANT_REQUIRED), and the exchange is printed.
    await run.waitFor(/ end id=\S+ proxy=in .*:path=\/in /);
    expect(run.lines.join('\n')).not.toMatch(/MT_GRANT_REQUIRED|RST_STREAM/);
    const metrics = await fetch(`http://${admin}/metrics`).then((r) => r.text());
    expect(metrics).toMatch(new RegExp(`request_total\\{direction="inbound",authority="${ip.replace(/\./g, '\\.')}:8080"`));
    run.child.kill('SIGTERM');
    expect(await run.exit).toBe(143);
    expect(leftovers()).toEqual([]);
    const links = execFileSync('ip', ['-o', 'link']).toString();
    expect(execFileSync('ip', ['netns', 'list']).toString().split('\n').filter((l) => /^mt-/.test(l) && !l.startsWith(`${netns.name} `))).toEqual([]);
    expect(links.split('\n').filter((l) => / mt[0-9a-f]{6}[hn][@:]/.test(l) && !l.includes(netns.hostIf))).toEqual([]);
  });

  it('a run killed with SIGKILL leaves its namespace behind, and the next run removes it', async () => {
    // Regression: reapStaleRuns removed a dead run's pins and cgroup but not its --netns namespace
    // and veth, which piled up on machines where runs were killed (CI timeouts, OOM).
    const before = new Set(netnsNames());
    const killed = startRun(['--netns', '--name', 'killed', '--', 'sleep', '60']);
    runs.push(killed);
    const [, ip] = await killed.waitFor(/^meshtap run: ip (\S+)$/);
    const mine = netnsNames().filter((n) => !before.has(n) && execFileSync('ip', ['-n', n, '-4', '-o', 'addr']).toString().includes(` ${ip}/`));
    expect(mine).toHaveLength(1);
    // 'exit', not `exit` (close): CMD and the sidecar live on and hold the pipes until reaped.
    const gone = new Promise((resolve) => killed.child.once('exit', resolve));
    killed.child.kill('SIGKILL');
    await gone;
    expect(netnsNames()).toContain(mine[0]);
    const next = startRun(['--name', 'next', '--', 'true']);
    runs.push(next);
    expect(await next.exit).toBe(0);
    expect(netnsNames()).not.toContain(mine[0]);
    expect(execFileSync('ip', ['-o', 'link']).toString()).not.toContain(` mt${mine[0]!.slice(3)}h`);
  });

  it('fails with a clear message on bad usage', async () => {
    const run = startRun(['--skip-ports', 'abc', '--', 'true']);
    runs.push(run);
    expect(await run.exit).toBe(2);
    expect(run.lines.join('\n')).toMatch(/--skip-ports/);
  });
});
