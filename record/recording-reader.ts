/**
 * Reads recordings (plain or gzip, sniffed by magic bytes so partial files read too).
 * Tolerant where a crash explains the damage, strict elsewhere: a truncated last line (or a
 * gzip stream cut short) is reported as an issue and everything before it is returned; a
 * malformed line anywhere else is an error naming the line (with `lenient`, it is skipped and
 * reported instead). Reading never changes the file.
 */
import { createReadStream } from 'node:fs';
import { open } from 'node:fs/promises';
import { constants as zlibConstants, createGunzip } from 'node:zlib';
import { MeshtapError } from '../common/index.js';
import { RECORDING_FORMAT, RECORDING_VERSION, type RecordedExchange, type RecordingHeader } from './format.js';

export interface RecordingIssue {
  /** 1-based line number. */
  line: number;
  kind: 'truncated-last-line' | 'truncated-gzip' | 'corrupt-line';
  message: string;
}

export interface Recording {
  path: string;
  header: RecordingHeader;
  exchanges: RecordedExchange[];
  /** Damage tolerated while reading; empty for a clean file. */
  issues: RecordingIssue[];
}

export interface ReadOptions {
  /** Skip malformed lines (reported in `issues`) instead of failing. */
  lenient?: boolean;
}

/** Longest line accepted (a line holds one exchange with its bodies). */
export const MAX_LINE_BYTES = 256 * 1024 * 1024;
const PROTOCOLS = new Set(['http/1.1', 'http/1.0', 'h2', 'grpc']);
const GZIP_MAGIC = [0x1f, 0x8b];

async function isGzip(path: string): Promise<boolean> {
  const fh = await open(path, 'r');
  try {
    const { buffer, bytesRead } = await fh.read(Buffer.alloc(2), 0, 2, 0);
    return bytesRead === 2 && buffer[0] === GZIP_MAGIC[0] && buffer[1] === GZIP_MAGIC[1];
  } finally {
    await fh.close();
  }
}

/** The command that turns a HAR file into a recording, for messages. */
export function harConvertHint(path: string): string {
  const base = path.replace(/\.har$/i, '');
  return `meshtap convert ${path} -o ${base === path ? `${path}.jsonl` : `${base}.jsonl`}`;
}

/**
 * Whether FILE is HAR: a JSON document whose first key is `"log"` (HAR 1.2 has just that one).
 * Sniffs the first KiB only. Readers use it to say how to convert instead of "line 1: not valid
 * JSON" (a HAR file is usually pretty-printed).
 */
