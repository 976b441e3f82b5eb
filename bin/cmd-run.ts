import { listFlag, meshtapVersion, parseCount, parseHostPort, stringFlag, UsageError } from '../common/index.js';
import type { Command } from './command.js';
import { chooseEngine } from './engine-choice.js';
import type { RunOutput } from './run-exchanges.js';

const help = `Run a command with its traffic intercepted by BPF and a meshtap sidecar (root).

Usage:
  meshtap run [--name web] [-n NS] [--netns] [--skip-ports 22,5432] [--skip-cidrs 10.0.0.0/8]
              [--admin ADDR] [--tap ADDR] [--tap-api URL [--tap-api-token TOKEN]] -- CMD [ARGS...]

CMD runs in a fresh cgroup v2; its outbound TCP connects (loopback targets included) go
through a sidecar (running as its own uid) that forwards every byte unchanged and records what
it sees. CMD's exchanges are printed on stderr as they end (CMD keeps stdout), like strace.
Not intercepted, and said at start: UDP (DNS), the sidecar's own connects, --skip-ports and
--skip-cidrs, and without --netns connections made to CMD. With --netns, CMD
also gets a fresh network namespace with its own IP (printed), and connections to that IP
reach CMD through the sidecar's inbound listener. CMD needs no change.

Flags:
      --name NAME            workload name (deploy/NAME); default: CMD's base name
  -n, --namespace NS         namespace label (default: default)
      --netns                own network namespace and IP; intercept inbound traffic too
      --skip-ports LIST      ports never intercepted, comma-separated (repeatable)
      --skip-cidrs LIST      destinations never intercepted, comma-separated (repeatable)
      --admin ADDR           sidecar admin listener (default: a free port, printed)
      --tap ADDR             sidecar tap listener (default: a free port, printed)
      --tap-api URL          register the sidecar with a tap API (MESHTAP_TAP_API); with --netns, an
                             http tap API on the host's loopback is relayed into the namespace
      --tap-api-token TOKEN  the tap API's registration token (MESHTAP_TAP_API_TOKEN; prefer the
                             variable). Handed to the sidecar only, never to CMD
      --sidecar-uid UID      uid the sidecar runs as (default 2102)
      --engine native|js     the sidecar's data path engine (MESHTAP_ENGINE; default native where
                             the addon is built, else js with a line saying why)
  -o, --output FORMAT        CMD's exchanges on stderr, one line each: text (default), wide, json, none
      --record FILE          also write CMD's exchanges (with bodies) as a recording (.gz: gzip)
      --force                with --record: replace FILE

On start, 'meshtap run: admin ADDR', 'meshtap run: tap ADDR' (and with --netns
'meshtap run: ip ADDR') are printed on stderr. meshtap run exits with CMD's exit code and
removes everything it set up, also on SIGINT/SIGTERM. Without root or BPF support it
fails and says what is missing; use explicit mode then: meshtap proxy --forward LISTEN=TARGET.

Example:
  sudo meshtap run --name web -- curl -s http://10.0.0.5:8080/
`;

