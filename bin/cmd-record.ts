import { stat } from 'node:fs/promises';
import { dirname } from 'node:path';
import { MeshtapError, meshtapVersion, parseBytes, parseCount, parseDurationMs, parseConnectAddress, stringFlag, UsageError } from '../common/index.js';
import type { TapRequest } from '../tap-protocol/index.js';
import {
  onStopSignals,
  connectionFromArgs,
  DEFAULT_TAP_MAX_RPS,
  describeSidecarError,
  FILTER_HELP,
  FILTER_OPTIONS,
  filtersFromArgs,
  refuseHiddenHeaderFilters,
  MAX_RPS_HELP,
  openSource,
  SOURCE_HELP,
  SOURCE_OPTIONS,
  sourceFor,
  targetFromArgs,
  type StopSignals,
  type TapSource,
} from '../tap-api/index.js';
import { createRecordingHeader, createRecordingWriter, createStdoutRecordingWriter, recordStream, type RecordingSource, type RecordProgress, type RecordStopReason } from '../record/index.js';
import type { Command } from './command.js';

/**
 * A file to be written whose directory does not exist is said so, naming the file and the
 * directory, before anything is contacted: the writer's own error named its hidden partial file
 * (`ENOENT: … open '/missing/dir/.x.partial-4087'`), which the user never typed (review16).
 */
export async function refuseMissingDirectory(file: string): Promise<void> {
  const dir = dirname(file);
  const isDir = await stat(dir).then(
    (s) => s.isDirectory(),
    () => undefined,
  );
  if (isDir !== true) throw new MeshtapError('MT_RECORDING_WRITE', `cannot write ${file}: ${isDir === false ? `${dir} is not a directory` : `directory ${dir} does not exist`}`);
}

const help = `Record tapped exchanges (with bodies) to a file for replay, mock or HAR export.

Usage:
  meshtap record TARGET -o FILE [-n NS] [filters] [flags]     through the tap API or a kubeconfig (deploy/NAME, pod/NAME, …)
  meshtap record --proxy HOST:PORT -o FILE [filters] [flags]  one sidecar's tap port directly

The file is JSON Lines (gzip when FILE ends in .gz), see docs/recording-format.md. It is written
to a temporary file beside FILE and moved into place when recording stops, so FILE is never
half-written; an existing FILE is kept unless --force. Stops at Ctrl-C (exit status 130) or the
first limit (0); the file is complete either way.

${FILTER_HELP}

Flags:
  -o, --output FILE         where to write (required; FILE.gz: gzip; - : stdout, e.g. '-o - | jq')
      --force               replace FILE if it exists
      --duration DURATION   stop after this long (e.g. 30s, 5m)
      --limit N             stop after N exchanges
      --max-bytes SIZE      stop after the exchange that brings the file to SIZE (uncompressed)
      --since DURATION      record the flight recorders' history of the last DURATION, then stop
      --last N              record the last N exchanges of the flight recorders, then stop
      --follow              with --since/--last: keep recording live traffic afterwards
      --no-bodies           record without bodies (bodies need the body permission)
      --reveal-header NAME  keep this sensitive header unredacted (needs the body permission)
${MAX_RPS_HELP}
  -n, --namespace NS        namespace of TARGET (default: default; through Kubernetes: the context's)
${SOURCE_HELP}
      --proxy HOST:PORT     a sidecar's tap address instead of a TARGET

Progress (exchanges, bytes, rate) goes to stderr.

Examples:
  meshtap record deploy/web -n shop -o web.jsonl.gz --duration 5m --path /api
  meshtap record --proxy 127.0.0.1:4190 --since 10m -o incident.jsonl
`;


function formatProgress(p: RecordProgress): string {
  const rate = p.elapsedMs > 0 ? (p.count * 1000) / p.elapsedMs : 0;
  const kib = (p.bytes / 1024).toFixed(1);
  return `recorded ${p.count} exchange${p.count === 1 ? '' : 's'}, ${kib} KiB, ${rate.toFixed(1)}/s${p.dropped ? `, ${p.dropped} dropped by the tap` : ''}`;
}

/**
 * Why the recording stopped, for its last line. A stop signal is the only abort: Ctrl-C is the
 * user's own request (exit 130; "aborted" read as if something had gone wrong while the file was
 * finished whole), SIGTERM a supervisor's stop (exit 0). The other reasons name the limit reached.
 */
function stoppedBecause(reason: RecordStopReason, signals: StopSignals): string {
  if (reason !== 'aborted') return `stopped (${reason})`;
  return signals.exitCode() !== 0 ? 'stopped at your request (Ctrl-C)' : 'stopped by SIGTERM';
}

