import { access, stat, writeFile } from 'node:fs/promises';
import { constants as fsConstants } from 'node:fs';
import { dirname } from 'node:path';
import { listFlag, MeshtapError, onCleanup, parseCount, parseDurationMs, stringFlag, UsageError } from '../common/index.js';
import { FILTER_HELP, FILTER_OPTIONS, filtersFromArgs } from '../tap-api/index.js';
import {
  compileExchangeFilter, describeSkipped, formatJson, formatJunit, formatText, probeTarget, readRecording, replayExchanges, selectByDirection, summarize,
  type ExchangeResult, type ReplayDirection, type ReplayTiming,
} from '../record/index.js';
import type { Command } from './command.js';

const help = `Replay a recording against a target and diff its answers with the recorded ones.

Usage: meshtap replay FILE --target URL [filters] [flags]

HTTP/1 goes through undici, HTTP/2 through node:http2, gRPC through grpc-js (raw bytes: no .proto
needed; unary and all streaming kinds). Exchanges of one recorded connection keep their order.
Exit code: 0 all matched, 1 anything mismatched or failed (or the target cannot be reached, or
the replay was interrupted), 2 usage.

Which exchanges: a workload's recording holds what it served (inbound) and the calls it made to
other workloads (outbound). Replaying against the workload sends what it served; the outbound
calls left out are counted on stderr, per destination. Select them with --direction out (and
--to deploy/NAME for one destination) to replay them against that destination instead. HTTP/2
streams the server never processed (refused, or past its GOAWAY) are never sent: no answer was
recorded, and a client's retry is an exchange of its own; they are counted on stderr too.
      --direction in|out|all    default: in when the recording has inbound exchanges, else all

${FILTER_HELP}

Timing:
      --speed X             recorded gaps divided by X: 2x, 0.5x, or max (no gaps). Default 1x
      --rate N/s            a fixed rate instead of the recorded gaps
      --concurrency N       most exchanges in flight (default 10)
      --loop N              replay the whole selection N times (default 1)
      --timeout DURATION    per exchange (default 30s)

Rewriting:
      --set-header NAME=VALUE   set (replace) a request header; repeatable
      --strip-header NAME       drop a request header; repeatable
      --rewrite-host            send the target's host:port as Host/:authority
      --rewrite-path FROM=TO    replace a path prefix; repeatable

Diff:
      --ignore JSONPATH         ignore a JSON body field: '$.id', '$.items[*].ts', '$..updatedAt'
      --ignore-header NAME      ignore a response header or trailer; repeatable
      --strict-headers          also compare date, server, etag, content-length, … (ignored by default)
      --noise                   send each request twice; fields that differ between the two are noise
      --lenient                 skip malformed lines of FILE instead of failing

Output:
  -o, --output FORMAT       text (default) or json
      --report FILE         also write a JUnit XML report
  Ctrl-C stops the replay and prints the report of what ran. A target that cannot be reached
  stops it with "cannot connect to …" (checked before the first exchange and while it runs).

Examples:
  meshtap replay web.jsonl.gz --target http://127.0.0.1:8080 --speed max --ignore '$.id'
  meshtap replay grpc.jsonl --target http://127.0.0.1:50051 --path /demo.Emoji/ --report junit.xml
`;

function parseTiming(speed: string | undefined, rate: string | undefined): ReplayTiming {
  if (speed !== undefined && rate !== undefined) throw new UsageError('replay: give --speed or --rate, not both');
  if (rate !== undefined) {
    const m = /^(\d+(?:\.\d+)?)(?:\/s)?$/.exec(rate);
    if (!m || Number(m[1]) <= 0) throw new UsageError(`--rate: '${rate}' is not a rate; use e.g. 50/s`);
    return { mode: 'rate', perSecond: Number(m[1]) };
  }
  if (speed === undefined) return { mode: 'recorded', speed: 1 };
  if (speed === 'max') return { mode: 'max' };
  const m = /^(\d+(?:\.\d+)?)x?$/.exec(speed);
  if (!m || Number(m[1]) <= 0) throw new UsageError(`--speed: '${speed}' is not a speed; use e.g. 2x, 0.5x or max`);
  return { mode: 'recorded', speed: Number(m[1]) };
}