const command: Command = {
  spec: {
    name: 'run',
    summary: 'run a command with its traffic intercepted',
    help,
    allowPositionals: true,
    options: {
      name: { type: 'string' },
      namespace: { type: 'string', short: 'n' },
      netns: { type: 'boolean' },
      'skip-ports': { type: 'string', multiple: true },
      'skip-cidrs': { type: 'string', multiple: true },
      admin: { type: 'string' },
      tap: { type: 'string' },
      'tap-api': { type: 'string' },
      'tap-api-token': { type: 'string' },
      'sidecar-uid': { type: 'string' },
      engine: { type: 'string' },
      output: { type: 'string', short: 'o' },
      record: { type: 'string' },
      force: { type: 'boolean' },
    },
  },
  async run(args) {
    const cmd = args.positionals;
    if (cmd.length === 0) throw new UsageError("run: no command given; use 'meshtap run [flags] -- CMD [ARGS...]'");
    const split = (name: string) => listFlag(args, name).flatMap((v) => v.split(',')).map((v) => v.trim()).filter(Boolean);
    const skipPorts = split('skip-ports').map((p) => {
      const n = parseCount(p, '--skip-ports');
      if (n > 65535) throw new UsageError(`--skip-ports: ${p} is not a port`);
      return n;
    });
    const name = stringFlag(args, 'name') ?? (cmd[0].split('/').pop() ?? 'run').toLowerCase().replace(/[^a-z0-9-]/g, '-');
    if (!/^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/.test(name)) throw new UsageError(`run: --name '${name}' must be a DNS label (e.g. web)`);
    const { runIntercepted, DEFAULT_SIDECAR_UID, encodeCidrKey, isLoopbackUrl } = await import('../bpf/index.js');
    const skipCidrs = split('skip-cidrs');
    for (const c of skipCidrs) {
      try {
        encodeCidrKey(c);
      } catch (err) {
        throw new UsageError(`--skip-cidrs: ${(err as Error).message}`);
      }
    }
    const { engine, fallbackNote } = await chooseEngine(args, 'run');
    const uidText = stringFlag(args, 'sidecar-uid');
    const output = stringFlag(args, 'output', undefined, 'text')!;
    if (!['text', 'wide', 'json', 'none'].includes(output)) throw new UsageError(`run: -o takes text, wide, json or none, not '${output}'`);
    const record = stringFlag(args, 'record');
    const tapApi = (args.values['tap-api'] as string | undefined) ?? (process.env.MESHTAP_TAP_API || undefined);
    if (tapApi !== undefined) {
      let url: URL;
      try {
        url = new URL(tapApi);
      } catch {
        throw new UsageError(`run: --tap-api '${tapApi}' is not a URL (e.g. http://127.0.0.1:8089)`);
      }
      if (args.values.netns === true && url.protocol === 'https:' && isLoopbackUrl(url)) {
        throw new UsageError(`run: with --netns the sidecar cannot reach ${url.origin} (the host's loopback; its certificate names loopback, so it cannot be relayed); give an address the namespace reaches (--tap-api https://HOST-IP:PORT) or leave out --netns`);
      }
    }
    const { createRunExchanges } = await import('./run-exchanges.js');
    const print = (l: string) => {
      if (!process.stderr.destroyed) process.stderr.write(l + '\n');
    };
    const shown = createRunExchanges({ output: output as RunOutput, record, force: args.values.force === true, version: meshtapVersion(), print });
    return runIntercepted({
      // Said once the sidecar runs: without the addon there is no BPF either, and run stops earlier.
      onSidecarReady: ({ tap }) => {
        if (fallbackNote) print(fallbackNote);
        return shown.start(tap);
      },
      onCommandExit: async () => {
        const { exchanges } = await shown.finish();
        if (exchanges === 0) print('meshtap run: CMD made no HTTP exchange through the sidecar (TCP without HTTP is forwarded but not listed)');
      },
      command: cmd,
      name,
      namespace: stringFlag(args, 'namespace', undefined, 'default')!,
      netns: args.values.netns === true,
      skipPorts,
      skipCidrs,
      admin: args.values.admin ? parseHostPort(String(args.values.admin), '--admin') : undefined,
      tap: args.values.tap ? parseHostPort(String(args.values.tap), '--tap') : undefined,
      // The sidecar never reads the CLI config file: flag or environment only.
      tapApi,
      tapApiToken: (args.values['tap-api-token'] as string | undefined) ?? (process.env.MESHTAP_TAP_API_TOKEN || undefined),
      engine,
      sidecarUid: uidText === undefined ? DEFAULT_SIDECAR_UID : parseCount(uidText, '--sidecar-uid'),
    });
  },
};
export default command;
