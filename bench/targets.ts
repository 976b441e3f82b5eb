/**
 * The targets load goes through, one after another, for each scenario: `direct` (the limit),
 * the meshtap engines several ways (as shipped, forwarding only, with a live tap with bodies at
 * the users' default rate and with no limit),
 * and the peers a user would otherwise pick. Each knows which protocols it can carry and how
 * to start in front of the scenario's backend; the process whose CPU/RSS we measure is `proc`.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { renderHaproxyConfig } from './peers/haproxy.js';
import { hasNginxStream, renderNginxConfig } from './peers/nginx.js';
import { startProcess, waitForStderr, type BenchProcess } from './lib/procs.js';
import { freePort } from './lib/ports.js';
import type { Protocol } from './scenarios.js';

/** Where the scenario's backend listens (h1 and h2 ports of one process, or iperf3). */
export interface BackendAddresses {
  h1: string;
  h2: string;
  tcp: string;
}

export interface TargetContext {
  protocol: Protocol;
  backend: BackendAddresses;
  scratchDir: string;
  /** CPU list for proxies (taskset -c), undefined = not pinned. */
  proxyCpus?: string;
  /** CPU list for load generators, backends and tap clients. */
  clientCpus?: string;
}

/** A started target: the address to load, and the proxy process measured (none for direct). */
export interface RunningTarget {
  address: string;
  proc?: BenchProcess;
  /**
   * Live tap: events received, drops reported (could not keep up), events left out by the
   * client's --max-rps, and events with a response body so far (meshtap `-tap*` variants).
   */
  tapCounts?(): { events: number; dropped: number; rateLimited: number; withBodies: number };
  stop(): Promise<void>;
}

export interface TargetDef {
  id: string;
  /** What it is, for the report. */
  description: string;
  /** Whether it can carry this protocol (e.g. undici-pool is HTTP/1 only). */
  supports(p: Protocol): boolean;
  start(ctx: TargetContext): Promise<RunningTarget>;
}

const DIST = fileURLToPath(new URL('..', import.meta.url));
const MESHTAP_CLI = `${DIST}bin/meshtap.js`;
const NODE_PROXY = `${DIST}bench/node-proxy.js`;

/** The upstream a target forwards to: h1 port, h2 port (h2 + gRPC) or the TCP sink. */
function upstreamFor(ctx: TargetContext, wantH1Upstream = false): string {
  if (ctx.protocol === 'tcp') return ctx.backend.tcp;
  if (ctx.protocol === 'h1' || wantH1Upstream) return ctx.backend.h1;
  return ctx.backend.h2;
}

async function fetchText(url: string): Promise<string> {
  const res = await fetch(url, { signal: AbortSignal.timeout(5000) });
  return res.text();
}

async function waitForTapSubscriber(adminAddr: string, timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    const text = await fetchText(`http://${adminAddr}/metrics`).catch(() => '');
    const m = /^meshtap_tap_subscribers(?:\{[^}]*\})? (\d+)/m.exec(text);
    if (m && Number(m[1]) >= 1) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`tap client did not attach to the sidecar (admin ${adminAddr}) within ${timeoutMs} ms`);
}

/**
 * The drops `meshtap tap` reports on stderr (tap-api/cli/tap-view.ts): "N exchanges dropped by
 * --max-rps …" are the ones its rate limit left out (whole exchanges; "events" in older builds);
 * "N events dropped: the tap could not keep up …" are the ones the sidecar shed.
 */
export function countTapNotes(text: string): { dropped: number; rateLimited: number } {
  let dropped = 0;
  let rateLimited = 0;
  for (const m of text.matchAll(/(\d+) (?:events|exchanges) dropped( by --max-rps)?/g)) {
    if (m[2]) rateLimited += Number(m[1]);
    else dropped += Number(m[1]);
  }
  return { dropped, rateLimited };
}

/** How an `end` event carrying a response body starts that field in `-o json`. */
const RESPONSE_BODY_KEY = Buffer.from('"responseBody":');

/**
 * The tap API's default rate (tap-api/server TAP_API_DEFAULTS.defaultMaxRps; `meshtap tap` through
 * the API asks for it too): what a user's live tap delivers unless they raise it. `tap --proxy`
 * sends no limit, so the `-tap` targets pass it explicitly to be the tap as users get it.
 */
export const USER_TAP_MAX_RPS = 100;

type MeshtapVariant = 'shipped' | 'fwd' | 'tap' | 'tap-all' | 'tap-stopped';

const VARIANT_WORDS: Record<MeshtapVariant, string> = {
  shipped: 'as shipped (metrics + flight recorder)',
  fwd: 'forwarding only (--observe none)',
  tap: `with a live tap with bodies at the tap API's default rate (meshtap tap --bodies --max-rps ${USER_TAP_MAX_RPS} -o json): the tap as users get it`,
  'tap-all': 'with a live tap with bodies and no rate limit (meshtap tap --bodies -o json): the firehose, as `record` or a raised --max-rps asks',
  'tap-stopped': 'with a --bodies tap (no rate limit) attached and then SIGSTOPped (a subscriber that does not read)',
};

