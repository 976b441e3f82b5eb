import { access, readFile, rename, writeFile } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { MeshtapError, stringFlag, UsageError } from '../common/index.js';
import { FILTER_HELP, FILTER_OPTIONS, filtersFromArgs } from '../tap-api/cli/filter-flags.js';
import { compileExchangeFilter, createRecordingWriter, harToRecording, readRecording, recordingToHar } from '../tap-api/record/index.js';
import type { Command } from './command.js';

const help = `Convert recordings to and from HAR 1.2.

Usage:
  meshtap convert FILE --to har [-o OUT.har] [filters]      recording -> HAR (stdout without -o)
  meshtap convert FILE.har --from har -o OUT.jsonl[.gz]      HAR -> recording

HAR has no place for trailers or gRPC framing: they go to the custom fields _trailers,
_requestTrailers and _grpc; meshtap's own facts (id, src/dst, protocol, …) to _meshtap, so a
recording survives the trip to HAR and back. HAR files from browsers import too.

${FILTER_HELP}

Flags:
      --to har              convert a recording to HAR
      --from har            convert a HAR file to a recording
  -o, --output FILE         where to write (HAR: default stdout; recording: required)
      --force               replace an existing output file
      --lenient             skip malformed recording lines instead of failing
`;

async function meshtapVersion(): Promise<string> {
  try {
    return (JSON.parse(await readFile(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string }).version;
  } catch {
    return 'unknown';
  }
}

async function exists(path: string): Promise<boolean> {
  return access(path).then(() => true, () => false);
}

const command: Command = {
  spec: {
    name: 'convert',
    summary: 'convert recordings to and from HAR',
    help,
    allowPositionals: true,
    options: {
      ...FILTER_OPTIONS,
      to: { type: 'string' },
      from: { type: 'string' },
      output: { type: 'string', short: 'o' },
      force: { type: 'boolean' },
      lenient: { type: 'boolean' },
    },
  },
  async run(args) {
    if (args.positionals.length !== 1) throw new UsageError("convert: give one input FILE (e.g. 'meshtap convert traffic.jsonl --to har -o traffic.har')");
    const input = args.positionals[0]!;
    const to = stringFlag(args, 'to');
    const from = stringFlag(args, 'from');
    if ((to === undefined) === (from === undefined)) throw new UsageError('convert: give --to har or --from har');
    if ((to ?? from) !== 'har') throw new UsageError(`convert: only HAR is supported ('${to ?? from}' is not)`);
    const out = stringFlag(args, 'output');
    const force = args.values.force === true;
    const select = compileExchangeFilter(filtersFromArgs(args));
    const version = await meshtapVersion();
    if (to) {
      const rec = await readRecording(input, { lenient: args.values.lenient === true });
      for (const issue of rec.issues) process.stderr.write(`meshtap: warning: ${issue.message}\n`);
      const text = JSON.stringify(recordingToHar(rec.exchanges.filter(select), rec.header, version), null, 2) + '\n';
      if (!out) {
        process.stdout.write(text);
        return 0;
      }
      if (!force && (await exists(out))) throw new MeshtapError('MT_RECORDING_EXISTS', `${out} already exists; choose another file or pass --force to replace it`);
      const temp = join(dirname(out), `.${basename(out)}.partial-${process.pid}`);
      await writeFile(temp, text, { flag: 'wx' });
      await rename(temp, out);
      return 0;
    }
    if (!out) throw new UsageError('convert: --from har needs -o FILE for the recording');
    let har: unknown;
    try {
      har = JSON.parse(await readFile(input, 'utf8'));
    } catch (err) {
      throw new MeshtapError('MT_HAR_INVALID', `cannot read ${input} as JSON: ${(err as Error).message}`, { cause: err });
    }
    const { header, exchanges } = harToRecording(har, version, input);
    const writer = await createRecordingWriter(out, header, { force });
    try {
      for (const ex of exchanges.filter(select)) await writer.write(ex);
      await writer.close();
    } catch (err) {
      await writer.abort();
      throw err;
    }
    process.stderr.write(`meshtap: wrote ${writer.count} exchanges to ${out}\n`);
    return 0;
  },
};
export default command;