export async function looksLikeHar(path: string): Promise<boolean> {
  let head: string;
  try {
    const fh = await open(path, 'r');
    try {
      const { buffer, bytesRead } = await fh.read(Buffer.alloc(1024), 0, 1024, 0);
      head = buffer.subarray(0, bytesRead).toString('utf8');
    } finally {
      await fh.close();
    }
  } catch (err) {
    throw readError(path, err);
  }
  return /^\uFEFF?\s*\{\s*"log"\s*:/.test(head);
}

const HEADER_FIELDS = ['requestHeaders', 'responseHeaders', 'trailers', 'requestTrailers'] as const;
const NUMBER_FIELDS = ['latencyMs', 'durationMs', 'requestBytes', 'responseBytes'] as const;
const STRING_FIELDS = ['scheme', 'authority', 'grpcMessage', 'error', 'pod'] as const;

function checkHeaderList(name: string, list: unknown): string | undefined {
  if (!Array.isArray(list)) return `"${name}" is not a list of [name, value] pairs`;
  const bad = list.findIndex((h) => !Array.isArray(h) || h.length !== 2 || typeof h[0] !== 'string' || typeof h[1] !== 'string');
  return bad === -1 ? undefined : `"${name}"[${bad}] is not a [name, value] pair of strings`;
}

function checkBody(name: string, body: unknown): string | undefined {
  const b = body as Record<string, unknown> | null;
  if (typeof b !== 'object' || b === null || Array.isArray(b)) return `"${name}" is not a body object`;
  if (typeof b.data !== 'string') return `"${name}".data is not a string`;
  if (b.encoding !== 'utf8' && b.encoding !== 'base64') return `"${name}".encoding is neither "utf8" nor "base64"`;
  if (b.decoded !== undefined && typeof b.decoded !== 'string') return `"${name}".decoded is not a string`;
  return undefined;
}

function checkFrames(name: string, frames: unknown): string | undefined {
  if (!Array.isArray(frames)) return `"${name}" is not a list of message frames`;
  const bad = frames.findIndex((f) => {
    const frame = f as Record<string, unknown> | null;
    return typeof frame !== 'object' || frame === null || typeof frame.data !== 'string' || (frame.atMs !== undefined && !(typeof frame.atMs === 'number' && Number.isFinite(frame.atMs)));
  });
  return bad === -1 ? undefined : `"${name}"[${bad}] is not a message frame ({"data": base64, …})`;
}

/**
 * Why a parsed line is not an exchange, or undefined when it is one. The fields replay, mock
 * and convert use are checked for their types here, so a damaged file is refused when it is
 * read, naming the line, instead of failing one exchange at a time with an internal
 * TypeError (or crashing `convert`) after requests were sent. Unknown fields stay allowed.
 */
export function checkExchange(value: unknown): string | undefined {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return 'not a JSON object';
  const ex = value as Record<string, unknown>;
  if (typeof ex.id !== 'string') return 'missing "id"';
  if (typeof ex.protocol !== 'string' || !PROTOCOLS.has(ex.protocol)) return `unknown "protocol" ${JSON.stringify(ex.protocol)}`;
  if (typeof ex.method !== 'string' || typeof ex.path !== 'string') return 'missing "method" or "path"';
  if (typeof ex.ts !== 'string' || Number.isNaN(Date.parse(ex.ts))) return 'missing or bad "ts"';
  for (const name of HEADER_FIELDS) {
    if (ex[name] !== undefined) {
      const problem = checkHeaderList(name, ex[name]);
      if (problem) return problem;
    }
  }
  // Observers record 0 for a response whose status could not be read (an h2 `:status` that is not 3 digits).
  if (ex.status !== undefined && !(Number.isInteger(ex.status) && (ex.status as number) >= 0 && (ex.status as number) <= 999)) return `"status" ${JSON.stringify(ex.status)} is not an HTTP status`;
  if (ex.grpcStatus !== undefined && !(Number.isInteger(ex.grpcStatus) && (ex.grpcStatus as number) >= 0)) return `"grpcStatus" ${JSON.stringify(ex.grpcStatus)} is not a gRPC status code`;
  for (const name of NUMBER_FIELDS) {
    const n = ex[name];
    if (n !== undefined && !(typeof n === 'number' && Number.isFinite(n))) return `"${name}" ${JSON.stringify(n)} is not a number`;
  }
  for (const name of STRING_FIELDS) {
    if (ex[name] !== undefined && typeof ex[name] !== 'string') return `"${name}" is not a string`;
  }
  for (const name of ['requestBody', 'responseBody'] as const) {
    if (ex[name] !== undefined) {
      const problem = checkBody(name, ex[name]);
      if (problem) return problem;
    }
  }
  for (const name of ['requestMessages', 'responseMessages'] as const) {
    // A tap `end` event counts messages; a recording lists their frames (a count is refused too).
    if (ex[name] !== undefined) {
      const problem = checkFrames(name, ex[name]);
      if (problem) return problem;
    }
  }
  return undefined;
}

function checkHeader(value: unknown): string | undefined {
  if (typeof value !== 'object' || value === null) return 'the first line is not a recording header';
  const h = value as Record<string, unknown>;
  if (h.format !== RECORDING_FORMAT) return `the first line is not a ${RECORDING_FORMAT} header (a HAR file? convert it: meshtap convert FILE.har -o FILE.jsonl)`;
  if (typeof h.version !== 'number' || h.version > RECORDING_VERSION) return `recording version ${String(h.version)} is newer than this meshtap understands (${RECORDING_VERSION})`;
  return undefined;
}

/** Splits a byte stream into lines; yields `{text, complete}` where the last may lack its newline. */
async function* lines(source: AsyncIterable<Buffer>): AsyncGenerator<{ text: string; complete: boolean }> {
  let pending: Buffer[] = [];
  let pendingBytes = 0;
  for await (const chunk of source) {
    let at = 0;
    for (let nl = chunk.indexOf(10, at); nl !== -1; nl = chunk.indexOf(10, at)) {
      pending.push(chunk.subarray(at, nl));
      yield { text: Buffer.concat(pending).toString('utf8'), complete: true };
      pending = [];
      pendingBytes = 0;
      at = nl + 1;
    }
    if (at < chunk.length) {
      pending.push(chunk.subarray(at));
      pendingBytes += chunk.length - at;
      if (pendingBytes > MAX_LINE_BYTES) throw new MeshtapError('MT_RECORDING_CORRUPT', `a line is longer than ${MAX_LINE_BYTES} bytes`);
    }
  }
  if (pendingBytes > 0) yield { text: Buffer.concat(pending).toString('utf8'), complete: false };
}

/**
 * The error for a recording that cannot be read, in the user's words: a missing file or a directory
 * named as one is a mistake of the command line (review16: `cannot read F: ENOENT: no such file or
 * directory, open 'F'` said the path twice).
 */
function readError(path: string, err: unknown): MeshtapError {
  const code = (err as NodeJS.ErrnoException).code;
  const why =
    code === 'ENOENT' ? 'no such file' : code === 'EISDIR' ? 'it is a directory' : code === 'EACCES' || code === 'EPERM' ? 'permission denied' : (err as Error).message;
  return new MeshtapError('MT_RECORDING_READ', `cannot read ${path}: ${why}`, { cause: err });
}

/** Reads a whole recording into memory. Throws MT_RECORDING_CORRUPT / MT_RECORDING_READ. */
export async function readRecording(path: string, options: ReadOptions = {}): Promise<Recording> {
  let gz: boolean;
  try {
    gz = await isGzip(path);
  } catch (err) {
    throw readError(path, err);
  }
  if (!gz && (await looksLikeHar(path))) throw new MeshtapError('MT_RECORDING_IS_HAR', `${path} is a HAR file, not a recording; convert it first: ${harConvertHint(path)}`);
  const issues: RecordingIssue[] = [];
  const file = createReadStream(path);
  let source: AsyncIterable<Buffer> = file;
  let gzipCut = false;
  if (gz) {
    // Sync-flush finishing decodes everything a cut stream holds instead of failing on it.
    const gunzip = createGunzip({ finishFlush: zlibConstants.Z_SYNC_FLUSH });
    file.on('error', (err) => gunzip.destroy(err));
    file.pipe(gunzip);
    source = (async function* () {
      try {
        for await (const chunk of gunzip) yield chunk as Buffer;
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code === 'Z_BUF_ERROR' || /unexpected end/i.test((err as Error).message)) gzipCut = true;
        else throw err;
      }
    })();
  }
  let header: RecordingHeader | undefined;
  const exchanges: RecordedExchange[] = [];
  let lineNo = 0;
  try {
    for await (const { text, complete } of lines(source)) {
      lineNo++;
      if (text.trim() === '') continue;
      let value: unknown;
      let problem: string | undefined;
      try {
        value = JSON.parse(text);
      } catch {
        problem = 'not valid JSON';
      }
      if (!header) {
        problem ??= checkHeader(value);
        if (problem) throw new MeshtapError('MT_RECORDING_CORRUPT', `${path}: line 1: ${problem}`);
        header = value as RecordingHeader;
        continue;
      }
      problem ??= checkExchange(value);
      if (problem && !complete) {
        issues.push({ line: lineNo, kind: 'truncated-last-line', message: `${path}: line ${lineNo} is cut short (the writer stopped mid-line); ${exchanges.length} complete exchanges before it were read` });
        continue;
      }
      if (problem) {
        if (!options.lenient) throw new MeshtapError('MT_RECORDING_CORRUPT', `${path}: line ${lineNo}: ${problem}; nothing was changed (pass --lenient to skip bad lines)`);
        issues.push({ line: lineNo, kind: 'corrupt-line', message: `${path}: line ${lineNo}: ${problem}; skipped` });
        continue;
      }
      exchanges.push(value as RecordedExchange);
    }
  } catch (err) {
    if (err instanceof MeshtapError) throw err;
    throw readError(path, err);
  }
  if (gzipCut) issues.push({ line: lineNo, kind: 'truncated-gzip', message: `${path}: the gzip stream is cut short; everything up to the cut was read` });
  if (!header) throw new MeshtapError('MT_RECORDING_CORRUPT', `${path}: empty file, no recording header`);
  return { path, header, exchanges, issues };
}