const command: Command = {
  spec: {
    name: 'record',
    summary: 'record tapped traffic to a file',
    help,
    allowPositionals: true,
    options: {
      ...FILTER_OPTIONS,
      output: { type: 'string', short: 'o' },
      force: { type: 'boolean' },
      duration: { type: 'string' },
      limit: { type: 'string' },
      'max-bytes': { type: 'string' },
      since: { type: 'string' },
      last: { type: 'string' },
      follow: { type: 'boolean' },
      'no-bodies': { type: 'boolean' },
      'reveal-header': { type: 'string', multiple: true },
      'max-rps': { type: 'string' },
      namespace: { type: 'string', short: 'n' },
      ...SOURCE_OPTIONS,
      proxy: { type: 'string' },
    },
  },
  async run(args) {
    const file = stringFlag(args, 'output');
    if (!file) throw new UsageError("record: where to? give -o FILE (e.g. -o traffic.jsonl.gz)");
    const proxyFlag = stringFlag(args, 'proxy');
    // A usage mistake, said before anything is contacted.
    const proxy = proxyFlag === undefined ? undefined : parseConnectAddress(proxyFlag, '--proxy');
    const target = targetFromArgs('record', args.positionals);
    if (proxy && target) throw new UsageError('record: give a TARGET or --proxy, not both');
    if (!proxy && !target) throw new UsageError("record: which workload? e.g. 'meshtap record deploy/web -o web.jsonl' (or --proxy HOST:PORT)");
    // Every flag is checked before the tap API is looked for (config file, environment) or contacted.
    const since = stringFlag(args, 'since');
    const last = stringFlag(args, 'last');
    const history = since !== undefined || last !== undefined;
    const follow = history ? args.values.follow === true : true;
    const matches = filtersFromArgs(args);
    refuseHiddenHeaderFilters('record', matches, args.values['reveal-header'] as string[] | undefined);
    const maxRps = stringFlag(args, 'max-rps');
    const limit = stringFlag(args, 'limit');
    const maxBytes = stringFlag(args, 'max-bytes');
    const duration = stringFlag(args, 'duration');
    const request: TapRequest = {
      matches,
      bodies: args.values['no-bodies'] !== true,
      // A recording keeps `end` events only: the sidecar need not make req/rsp messages (TapRequest.endsOnly).
      endsOnly: true,
      revealHeaders: (args.values['reveal-header'] as string[] | undefined) ?? undefined,
      sinceMs: since !== undefined ? parseDurationMs(since, '--since') : undefined,
      last: last !== undefined ? parseCount(last, '--last') : undefined,
      follow: history ? follow : undefined,
      // One sidecar directly: no limit unless asked. Through the tap API: 100 unless asked.
      maxRps: maxRps !== undefined ? parseCount(maxRps, '--max-rps') : proxy ? undefined : DEFAULT_TAP_MAX_RPS,
    };
    const limits = {
      limit: limit !== undefined ? parseCount(limit, '--limit') : undefined,
      maxBytes: maxBytes !== undefined ? parseBytes(maxBytes, '--max-bytes') : undefined,
      durationMs: duration !== undefined ? parseDurationMs(duration, '--duration', { aboveZero: true }) : undefined,
      stopAtHistoryEnd: history && !follow,
    };
    let tapSource: TapSource;
    let source: RecordingSource;
    if (proxy) {
      tapSource = { proxy };
      source = { kind: 'proxy', address: proxy };
    } else {
      // The tap API (--tap-api, environment, config file) or, without one, a kubeconfig: as `meshtap tap`.
      const namespace = stringFlag(args, 'namespace');
      const connection = connectionFromArgs('record', args);
      tapSource = sourceFor(connection, target!, namespace);
      const where = 'tapApi' in connection ? { namespace: namespace ?? 'default', url: connection.tapApi.url } : namespace !== undefined ? { namespace } : {};
      source = { kind: 'workload', target: target!, ...where };
    }
    if (file !== '-') await refuseMissingDirectory(file);
    const header = createRecordingHeader(source, meshtapVersion(), { matches, bodies: request.bodies });
    // `-o -`: the lines go to stdout as they come (`| jq`, `| head`), as `tcpdump -w -`.
    const toStdout = file === '-';
    const writer = toStdout ? createStdoutRecordingWriter(header) : await createRecordingWriter(file, header, { force: args.values.force === true });
    const stream = openSource(tapSource, request, (n) => process.stderr.write(`meshtap: ${n.pod}: ${n.message}\n`));
    const ac = new AbortController();
    const stop = (): void => ac.abort();
    // Ctrl-C finishes the file as any stop does, then exits 130 (interrupt.ts); SIGTERM, --duration, --limit: 0.
    const signals = onStopSignals(stop);
    const isTty = process.stderr.isTTY === true;
    let lastShown = 0;
    const onProgress = (p: RecordProgress): void => {
      if (!isTty || p.elapsedMs - lastShown < 250) return;
      lastShown = p.elapsedMs;
      process.stderr.write(`\r${formatProgress(p)}\x1b[K`);
    };
    process.stderr.write(toStdout ? 'meshtap: recording to stdout\n' : `meshtap: recording to ${file} (partial data in ${writer.tempPath} until it stops)\n`);
    try {
      const result = await recordStream(stream.messages, writer, limits, { signal: ac.signal, onProgress, cancel: () => stream.cancel() });
      await writer.close();
      if (isTty) process.stderr.write('\r\x1b[K');
      process.stderr.write(`meshtap: ${formatProgress(result)}; ${stoppedBecause(result.reason, signals)}; wrote ${toStdout ? 'stdout' : file}\n`);
      return signals.exitCode();
    } catch (err) {
      if (isTty) process.stderr.write('\n');
      const failure = proxy ? describeSidecarError(proxy, err) : err;
      if (writer.count > 0) {
        // Keep what was recorded: the failure is the tap's, not the file's.
        await writer.close().catch(() => undefined);
        process.stderr.write(`meshtap: the tap failed after ${writer.count} exchange${writer.count === 1 ? '' : 's'}; they were kept in ${toStdout ? 'stdout' : file}\n`);
      } else {
        await writer.abort();
      }
      throw failure;
    } finally {
      signals.off();
    }
  },
};
export default command;