function pairs(values: string[], flag: string): Array<[string, string]> {
  return values.map((v) => {
    const eq = v.indexOf('=');
    if (eq <= 0) throw new UsageError(`${flag}: '${v}' is not NAME=VALUE`);
    return [v.slice(0, eq), v.slice(eq + 1)];
  });
}

/**
 * Why the JUnit report cannot be written to `path`, or undefined: checked before anything is
 * replayed (a missing directory was found only after the whole replay, as 'unexpected error: ENOENT'
 * with a stack trace). An existing report is replaced, as test runners' reports are.
 */
async function reportProblem(path: string): Promise<string | undefined> {
  const dir = dirname(path);
  try {
    if (!(await stat(dir)).isDirectory()) return `${dir} is not a directory`;
    await access(dir, fsConstants.W_OK);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    return code === 'ENOENT' ? `directory ${dir} does not exist` : code === 'EACCES' ? `directory ${dir} is not writable` : (err as Error).message;
  }
  try {
    if ((await stat(path)).isDirectory()) return `${path} is a directory`;
  } catch {
    // absent: it is created
  }
  return undefined;
}

function progressBar(done: number, total: number, startedMs: number): string {
  const width = 30;
  const filled = total ? Math.round((done / total) * width) : width;
  const elapsed = performance.now() - startedMs;
  const etaS = done ? ((elapsed / done) * (total - done)) / 1000 : 0;
  return `[${'#'.repeat(filled)}${'.'.repeat(width - filled)}] ${done}/${total} ETA ${etaS.toFixed(0)}s`;
}

