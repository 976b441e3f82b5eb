import { listFlag, parseBytes, parseDurationMs, parseHostPort, stringFlag, UsageError } from '../common/index.js';
import { parseJsonPath, SIDECAR_DEFAULTS, startSidecar, type ForwardSpec, type OriginalDstLookup } from '../proxy/index.js';
import { DEFAULT_SENSITIVE_HEADERS } from '../tap-protocol/index.js';
import type { Command } from './command.js';
import { chooseEngine } from './engine-choice.js';
import { jsNiceFromEnv, lowerJsThreadPriority } from './js-thread-priority.js';
import { optimizeWhileJsSeesTraffic, releaseOptimizingCompiler } from './optimizing-compiler.js';
import { capYoungGeneration, capYoungGenerationWhileTapped, collectAfterTappedBodies, settleNativeMemory } from './young-generation.js';

const help = `Run the meshtap sidecar: forward every byte unchanged, observe HTTP/1, HTTP/2, gRPC.

Usage:
  meshtap proxy --forward [in:|out:]LISTEN=TARGET [--forward …] [flags]
  meshtap proxy --inbound ADDR --outbound ADDR [flags]          (transparent, with BPF)

Listeners:
      --forward [in:|out:]LISTEN=TARGET   explicit mode (no root needed); repeatable; direction
                                          defaults to in. e.g. 127.0.0.1:18080=127.0.0.1:8080
      --inbound ADDR                      transparent inbound listener (sk_lookup hands it the pod's
                                          ports; the app is reached on 127.0.0.1:<original port>)
      --outbound ADDR                     transparent outbound listener
      --original-dst bpf                  where outbound original destinations come from (default bpf)
      --admin ADDR                        /metrics, /ready, /live (e.g. 127.0.0.1:4191)
      --tap ADDR                          tap service, gRPC (e.g. 127.0.0.1:4190)

Identity (also from env, as the Kubernetes downward API gives it):
      --workload KIND/NAME                e.g. deploy/web           (MESHTAP_WORKLOAD)
      --namespace NS                                                (MESHTAP_NAMESPACE)
      --pod NAME                                                    (MESHTAP_POD_NAME; default:
                                          HOSTNAME-PID, so two local sidecars of one workload
                                          register as two pods; the tap API refuses a second live
                                          sidecar with the same pod name)
      --pod-label KEY=VALUE               a label of the pod (repeatable), registered with the tap API
                                          so 'meshtap advise network-policy' selects the pods by it
                                          in local mode (in a cluster the pod's own labels are used)

Tap:
      --tap-api URL                       register with a tap API   (MESHTAP_TAP_API)
      --tap-api-token TOKEN               the tap API's registration token (MESHTAP_TAP_API_TOKEN;
                                          prefer the variable: a flag shows in ps). Without the
                                          right one the tap API refuses the registration (a
                                          warning is logged); traffic is forwarded regardless
      --tap-public-key BASE64             the tap API's Ed25519 key (MESHTAP_TAP_PUBLIC_KEY)
      --tap-require-grant                 refuse loopback taps without a grant too
      --tap-trust-peer IP                 trust grant-less taps from IP as from loopback (what
                                          'meshtap run --netns' gives the host end of its veth)

Observation:
      --recorder-bytes SIZE               flight recorder bound (default 4MiB native, 8MiB js)
      --recorder-bodies                   keep bodies in the flight recorder (default: off)
      --body-limit SIZE                   body capture per direction (default 64KiB)
      --redact-header NAME                also redact this header (repeatable)
      --redact-body-field NAME|JSONPATH   also redact this body field (repeatable): a name anywhere in
                                          JSON or form bodies and query strings, or a JSON path ($.user.ssn).
                                          Always redacted (unless a grant reveals all headers, --reveal-header '*'):
                                          password, passwd, secret, token, access_token, refresh_token,
                                          api_key, authorization, client_secret, and card numbers (Luhn)
      --capture-content-type TYPE         capture only bodies of these types (repeatable or comma list,
                                          e.g. application/json,text/*; default: every type)
      --body-over-limit truncate|drop     a body over --body-limit: keep its first bytes (default) or none
      --decode-budget DURATION            time a second spent decoding compressed bodies for taps (default
                                          50ms); past it they are withheld, counted in
                                          meshtap_bound_hit_total{bound="decode-budget"}
      --observe all|none                  none = forwarding only (benchmarks)
      --detect-timeout DURATION           protocol detection timeout (default 1s)

Connections:
      --idle-timeout DURATION             close a connection with no bytes either way for this
                                          long, counted in meshtap_bound_hit_total{bound="idle-timeout"}
                                          (default 1h, as Envoy; 0 = never). TCP keepalive (first
                                          probe after 60s) runs on both legs regardless, so dead
                                          peers are found without cutting quiet healthy ones
      --engine native|js                  data path engine (MESHTAP_ENGINE). native (the default where
                                          the addon is built): C++ epoll workers forward and observe. js:
                                          the TypeScript engine; also what runs, with one line saying so,
                                          where the addon is not built (bash scripts/build-native.sh)
      --native-threads N                  native engine worker threads, one SO_REUSEPORT listener
                                          each (MESHTAP_NATIVE_THREADS; default 1)
      --busy-poll-us N                    native engine: the longest a worker polls for the next event
                                          before it sleeps, in microseconds, 0 to 1000 (MESHTAP_BUSY_POLL_US;
                                          default 50; 0 = never poll). Polling spares the peers the cost
                                          of waking the sidecar's CPU and cuts latency, for some of the
                                          sidecar's CPU under load; a CPU-limited pod may want 0

On start, one line per listener is printed on stderr: 'listening KIND ADDR[ -> TARGET]', then 'ready'.
`;