/**
 * `tap`: a `--bodies` tap client at the rate users get by default; `tap-all`: the same with no
 * limit, every exchange delivered (the issue's goal rows are judged on `tap`, the firehose is
 * reported beside them). `tap-stopped`: the unlimited client, SIGSTOPped once attached (issue 10
 * item 8): a subscriber that is not reading must cost forwarding nothing but a counter, so this
 * target should match `shipped`, not `tap-all`.
 */
function meshtap(engine: 'js' | 'native', variant: MeshtapVariant): TargetDef {
  const suffix = variant === 'shipped' ? '' : `-${variant}`;
  return {
    id: `meshtap-${engine}${suffix}`,
    description: `meshtap ${engine} engine ${VARIANT_WORDS[variant]}`,
    supports: () => true,
    async start(ctx) {
      const args = [MESHTAP_CLI, 'proxy', '--engine', engine, '--forward', `127.0.0.1:0=${upstreamFor(ctx)}`, '--admin', '127.0.0.1:0', '--tap', '127.0.0.1:0'];
      if (variant === 'fwd') args.push('--observe', 'none');
      const env = { ...process.env, MESHTAP_LOG: 'error' };
      const proc = startProcess({ name: `meshtap-${engine}${suffix}`, command: process.execPath, args, cpus: ctx.proxyCpus, env });
      const extras: BenchProcess[] = [];
      try {
        await waitForStderr(proc, /^ready$/m);
        const tail = proc.stderrTail();
        const address = /^listening forward (\S+) ->/m.exec(tail)![1];
        const admin = /^listening admin (\S+)/m.exec(tail)![1];
        const tap = /^listening tap (\S+)/m.exec(tail)![1];
        let tapCounts: RunningTarget['tapCounts'];
        if (variant === 'tap' || variant === 'tap-all' || variant === 'tap-stopped') {
          const client = startProcess({
            name: `tap client of meshtap-${engine}${suffix}`,
            command: process.execPath,
            args: [MESHTAP_CLI, 'tap', '--proxy', tap, '--bodies', '-o', 'json', ...(variant === 'tap' ? ['--max-rps', String(USER_TAP_MAX_RPS)] : [])],
            cpus: ctx.clientCpus,
            env,
            stdout: 'pipe',
          });
          extras.push(client);
          let events = 0;
          let dropped = 0;
          let rateLimited = 0;
          let withBodies = 0;
          client.child.stdout!.on('data', (b: Buffer) => {
            for (let i = b.indexOf(10); i >= 0; i = b.indexOf(10, i + 1)) events++;
            // a key split across two chunks is missed: a count that proves bodies arrive, not an exact one
            for (let i = b.indexOf(RESPONSE_BODY_KEY); i >= 0; i = b.indexOf(RESPONSE_BODY_KEY, i + RESPONSE_BODY_KEY.length)) withBodies++;
          });
          let partial = '';
          client.child.stderr!.on('data', (b: Buffer) => {
            // whole lines only: a note split across two chunks is counted once it is complete
            const text = partial + b.toString('utf8');
            const end = text.lastIndexOf('\n') + 1;
            partial = text.slice(end);
            const n = countTapNotes(text.slice(0, end));
            dropped += n.dropped;
            rateLimited += n.rateLimited;
          });
          await waitForTapSubscriber(admin);
          tapCounts = () => ({ events, dropped, rateLimited, withBodies });
          if (variant === 'tap-stopped') client.child.kill('SIGSTOP');
        }
        return {
          address,
          proc,
          tapCounts,
          async stop() {
            for (const e of extras) e.child.kill('SIGCONT'); // a stopped client would not see SIGTERM
            await Promise.all([proc.stop(), ...extras.map((e) => e.stop())]);
          },
        };
      } catch (err) {
        await Promise.all([proc.stop(), ...extras.map((e) => e.stop())]);
        throw err;
      }
    },
  };
}

function configured(id: string, description: string, supports: (p: Protocol) => boolean, launch: (ctx: TargetContext, port: number) => { command: string; args: string[]; config: string; file: string }): TargetDef {
  return {
    id,
    description,
    supports,
    async start(ctx) {
      // a free port can be taken by someone else before the peer binds it: try a few
      let lastErr: unknown;
      for (let attempt = 0; attempt < 3; attempt++) {
        const port = await freePort();
        const { command, args, config, file } = launch(ctx, port);
        writeFileSync(file, config);
        const proc = startProcess({ name: id, command, args, cpus: ctx.proxyCpus });
        try {
          await waitForListening(proc, port);
          return { address: `127.0.0.1:${port}`, proc, stop: () => proc.stop() };
        } catch (err) {
          lastErr = err;
          await proc.stop();
        }
      }
      throw lastErr;
    },
  };
}