const command: Command = {
  spec: {
    name: 'replay',
    summary: 'replay a recording against a target and diff the answers',
    help,
    allowPositionals: true,
    options: {
      ...FILTER_OPTIONS,
      target: { type: 'string' },
      speed: { type: 'string' },
      rate: { type: 'string' },
      concurrency: { type: 'string' },
      loop: { type: 'string' },
      timeout: { type: 'string' },
      'set-header': { type: 'string', multiple: true },
      'strip-header': { type: 'string', multiple: true },
      'rewrite-host': { type: 'boolean' },
      'rewrite-path': { type: 'string', multiple: true },
      ignore: { type: 'string', multiple: true },
      'ignore-header': { type: 'string', multiple: true },
      'strict-headers': { type: 'boolean' },
      noise: { type: 'boolean' },
      lenient: { type: 'boolean' },
      output: { type: 'string', short: 'o' },
      report: { type: 'string' },
      direction: { type: 'string' },
    },
  },
  async run(args) {
    if (args.positionals.length !== 1) throw new UsageError("replay: give one recording FILE (e.g. 'meshtap replay traffic.jsonl --target http://127.0.0.1:8080')");
    const target = stringFlag(args, 'target');
    if (!target) throw new UsageError('replay: where to? give --target URL (e.g. http://127.0.0.1:8080)');
    let targetUrl: URL;
    try {
      targetUrl = new URL(target);
    } catch {
      throw new UsageError(`--target: '${target}' is not a URL; use e.g. http://127.0.0.1:8080`);
    }
    if (targetUrl.protocol !== 'http:') throw new UsageError(`--target: only http:// targets (cleartext HTTP/1, h2c, gRPC) are supported, not ${targetUrl.protocol}`);
    const output = stringFlag(args, 'output', undefined, 'text');
    if (output !== 'text' && output !== 'json') throw new UsageError(`replay: -o takes text or json, not '${output}'`);
    for (const m of listFlag(args, 'ignore')) if (!m.startsWith('$')) throw new UsageError(`--ignore: '${m}' is not a JSON path; use e.g. '$.id'`);
    const timing = parseTiming(stringFlag(args, 'speed'), stringFlag(args, 'rate'));
    const directionText = stringFlag(args, 'direction', undefined, 'auto')!;
    if (!['in', 'out', 'all', 'auto'].includes(directionText)) throw new UsageError(`--direction takes in, out or all, not '${directionText}'`);
    const matches = filtersFromArgs(args);
    // Every flag is checked before the recording is read or the target contacted.
    const concurrency = args.values.concurrency ? parseCount(String(args.values.concurrency), '--concurrency') : 10;
    const loop = args.values.loop ? parseCount(String(args.values.loop), '--loop') : 1;
    const timeoutMs = args.values.timeout ? parseDurationMs(String(args.values.timeout), '--timeout', { aboveZero: true }) : 30_000;
    const setHeaders = pairs(listFlag(args, 'set-header'), '--set-header');
    const rewritePaths = pairs(listFlag(args, 'rewrite-path'), '--rewrite-path');
    const report = stringFlag(args, 'report');
    const unwritable = report !== undefined ? await reportProblem(report) : undefined;
    if (unwritable) throw new UsageError(`--report: cannot write ${report}: ${unwritable}`);
    const recording = await readRecording(args.positionals[0]!, { lenient: args.values.lenient === true });
    for (const issue of recording.issues) process.stderr.write(`meshtap: warning: ${issue.message}\n`);
    const selection = selectByDirection(recording.exchanges, directionText as ReplayDirection | 'auto');
    const chosen = selection.selected.filter(compileExchangeFilter(matches));
    const skipped = describeSkipped(selection);
    if (skipped) process.stderr.write(`meshtap: ${skipped}\n`);

    const unreachable = await probeTarget(targetUrl);
    if (unreachable) throw new MeshtapError('MT_REPLAY_UNREACHABLE', `cannot connect to ${targetUrl.origin}: ${unreachable}; nothing was replayed`);

    // Ctrl-C / SIGTERM / the target going away stop the replay; the report covers what ran.
    const stop = new AbortController();
    let stoppedBecause: string | undefined;
    const onSignal = () => {
      if (stop.signal.aborted) process.exit(130); // a second Ctrl-C does not wait
      stoppedBecause = 'interrupted';
      stop.abort();
    };
    process.on('SIGINT', onSignal);
    process.on('SIGTERM', onSignal);
    const unregister = onCleanup(() => stop.abort());
    /** Consecutive exchanges that could not reach the target, and the last such error. */
    const UNREACHABLE_STREAK = 3;
    let streak = 0;
    let lastUnreachable = '';
    const isTty = process.stderr.isTTY === true;
    const started = performance.now();
    let results: ExchangeResult[];
    try {
      results = await replayExchanges(chosen, {
        target: targetUrl.origin,
        timing,
        concurrency,
        loop,
        timeoutMs,
        rewrite: {
          setHeaders,
          stripHeaders: listFlag(args, 'strip-header'),
          rewriteHost: args.values['rewrite-host'] === true,
          rewritePaths,
        },
        diff: { ignorePaths: listFlag(args, 'ignore'), ignoreHeaders: listFlag(args, 'ignore-header'), strictHeaders: args.values['strict-headers'] === true },
        detectNoise: args.values.noise === true,
        signal: stop.signal,
        onResult: (r, done, total) => {
          if (isTty) process.stderr.write(`\r${progressBar(done, total, started)}\x1b[K`);
          streak = r.unreachable ? streak + 1 : 0;
          if (r.unreachable) lastUnreachable = r.error ?? `gRPC status 14`;
          if (streak >= UNREACHABLE_STREAK && !stop.signal.aborted) {
            stoppedBecause = `cannot connect to ${targetUrl.origin} (${lastUnreachable}) any more`;
            stop.abort();
          }
        },
      });
    } finally {
      process.off('SIGINT', onSignal);
      process.off('SIGTERM', onSignal);
      unregister();
    }
    if (isTty) process.stderr.write('\r\x1b[K');
    process.stdout.write(output === 'json' ? formatJson(results) : formatText(results));
    if (report) {
      try {
        await writeFile(report, formatJunit(results));
      } catch (err) {
        throw new MeshtapError('MT_REPLAY_REPORT', `cannot write the report to ${report}: ${(err as Error).message}`, { cause: err });
      }
    }
    const s = summarize(results);
    const planned = chosen.length * loop;
    if (stoppedBecause) {
      process.stderr.write(`meshtap: replay stopped: ${stoppedBecause}; ${s.total} of ${planned} exchanges ran (the report above covers them)\n`);
      return 1;
    }
    if (s.total === 0) process.stderr.write('meshtap: warning: no exchange was replayed (empty recording, or the filters matched nothing)\n');
    return s.mismatched > 0 || s.failed > 0 ? 1 : 0;
  },
};
export default command;