/**
 * The pod name of a sidecar not told one: `HOSTNAME-PID`, lower-cased and cut to a Kubernetes
 * name. The hostname alone made every local replica the same pod (they replaced each other at
 * the tap API); the pid tells replicas on one host apart and names the process to look for.
 */
export function defaultPodName(host: string, pid: number): string {
  const suffix = `-${pid}`;
  const base = host.toLowerCase().replace(/[^a-z0-9-]+/g, '-').replace(/^-+|-+$/g, '').slice(0, 63 - suffix.length).replace(/-+$/, '');
  return `${base || 'sidecar'}${suffix}`;
}

function parseForward(text: string): ForwardSpec {
  let proxy: 'in' | 'out' = 'in';
  let rest = text;
  const m = /^(in|out):(.*)$/.exec(text);
  if (m) {
    proxy = m[1] as 'in' | 'out';
    rest = m[2];
  }
  const eq = rest.indexOf('=');
  if (eq < 0) throw new UsageError(`--forward '${text}': expected [in:|out:]LISTEN=TARGET, e.g. 127.0.0.1:18080=127.0.0.1:8080`);
  return { proxy, listen: parseHostPort(rest.slice(0, eq), '--forward LISTEN'), target: parseHostPort(rest.slice(eq + 1), '--forward TARGET') };
}

