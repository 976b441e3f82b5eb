import { access, readFile, rename, unlink, writeFile } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { MeshtapError, meshtapVersion, stringFlag, UsageError, type ParsedArgs } from '../common/index.js';
import { FILTER_HELP, FILTER_OPTIONS, filtersFromArgs } from '../tap-api/index.js';
import { compileExchangeFilter, createRecordingWriter, harConvertHint, harToRecording, looksLikeHar, readRecording, recordingToHar } from '../record/index.js';
import type { Command } from './command.js';
import { refuseMissingDirectory } from './cmd-record.js';

const help = `Convert recordings to and from HAR 1.2.

Usage:
  meshtap convert FILE --format har [-o OUT.har] [filters]        recording -> HAR (stdout without -o)
  meshtap convert FILE.har [--format recording] -o OUT.jsonl[.gz]  HAR -> recording

The input's kind is read from the file (a HAR file is one JSON object with "log"; anything else
is read as a recording), so --format may be left out: a recording becomes HAR, HAR a recording.
Filters select the exchanges that are written.

HAR has no place for trailers or gRPC framing: they go to the custom fields _trailers,
_requestTrailers and _grpc; meshtap's own facts (id, src/dst, protocol, …) to _meshtap, so a
recording survives the trip to HAR and back. HAR files from browsers import too.

${FILTER_HELP}
  (--to is the destination filter: --to deploy/NAME. The output format is --format.)

Flags:
      --format har|recording  what to write (default: the other kind than FILE)
  -o, --output FILE           where to write (HAR: default stdout; recording: required)
      --force                 replace an existing output file
      --lenient               skip malformed recording lines instead of failing

Examples:
  meshtap convert web.jsonl --format har -o web.har
  meshtap convert web.jsonl --format har --to deploy/emoji > emoji-calls.har
  meshtap convert browser.har -o browser.jsonl.gz
`;

/** Output formats; `--to`/`--from` are not among the flags (they are filters). */
const FORMATS = ['har', 'recording'] as const;
type Format = (typeof FORMATS)[number];
const FORMAT_ALIASES: Record<string, Format> = { har: 'har', recording: 'recording', jsonl: 'recording', meshtap: 'recording' };


async function exists(path: string): Promise<boolean> {
  return access(path).then(() => true, () => false);
}

/**
 * `--to har` used to be read both as "convert to HAR" and as the shared destination filter
 * `--to deploy/NAME` (which then matched nothing: an empty HAR, exit 0). Formats now have
 * their own flag; a format name given to --to/--from is refused with the right spelling.
 */
function refuseFormatAsFilter(args: ParsedArgs): void {
  for (const token of args.tokens) {
    if (token.kind !== 'option' || (token.name !== 'to' && token.name !== 'from') || token.value === undefined) continue;
    const format = FORMAT_ALIASES[token.value.toLowerCase()];
    if (!format) continue;
    throw new UsageError(
      `convert: --${token.name} is a traffic filter (--${token.name} deploy/NAME), not a format; ` +
        (format === 'har' ? 'write HAR with --format har' : 'a HAR file is read as HAR by itself (add --format recording to insist)'),
    );
  }
}

const exchangesText = (n: number): string => `${n} exchange${n === 1 ? '' : 's'}`;

const command: Command = {
  spec: {
    name: 'convert',
    summary: 'convert recordings to and from HAR',
    help,
    allowPositionals: true,
    options: {
      ...FILTER_OPTIONS,
      format: { type: 'string' },
      output: { type: 'string', short: 'o' },
      force: { type: 'boolean' },
      lenient: { type: 'boolean' },
    },
  },
  async run(args) {
    refuseFormatAsFilter(args);
    if (args.positionals.length !== 1) throw new UsageError("convert: give one input FILE (e.g. 'meshtap convert traffic.jsonl --format har -o traffic.har')");
    const input = args.positionals[0]!;
    const formatText = stringFlag(args, 'format');
    let format: Format | undefined;
    if (formatText !== undefined) {
      format = FORMAT_ALIASES[formatText.toLowerCase()];
      if (!format) throw new UsageError(`convert: --format takes ${FORMATS.join(' or ')}, not '${formatText}'`);
    }
    const out = stringFlag(args, 'output');
    const force = args.values.force === true;
    const select = compileExchangeFilter(filtersFromArgs(args));
    const isHar = await looksLikeHar(input);
    format ??= isHar ? 'recording' : 'har';
    // Without --format a recording becomes HAR: `-o web.jsonl.gz` would get HAR text under a recording's (and gzip's) name.
    if (formatText === undefined && format === 'har' && out !== undefined && /\.(jsonl|gz)$/i.test(out)) throw new UsageError(`convert: ${input} is a recording and converts to HAR; name the output .har (or pass --format har to write HAR to ${out})`);
    if (format === 'har' && isHar) throw new UsageError(`convert: ${input} is already HAR; to make a recording of it: ${harConvertHint(input)}`);
    const version = meshtapVersion();
    if (format === 'har') {
      const rec = await readRecording(input, { lenient: args.values.lenient === true });
      for (const issue of rec.issues) process.stderr.write(`meshtap: warning: ${issue.message}\n`);
      const selected = rec.exchanges.filter(select);
      if (selected.length === 0 && rec.exchanges.length > 0) process.stderr.write(`meshtap: warning: the filters matched none of the ${rec.exchanges.length} exchanges; the HAR has no entries\n`);
      const text = JSON.stringify(recordingToHar(selected, rec.header, version), null, 2) + '\n';
      if (!out) {
        process.stdout.write(text);
        return 0;
      }
      await refuseMissingDirectory(out);
      if (!force && (await exists(out))) throw new MeshtapError('MT_RECORDING_EXISTS', `${out} already exists; choose another file or pass --force to replace it`);
      const temp = join(dirname(out), `.${basename(out)}.partial-${process.pid}`);
      try {
        await writeFile(temp, text, { flag: 'wx' });
        await rename(temp, out);
      } catch (err) {
        // A missing directory was 'unexpected error: Error: ENOENT' with a stack trace (review10).
        await unlink(temp).catch(() => undefined);
        throw new MeshtapError('MT_RECORDING_WRITE', `cannot write ${out}: ${(err as Error).message}`, { cause: err });
      }
      process.stderr.write(`meshtap: wrote ${exchangesText(selected.length)} to ${out}\n`);
      return 0;
    }
    if (!isHar) throw new UsageError(`convert: ${input} is not a HAR file (a HAR file is one JSON object with "log"); to convert a recording to HAR use --format har`);
    if (!out) throw new UsageError(`convert: a recording needs a file: add -o FILE (${harConvertHint(input)})`);
    let har: unknown;
    try {
      har = JSON.parse(await readFile(input, 'utf8'));
    } catch (err) {
      throw new MeshtapError('MT_HAR_INVALID', `cannot read ${input} as JSON: ${(err as Error).message}`, { cause: err });
    }
    const { header, exchanges } = harToRecording(har, version, input);
    await refuseMissingDirectory(out);
    const writer = await createRecordingWriter(out, header, { force });
    try {
      for (const ex of exchanges.filter(select)) await writer.write(ex);
      await writer.close();
    } catch (err) {
      await writer.abort();
      throw err;
    }
    process.stderr.write(`meshtap: wrote ${exchangesText(writer.count)} to ${out}\n`);
    return 0;
  },
};
export default command;