/** haproxy and nginx print nothing when ready: connect until the port answers. */
async function waitForListening(proc: BenchProcess, port: number, timeoutMs = 15_000): Promise<void> {
  const { connect } = await import('node:net');
  const deadline = Date.now() + timeoutMs;
  let exited = false;
  void proc.exited.then(() => (exited = true));
  while (Date.now() < deadline && !exited) {
    const ok = await new Promise<boolean>((resolve) => {
      const s = connect(port, '127.0.0.1');
      s.once('connect', () => (s.destroy(), resolve(true)));
      s.once('error', () => resolve(false));
    });
    if (ok) return;
    await new Promise((r) => setTimeout(r, 50));
  }
  const lines = proc.stderrTail().trim().split('\n');
  const last = (lines.filter((l) => /ALERT|emerg|error/i.test(l)).slice(0, 2).join(' | ') || lines.slice(-2).join(' | ')).slice(0, 300);
  throw new Error(`${proc.name} ${exited ? 'exited' : 'did not listen'} on 127.0.0.1:${port}${last ? `: ${last}` : ''}`);
}

function nodePeer(id: string, kind: string, description: string, supports: (p: Protocol) => boolean, extra: (ctx: TargetContext) => string[] = () => []): TargetDef {
  return {
    id,
    description,
    supports,
    async start(ctx) {
      const wantH1 = kind === 'http2-proxy';
      const args = [NODE_PROXY, '--kind', kind, '--target', upstreamFor(ctx, wantH1), ...extra(ctx)];
      const proc = startProcess({ name: id, command: process.execPath, args, cpus: ctx.proxyCpus });
      try {
        const m = await waitForStderr(proc, /^listening (\S+)$/m);
        return { address: m[1], proc, stop: () => proc.stop() };
      } catch (err) {
        await proc.stop();
        throw err;
      }
    },
  };
}

const scratch = (ctx: TargetContext, name: string): string => {
  const dir = `${ctx.scratchDir}/${name}`;
  mkdirSync(dir, { recursive: true });
  return dir;
};

/** Every target, in report order. */
export const TARGETS: TargetDef[] = [
  {
    id: 'direct',
    description: 'no proxy: load generator straight to the backend (the limit)',
    supports: () => true,
    async start(ctx) {
      return { address: upstreamFor(ctx), stop: async () => {} };
    },
  },
  meshtap('js', 'shipped'),
  meshtap('js', 'fwd'),
  meshtap('js', 'tap'),
  meshtap('js', 'tap-all'),
  meshtap('js', 'tap-stopped'),
  meshtap('native', 'shipped'),
  meshtap('native', 'fwd'),
  meshtap('native', 'tap'),
  meshtap('native', 'tap-all'),
  configured('haproxy', 'haproxy, HTTP mode (h1 → h1; h2 front → h2 upstream for h2 and gRPC), 1 thread', (p) => p !== 'tcp', (ctx, port) => {
    const dir = scratch(ctx, 'haproxy');
    const front = ctx.protocol === 'h1' ? 'h1' : 'h2';
    return { command: 'haproxy', args: ['-db', '-f', `${dir}/haproxy.cfg`], file: `${dir}/haproxy.cfg`, config: renderHaproxyConfig({ mode: 'http', front, listenPort: port, target: upstreamFor(ctx) }) };
  }),
  configured('haproxy-tcp', 'haproxy, TCP mode (L4), 1 thread', () => true, (ctx, port) => {
    const dir = scratch(ctx, 'haproxy-tcp');
    return { command: 'haproxy', args: ['-db', '-f', `${dir}/haproxy.cfg`], file: `${dir}/haproxy.cfg`, config: renderHaproxyConfig({ mode: 'tcp', front: 'tcp', listenPort: port, target: upstreamFor(ctx) }) };
  }),
  configured('nginx', 'nginx, 1 worker: upstream keepalive (h1), h2 front → HTTP/1.1 upstream, grpc_pass, stream (TCP)', (p) => p !== 'tcp' || hasNginxStream(), (ctx, port) => {
    const dir = scratch(ctx, 'nginx');
    const kind = ctx.protocol;
    const target = kind === 'h2' ? ctx.backend.h1 : upstreamFor(ctx);
    return { command: 'nginx', args: ['-e', 'stderr', '-c', `${dir}/nginx.conf`, '-g', 'daemon off;'], file: `${dir}/nginx.conf`, config: renderNginxConfig({ kind, listenPort: port, target, scratchDir: dir }) };
  }),
  nodePeer('undici-pool', 'undici-pool', 'naive Node L7: node:http server + undici Pool upstream (HTTP/1 only)', (p) => p === 'h1'),
  nodePeer('http2-proxy', 'http2-proxy', 'naive Node L7: http2-proxy library (h1 or h2c front → HTTP/1.1 upstream; no gRPC)', (p) => p === 'h1' || p === 'h2', (ctx) => ['--front', ctx.protocol === 'h2' ? 'h2' : 'h1']),
  nodePeer('node-h2', 'h2-forward', 'naive Node L7: node:http2 → node:http2 forwarder (h2 and gRPC)', (p) => p === 'h2' || p === 'grpc'),
  nodePeer('net-pipe', 'net-pipe', 'Node `net` pipe (L4, no parsing at all)', () => true),
];