const command: Command = {
  spec: {
    name: 'proxy',
    summary: 'run the sidecar',
    help,
    options: {
      forward: { type: 'string', multiple: true },
      inbound: { type: 'string' },
      outbound: { type: 'string' },
      'original-dst': { type: 'string' },
      admin: { type: 'string' },
      tap: { type: 'string' },
      workload: { type: 'string' },
      namespace: { type: 'string', short: 'n' },
      pod: { type: 'string' },
      'tap-api': { type: 'string' },
      'tap-api-token': { type: 'string' },
      'tap-public-key': { type: 'string' },
      'tap-require-grant': { type: 'boolean' },
      'tap-trust-peer': { type: 'string', multiple: true },
      'pod-label': { type: 'string', multiple: true },
      'recorder-bytes': { type: 'string' },
      'recorder-bodies': { type: 'boolean' },
      'body-limit': { type: 'string' },
      'redact-header': { type: 'string', multiple: true },
      'redact-body-field': { type: 'string', multiple: true },
      'capture-content-type': { type: 'string', multiple: true },
      'body-over-limit': { type: 'string' },
      'decode-budget': { type: 'string' },
      observe: { type: 'string' },
      'detect-timeout': { type: 'string' },
      'idle-timeout': { type: 'string' },
      engine: { type: 'string' },
      'native-threads': { type: 'string' },
      'busy-poll-us': { type: 'string' },
    },
  },
  async run(args) {
    const forwards = listFlag(args, 'forward').map(parseForward);
    const inbound = stringFlag(args, 'inbound');
    const outbound = stringFlag(args, 'outbound');
    const { engine, fallbackNote } = await chooseEngine(args, 'proxy');
    // Before the js engine allocates per request: its RSS under load (young-generation.ts). Under native
    // only while a tap is attached (below): untapped, its JS thread allocates next to nothing.
    if (engine === 'js') capYoungGeneration();
    if (engine === 'js') releaseOptimizingCompiler();
    const threadsText = stringFlag(args, 'native-threads', 'MESHTAP_NATIVE_THREADS', '1') ?? '1';
    const nativeThreads = Number(threadsText);
    if (!/^[0-9]+$/.test(threadsText) || nativeThreads < 1 || nativeThreads > 64) {
      throw new UsageError(`proxy: --native-threads takes a number from 1 to 64, not '${threadsText}'`);
    }
    const busyPollUs = parseBusyPollUs(stringFlag(args, 'busy-poll-us', 'MESHTAP_BUSY_POLL_US'));
    const observe = stringFlag(args, 'observe', undefined, 'all');
    if (observe !== 'all' && observe !== 'none') throw new UsageError(`proxy: --observe takes all or none, not '${observe}'`);
    const workload = stringFlag(args, 'workload', 'MESHTAP_WORKLOAD');
    if (workload && !/^[a-z]+\/[a-z0-9]([-a-z0-9.]*[a-z0-9])?$/.test(workload)) {
      throw new UsageError(`proxy: --workload '${workload}' is not KIND/NAME (e.g. deploy/web)`);
    }
    let lookup: OriginalDstLookup | undefined;
    if (outbound) {
      const source = stringFlag(args, 'original-dst', undefined, 'bpf');
      if (source !== 'bpf') throw new UsageError(`proxy: --original-dst '${source}' is unknown; use bpf`);
      const native = await import('../native/index.js');
      lookup = (socket) => {
        const d = native.getOriginalDst(socket);
        return d ? { host: d.address, port: d.port } : undefined;
      };
    }
    const podLabels = parsePodLabels(listFlag(args, 'pod-label'));
    const redactBodyFields = listFlag(args, 'redact-body-field');
    for (const f of redactBodyFields) {
      if (!f.startsWith('$')) continue;
      try {
        parseJsonPath(f);
      } catch (err) {
        throw new UsageError(`proxy: --redact-body-field ${(err as Error).message}`);
      }
    }
    const captureContentTypes = listFlag(args, 'capture-content-type').flatMap((t) => t.split(',')).map((t) => t.trim().toLowerCase()).filter(Boolean);
    for (const t of captureContentTypes) {
      if (!/^[a-z0-9!#$&^_.+-]+\/([a-z0-9!#$&^_.+-]+|\*)$/.test(t)) throw new UsageError(`proxy: --capture-content-type '${t}' is not TYPE/SUBTYPE or TYPE/* (e.g. application/json, text/*)`);
    }
    const bodyOverLimit = stringFlag(args, 'body-over-limit', undefined, 'truncate');
    if (bodyOverLimit !== 'truncate' && bodyOverLimit !== 'drop') throw new UsageError(`proxy: --body-over-limit takes truncate or drop, not '${bodyOverLimit}'`);
    // Every flag's value is checked before "nothing to listen on" (review16: `--admin 127.0.0.1:99999`
    // alone was told to add --forward, then of its bad port).
    const inboundListen = inbound ? parseHostPort(inbound, '--inbound') : undefined;
    const outboundListen = outbound ? parseHostPort(outbound, '--outbound') : undefined;
    const admin = args.values.admin ? parseHostPort(String(args.values.admin), '--admin') : undefined;
    const tap = args.values.tap ? parseHostPort(String(args.values.tap), '--tap') : undefined;
    const recorderBytes = args.values['recorder-bytes'] ? parseBytes(String(args.values['recorder-bytes']), '--recorder-bytes') : undefined;
    const bodyLimit = args.values['body-limit'] ? parseBytes(String(args.values['body-limit']), '--body-limit') : SIDECAR_DEFAULTS.bodyLimit;
    const decodeBudgetMs = args.values['decode-budget'] ? parseDurationMs(String(args.values['decode-budget']), '--decode-budget') : undefined;
    if (decodeBudgetMs !== undefined && decodeBudgetMs > 1000) throw new UsageError(`proxy: --decode-budget is time in a second, at most 1s, not '${String(args.values['decode-budget'])}'`);
    const detectTimeoutMs = args.values['detect-timeout'] ? parseDurationMs(String(args.values['detect-timeout']), '--detect-timeout') : SIDECAR_DEFAULTS.detectTimeoutMs;
    const idleTimeoutMs = args.values['idle-timeout'] ? parseDurationMs(String(args.values['idle-timeout']), '--idle-timeout') : SIDECAR_DEFAULTS.idleTimeoutMs;
    if (forwards.length === 0 && !inbound && !outbound) {
      throw new UsageError("proxy: nothing to listen on; give --forward LISTEN=TARGET (or --inbound/--outbound with BPF)");
    }
    const jsNice = jsNiceFromEnv();
    const { hostname } = await import('node:os');
    if (fallbackNote) process.stderr.write(fallbackNote + '\n');
    const sidecar = await startSidecar({
      forwards,
      inbound: inboundListen ? { listen: inboundListen } : undefined,
      outbound: outboundListen && lookup ? { listen: outboundListen, lookup } : undefined,
      admin,
      tap,
      identity: {
        workload,
        namespace: stringFlag(args, 'namespace', 'MESHTAP_NAMESPACE', 'default'),
        pod: stringFlag(args, 'pod', 'MESHTAP_POD_NAME', defaultPodName(hostname(), process.pid)),
      },
      // The sidecar never reads the CLI config file: flag or environment only.
      tapApi: (args.values['tap-api'] as string | undefined) ?? process.env.MESHTAP_TAP_API,
      tapApiToken: (args.values['tap-api-token'] as string | undefined) ?? (process.env.MESHTAP_TAP_API_TOKEN || undefined),
      podIp: process.env.MESHTAP_POD_IP,
      tapPublicKey: stringFlag(args, 'tap-public-key', 'MESHTAP_TAP_PUBLIC_KEY'),
      requireGrant: args.values['tap-require-grant'] === true,
      tapTrustPeers: (args.values['tap-trust-peer'] as string[] | undefined) ?? [],
      ...(podLabels ? { podLabels } : {}),
      ...(recorderBytes !== undefined ? { recorderBytes } : {}),
      recorderBodies: args.values['recorder-bodies'] === true,
      bodyLimit,
      sensitiveHeaders: [...DEFAULT_SENSITIVE_HEADERS, ...listFlag(args, 'redact-header').map((h) => h.toLowerCase())],
      redactBodyFields,
      captureContentTypes,
      bodyOverLimit,
      ...(decodeBudgetMs !== undefined ? { decodeBudgetMs } : {}),
      observe: observe === 'all',
      engine,
      nativeThreads,
      ...(busyPollUs !== undefined ? { busyPollUs } : {}),
      detectTimeoutMs,
      idleTimeoutMs,
    });
    // The C++ workers started with the process's priority; the JS thread (tap work) yields to them.
    if (engine === 'native') lowerJsThreadPriority(jsNice);
    if (engine === 'native') capYoungGenerationWhileTapped(sidecar.hub);
    if (engine === 'native') collectAfterTappedBodies(sidecar.hub);
    if (engine === 'native') optimizeWhileJsSeesTraffic(sidecar.hub);
    for (const l of sidecar.listeners) process.stderr.write(`listening ${l.kind} ${l.address}${l.target ? ` -> ${l.target}` : ''}\n`);
    if (sidecar.adminAddress) process.stderr.write(`listening admin ${sidecar.adminAddress}\n`);
    if (sidecar.tapAddress) process.stderr.write(`listening tap ${sidecar.tapAddress}\n`);
    process.stderr.write('ready\n');
    // After 'ready' (start-up time unchanged): what loading and starting left resident is given back now, not 8–25 s later.
    if (engine === 'native') settleNativeMemory(sidecar.hub);
    await new Promise<void>((resolve) => {
      const stop = () => resolve();
      process.once('SIGINT', stop);
      process.once('SIGTERM', stop);
    });
    await sidecar.close();
    return 0;
  },
};
export default command;

/** `--busy-poll-us N`: whole microseconds, 0 (never poll) to SIDECAR_DEFAULTS.maxBusyPollUs; unset: the engine's default. */
export function parseBusyPollUs(text: string | undefined): number | undefined {
  if (text === undefined) return undefined;
  const us = Number(text);
  if (!/^[0-9]+$/.test(text) || us > SIDECAR_DEFAULTS.maxBusyPollUs) {
    throw new UsageError(`proxy: --busy-poll-us takes whole microseconds from 0 (never poll) to ${SIDECAR_DEFAULTS.maxBusyPollUs}, not '${text}' (e.g. --busy-poll-us 50)`);
  }
  return us;
}

/** A label name or value part: alphanumeric at both ends, `-_.` inside, at most 63 characters (Kubernetes). */
const LABEL_PART = /^[A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?$/;
/** A DNS subdomain (a label key's optional prefix). */
const LABEL_PREFIX = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;

/** `--pod-label KEY=VALUE` flags as labels, validated as Kubernetes would (a NetworkPolicy draft selects by them). */
export function parsePodLabels(flags: string[]): Record<string, string> | undefined {
  if (flags.length === 0) return undefined;
  const labels: Record<string, string> = {};
  for (const f of flags) {
    const eq = f.indexOf('=');
    const key = eq < 0 ? f : f.slice(0, eq);
    const value = eq < 0 ? undefined : f.slice(eq + 1);
    const slash = key.lastIndexOf('/');
    const prefix = slash < 0 ? undefined : key.slice(0, slash);
    const name = slash < 0 ? key : key.slice(slash + 1);
    const keyOk = LABEL_PART.test(name) && (prefix === undefined || (prefix.length <= 253 && LABEL_PREFIX.test(prefix)));
    if (value === undefined || !keyOk || (value !== '' && !LABEL_PART.test(value))) {
      throw new UsageError(`proxy: --pod-label '${f}' is not KEY=VALUE with a Kubernetes label key and value (e.g. --pod-label app=web)`);
    }
    labels[key] = value;
  }
  return labels;
}
