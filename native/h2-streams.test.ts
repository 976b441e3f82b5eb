/**
 * The C++ HTTP/2 stream tracker (native/src/core/h2-streams.*, grpc-*.*) against its oracle, the
 * js StreamTracker (proxy/h2/stream-tracker.ts): the same operation sequences (the calls the
 * frame side makes: request/response header blocks, DATA, END_STREAM, RST_STREAM, GOAWAY, the
 * server's end, close, the grace timer) run through both, and every sink call each makes must be
 * the same, field for field. The C++ side runs in a small driver program
 * (native/test/h2-streams-driver.cc) built here with the system compiler; the js side runs with
 * fake timers, and the driver fires the C++ deadline at the same instants.
 *
 * Field values go through the field-text rule first on both sides, as the observers do
 * (observer-side.ts; h2-observer.cc), so gRPC messages are compared the way they really arrive.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import type { HeaderList } from '../tap-protocol/index.js';
import { decodeFieldText } from '../proxy/field-text.js';
import { GrpcMessageCounter, percentDecode } from '../proxy/h2/grpc.js';
import { parseGrpcTimeoutMs } from '../proxy/h2/grpc-status.js';
import { MAX_RESET_PENDING, StreamTracker } from '../proxy/h2/stream-tracker.js';
import { seededRandom } from '../proxy/h2/test-support/recording-sink.js';
import { createExchange } from '../proxy/observe.js';
import { captureBodies, createPrintingSink, hex } from './test/h2-print.js';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
/** The generated runs take a few seconds here, several times that on a loaded CI machine. */
const SLOW_MS = 180_000;
const CORE = join(ROOT, 'native/src/core');

// ---- the js side: the same operations through StreamTracker, printed as the driver prints ----

const unhex = (h: string): string => (h === '-' ? '' : Buffer.from(h, 'hex').toString('latin1'));
const wants = (mode: number, id: number): boolean => mode === 1 || (mode === 2 && id % 4 === 1);

function readFields(tokens: string[], at: number): HeaderList {
  const n = Number(tokens[at]);
  const out: HeaderList = [];
  for (let i = 0; i < n; i++) {
    const name = unhex(tokens[at + 1 + 2 * i]!);
    out.push([name, decodeFieldText(unhex(tokens[at + 2 + 2 * i]!), name === ':path' ? 'percent' : 'backslash')]);
  }
  return out;
}

/** Runs the script through the js StreamTracker (fake timers must be on). */
function runJs(script: string): string[] {
  const out: string[] = [];
  let tracker: StreamTracker | undefined;
  let base = Date.now();
  let mode = 0;
  let limit = 0;
  const sink = createPrintingSink(out, (ex) => (wants(mode, ex.stream) ? limit : undefined));
  const advance = (t: string): void => {
    vi.advanceTimersByTime(base + Number(t) - Date.now());
  };
  for (const line of script.split('\n')) {
    const tk = line.split(' ');
    const op = tk[0];
    if (op === 'seq') {
      base = Date.now();
      mode = Number(tk[2]);
      limit = Number(tk[3]);
      tracker = new StreamTracker({ sink, limits: { maxHeaderBytes: 65536, maxHpackTableBytes: 65536, maxStreams: Number(tk[1]) }, now: () => Date.now() - base });
      out.push('SEQ');
    } else if (op === 'up') {
      advance(tk[1]!);
      const ex = createExchange(Number(tk[2]), 'http/1.1', Date.now() - base);
      [ex.method, ex.scheme, ex.authority, ex.path] = [unhex(tk[3]!), unhex(tk[4]!), unhex(tk[5]!), unhex(tk[6]!)];
      if (wants(mode, ex.stream)) captureBodies(ex, limit);
      tracker!.adoptUpgraded(ex);
    } else if (op === 'rh' || op === 'sh') {
      advance(tk[3]!);
      const fields = readFields(tk, 4);
      if (op === 'sh') tracker!.responseHeaders(Number(tk[1]), fields, tk[2] === '1');
      else if (!tracker!.requestHeaders(Number(tk[1]), fields, tk[2] === '1')) out.push(`FULL ${tk[1]}`);
    } else if (op === 'd') {
      const bytes = Buffer.from(tk[3] === '-' ? '' : tk[3]!, 'hex');
      tracker!.data(tk[1] === 'c', Number(tk[2]), bytes, 0, bytes.length);
    } else if (op === 'de') {
      advance(tk[3]!);
      tracker!.dataEndStream(tk[1] === 'c', Number(tk[2]));
    } else if (op === 'rst') {
      advance(tk[4]!);
      tracker!.reset(Number(tk[1]), Number(tk[2]), tk[3] === 'c');
    } else if (op === 'ga') {
      advance(tk[2]!);
      tracker!.goaway(Number(tk[1]));
    } else if (op === 'se') {
      advance(tk[1]!);
      tracker!.serverEnded();
    } else if (op === 'ea') {
      advance(tk[2]!);
      tracker!.endAll(tk[1]!);
    } else if (op === 'tick') {
      advance(tk[1]!);
    } else if (op === 'end') {
      const pending = (tracker as unknown as { resetPending: Map<number, unknown> }).resetPending.size;
      out.push(`OPEN ${tracker!.openStreams} ${pending}`);
      vi.clearAllTimers();
      tracker = undefined;
    } else if (op === 'pd') {
      out.push(`PD ${hex(percentDecode(decodeFieldText(unhex(tk[1]!), 'backslash')), 'utf8')}`);
    } else if (op === 'gt') {
      const ms = parseGrpcTimeoutMs(unhex(tk[1]!));
      const bits = Buffer.alloc(8);
      if (ms !== undefined) bits.writeDoubleBE(ms);
      out.push(`GT ${ms === undefined ? '-' : bits.toString('hex')}`);
    } else if (op === 'gc') {
      const bytes = Buffer.from(tk[1] === '-' ? '' : tk[1]!, 'hex');
      const counter = new GrpcMessageCounter();
      let from = 0;
      for (const cut of [...tk.slice(2).map(Number), bytes.length]) {
        counter.feed(bytes, from, cut);
        from = cut;
      }
      out.push(`GC ${counter.messages} ${+counter.isCompressed}`);
    }
  }
  return out;
}

// ---- building scripts ----

type Fields = Array<[string, string]>;
const f = (fields: Fields): string => `${fields.length}${fields.map(([n, v]) => ` ${hex(n, 'latin1') || '-'} ${hex(v, 'latin1') || '-'}`).join('')}`;
const grpcCall = (path = '/pkg.Svc/Call', extra: Fields = []): Fields => [[':method', 'POST'], [':scheme', 'http'], [':authority', 'svc'], [':path', path], ['content-type', 'application/grpc'], ...extra];
const rspHead = (status = '200', extra: Fields = []): Fields => [[':status', status], ['content-type', 'application/grpc'], ...extra];
/** One gRPC message (flag, 4-byte length, body) as hex. */
const msg = (body: string, flag = 0): string => {
  const b = Buffer.from(body, 'latin1');
  const head = Buffer.alloc(5);
  head[0] = flag;
  head.writeUInt32BE(b.length, 1);
  return Buffer.concat([head, b]).toString('hex');
};
const seq = (ops: string[], maxStreams = 1000, capture = 0, limit = 65536): string => [`seq ${maxStreams} ${capture} ${limit}`, ...ops, 'end'].join('\n');

/** The cases of proxy/h2/observer-grpc-status.test.ts, observer-frames.test.ts and observer-http2.test.ts, as tracker calls. */
const NAMED: Record<string, string> = {
  'unary complete, status 0 with a percent-encoded message': seq([`rh 1 0 0 ${f(grpcCall())}`, `d c 1 ${msg('hi')}`, 'de c 1 1', `sh 1 0 3 ${f(rspHead())}`, `d s 1 ${msg('yo')}`, `sh 1 1 5 ${f([['grpc-status', '0'], ['grpc-message', 'caf%C3%A9 %zz 100%']])}`]),
  'missing trailers (DATA ends the stream): INTERNAL, grpc-status-missing': seq([`rh 1 1 0 ${f(grpcCall())}`, `sh 1 0 1 ${f(rspHead())}`, `d s 1 ${msg('m')}`, 'de s 1 2']),
  'trailers-only 503 without grpc-status: UNAVAILABLE': seq([`rh 1 1 0 ${f(grpcCall())}`, `sh 1 1 1 ${f(rspHead('503'))}`]),
  'trailers-only 404: UNIMPLEMENTED': seq([`rh 1 1 0 ${f(grpcCall())}`, `sh 1 1 1 ${f(rspHead('404'))}`]),
  'trailers-only with a status (UNIMPLEMENTED sent)': seq([`rh 1 1 0 ${f(grpcCall())}`, `sh 1 1 1 ${f(rspHead('200', [['grpc-status', '12'], ['grpc-message', 'no such method']]))}`]),
  'malformed grpc-status: UNKNOWN, grpc-status-malformed': seq([`rh 1 1 0 ${f(grpcCall())}`, `sh 1 0 1 ${f(rspHead())}`, `sh 1 1 2 ${f([['grpc-status', ' 13 '], ['grpc-message', 'why']])}`]),
  'server reset after the head: INTERNAL_ERROR -> INTERNAL': seq([`rh 1 1 0 ${f(grpcCall())}`, `sh 1 0 1 ${f(rspHead())}`, 'rst 1 2 s 2']),
  'server REFUSED_STREAM before any head: UNAVAILABLE': seq([`rh 1 1 0 ${f(grpcCall())}`, 'rst 1 7 s 2']),
  'server REFUSED_STREAM after the response head: a cut response, not unprocessed': seq([`rh 1 1 0 ${f(grpcCall())}`, `sh 1 0 1 ${f(rspHead())}`, 'rst 1 7 s 2']),
  'connection closing mid-call: UNAVAILABLE': seq([`rh 1 1 0 ${f(grpcCall())}`, `sh 1 0 1 ${f(rspHead())}`, 'ea upstream-closed 5']),
  'cancel_after_first_response: CANCELLED after the grace': seq([`rh 1 0 0 ${f(grpcCall('/pkg.Svc/Bidi'))}`, `d c 1 ${msg('m')}`, `sh 1 0 1 ${f(rspHead())}`, `d s 1 ${msg('m')}`, 'rst 1 8 c 10', 'tick 1009', 'tick 1010', 'tick 3000']),
  'cancel_after_first_response: trailers that crossed the reset': seq([`rh 1 0 0 ${f(grpcCall('/pkg.Svc/Bidi'))}`, `sh 1 0 1 ${f(rspHead())}`, `d s 1 ${msg('m')}`, 'rst 1 8 c 10', `d s 1 ${msg('late')}`, `sh 1 1 20 ${f([['grpc-status', '0'], ['grpc-message', 'done']])}`]),
  'cancel_after_first_response: trailers before the reset': seq([`rh 1 0 0 ${f(grpcCall('/pkg.Svc/Bidi'))}`, `sh 1 0 1 ${f(rspHead())}`, `sh 1 1 5 ${f([['grpc-status', '0']])}`, 'rst 1 8 c 10']),
  'CANCEL as grpc-timeout runs out: DEADLINE_EXCEEDED; early: CANCELLED': seq([`rh 1 0 0 ${f(grpcCall('/p', [['grpc-timeout', '300m']]))}`, `rh 3 0 0 ${f(grpcCall('/p', [['grpc-timeout', '10S']]))}`, 'rst 1 8 c 299', 'rst 3 8 c 299', 'ea closed 300']),
  'a long call: a CANCEL more than 1 s before its grpc-timeout is its own': seq([`rh 1 0 0 ${f(grpcCall('/p', [['grpc-timeout', '1H']]))}`, `rh 3 0 0 ${f(grpcCall('/p', [['grpc-timeout', '1H']]))}`, 'rst 1 8 c 3598999', 'rst 3 8 c 3599000', 'ea closed 3600000']),
  'two resets in two grace batches end at their own firings': seq([`rh 1 0 0 ${f(grpcCall())}`, `rh 3 0 0 ${f(grpcCall())}`, 'rst 1 8 c 100', 'rst 3 8 c 600', 'tick 1099', 'tick 1100', 'tick 2099', 'tick 2100']),
  'server reset of a client-reset stream ends it at once': seq([`rh 1 0 0 ${f(grpcCall())}`, 'rst 1 8 c 5', 'rst 1 8 s 7']),
  'GOAWAY ends streams above last-stream-id; later ones too': seq([`rh 1 1 0 ${f(grpcCall())}`, `rh 3 1 0 ${f([[':method', 'GET'], [':path', '/x']])}`, `rh 5 0 0 ${f([[':method', 'GET'], [':path', '/y']])}`, 'ga 1 3', `rh 7 1 4 ${f([[':method', 'GET']])}`, `sh 1 1 5 ${f(rspHead('200', [['grpc-status', '0']]))}`]),
  'RST after a complete response is no error; before it, reset': seq([`rh 1 0 0 ${f([[':method', 'POST'], [':path', '/a']])}`, `sh 1 1 1 ${f([[':status', '204']])}`, 'rst 1 8 c 2', `rh 3 0 2 ${f([[':method', 'POST']])}`, 'rst 3 2 s 3']),
  'request trailers, 1xx skipped, response trailers (h2)': seq([`rh 1 0 0 ${f([[':path', '/u'], [':method', 'PUT'], [':authority', 'h'], ['te', 'trailers']])}`, 'd c 1 616263', `rh 1 1 2 ${f([['x-checksum', 'abc']])}`, `sh 1 0 3 ${f([[':status', '100']])}`, `sh 1 0 4 ${f([[':status', '103'], ['link', '</a>']])}`, `sh 1 0 5 ${f([[':status', '200']])}`, 'd s 1 78797a', `sh 1 1 6 ${f([['x-trailer', 'v']])}`]),
  'serverEnded: complete responses clean, others upstream-closed': seq([`rh 1 0 0 ${f([[':method', 'GET']])}`, `sh 1 1 1 ${f([[':status', '200']])}`, `rh 3 1 2 ${f([[':method', 'GET']])}`, 'se 4']),
  'too many streams: RequestHeaders refuses the one over the bound': seq([`rh 1 0 0 ${f([[':method', 'GET']])}`, `rh 3 0 0 ${f([[':method', 'GET']])}`, `rh 5 0 0 ${f([[':method', 'GET']])}`], 2),
  'even, zero and old stream ids are ignored': seq([`rh 2 1 0 ${f([[':method', 'GET']])}`, `rh 0 1 0 ${f([[':method', 'GET']])}`, `rh 5 1 0 ${f([[':method', 'GET']])}`, `rh 3 1 0 ${f([[':method', 'GET']])}`, 'ea closed 1']),
  'h2c upgrade after two HTTP/1 requests: the exchange keeps its id 3, stream 1 is followed': seq(['up 0 3 474554 68747470 68 2f', `sh 1 0 1 ${f([[':status', '200']])}`, 'd s 1 6869', 'de s 1 2', `rh 3 1 3 ${f([[':method', 'GET']])}`, 'ea closed 4'], 1000, 1, 1),
  'h2c upgrade: stream 1 adopted, its response followed': seq(['up 0 1 474554 68747470 68 2f', `sh 1 0 1 ${f([[':status', '200']])}`, 'd s 1 6869', 'de s 1 2', `rh 3 1 3 ${f([[':method', 'GET']])}`, 'ea closed 4'], 1000, 1, 1),
  'bodies captured up to the limit, per direction, gRPC framing kept': seq([`rh 1 0 0 ${f(grpcCall())}`, `d c 1 ${msg('abcdef')}`, 'de c 1 0', `sh 1 0 1 ${f(rspHead())}`, `d s 1 ${msg('x')}`, `sh 1 1 1 ${f([['grpc-status', '0']])}`], 1000, 1, 8),
  'compressed flag and messages split across DATA': seq([`rh 1 0 0 ${f(grpcCall())}`, `d c 1 ${msg('abc', 1).slice(0, 6)}`, `d c 1 ${msg('abc', 1).slice(6)}${msg('')}`, 'de c 1 0', `sh 1 1 1 ${f(rspHead('200', [['grpc-status', '0']]))}`]),
  'non-UTF-8 grpc-message bytes and a 10-digit status': seq([`rh 1 1 0 ${f(grpcCall())}`, `sh 1 1 1 ${f(rspHead('200', [['grpc-status', '9999999999'], ['grpc-message', 'caf\xe9 \xc3\xa9 %E9 %C4%A5 \u0125 %f0%9f%98%80']]))}`]),
};

/** A rapid-reset flood: more client resets than MAX_RESET_PENDING within one grace. */
function flood(n: number): string {
  const ops: string[] = [];
  for (let i = 0; i < n; i++) ops.push(`rh ${2 * i + 1} 0 ${i} ${f(grpcCall())}`, `rst ${2 * i + 1} 8 c ${i}`);
  ops.push(`sh 1 1 ${n} ${f(rspHead('200', [['grpc-status', '0']]))}`, `sh ${2 * n - 1} 1 ${n} ${f(rspHead('200', [['grpc-status', '0']]))}`, `tick ${n + 500}`, `tick ${n + 3000}`);
  return seq(ops);
}

// ---- random sequences (seeded: a failure names its seed) ----

const TEXT_BITS = ['a', 'é', '\xe9', '\xc3\xa9', '%', '%4', '%41', '%zz', '%C3%A9', '%c3', '%E9', '\xf0\x9f\x98\x80', '%F0%9F%98%80', '\xed\xa0\x80', '\xc4\xa5', '%ED%A0%80', ' ', '\x7f', '\xff', '\xc0\xaf', '%25'];
const STATUS_VALUES = ['0', '1', '5', '13', '14', '9999999999', '12345678901', 'abc', ' 13 ', '-1', '0x2', '', '1.0', '\xd9\xa3', '007'];
const TIMEOUT_VALUES = ['100m', '300m', '1S', '2M', '1H', '1500u', '999999n', '12345678m', '123456789m', '10x', '', ' 1m', 'm', '5', '0m'];
const CONTENT_TYPES = ['application/grpc', 'application/grpc+proto', 'application/grpc-web', 'application/json', 'APPLICATION/GRPC', 'text/plain; application/grpc'];
const HTTP_STATUSES = ['200', '100', '103', '101', '204', '400', '401', '403', '404', '429', '500', '502', '503', '504', '2000', 'abc', '', '099'];
const RESET_CODES = [0, 1, 2, 7, 8, 8, 8, 11, 12, 13, 255];
const STEPS = [0, 0, 1, 5, 98, 100, 299, 300, 500, 999, 1000, 1001, 2500];

function randomSequence(rng: () => number): string {
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rng() * xs.length)]!;
  const text = (): string => Array.from({ length: Math.floor(rng() * 4) }, () => pick(TEXT_BITS)).join('');
  const maxStreams = pick([1000, 1000, 2, 3, 5]);
  const capture = pick([0, 1, 2]);
  const limit = pick([0, 3, 16, 65536]);
  let t = 0;
  let nextId = 1;
  const ids: number[] = [];
  const ops: string[] = [];
  const id = (): number => (ids.length > 0 && rng() < 0.85 ? pick(ids) : pick([0, 2, 4, 1, 3, 5, 7, 9, 11, 13]));
  const step = (): number => (t += pick(STEPS));
  if (rng() < 0.1) {
    ops.push(`up 0 ${pick([1, 1, 2, 5])} ${hex('GET', 'latin1')} ${hex('http', 'latin1')} ${hex('h', 'latin1')} ${hex('/', 'latin1')}`);
    ids.push(1);
    nextId = 3;
  }
  const n = 4 + Math.floor(rng() * 36);
  for (let i = 0; i < n; i++) {
    const r = rng();
    if (r < 0.18) {
      const fresh = rng() < 0.7;
      const sid = fresh ? nextId : id();
      if (fresh) {
        nextId += rng() < 0.9 ? 2 : 4;
        ids.push(sid);
      }
      const fields: Fields = [];
      const pseudo: Fields = [[':method', pick(['GET', 'POST'])], [':scheme', 'http'], [':authority', text() || 'svc'], [':path', `/p${text()}`]];
      for (const p of pseudo) if (rng() < 0.9) fields.push(p);
      if (rng() < 0.2) fields.reverse();
      if (rng() < 0.75) fields.push(['content-type', pick(CONTENT_TYPES)]);
      if (rng() < 0.15) fields.push(['content-type', pick(CONTENT_TYPES)]);
      if (rng() < 0.5) fields.push(['grpc-timeout', pick(TIMEOUT_VALUES)]);
      if (rng() < 0.1) fields.push(['grpc-timeout', pick(TIMEOUT_VALUES)]);
      if (rng() < 0.3) fields.push([pick(['x-a', 'X-Up', '', ':weird']), text()]);
      ops.push(`rh ${sid} ${+(rng() < 0.4)} ${step()} ${f(fresh || rng() < 0.7 ? fields : [['x-trailer', text()]])}`);
    } else if (r < 0.38) {
      const fields: Fields = [];
      if (rng() < 0.9) fields.push([':status', pick(HTTP_STATUSES)]);
      if (rng() < 0.2) fields.push([':status', pick(HTTP_STATUSES)]);
      for (let k = Math.floor(rng() * 3); k > 0; k--) {
        fields.push(rng() < 0.6 ? ['grpc-status', pick(STATUS_VALUES)] : ['grpc-message', text()]);
      }
      if (rng() < 0.3) fields.shift();
      ops.push(`sh ${id()} ${+(rng() < 0.45)} ${step()} ${f(fields)}`);
    } else if (r < 0.6) {
      let bytes = '';
      for (let k = Math.floor(rng() * 3); k > 0; k--) bytes += msg('x'.repeat(Math.floor(rng() * 20)), pick([0, 0, 1, 2]));
      if (rng() < 0.3) bytes += Buffer.from(Array.from({ length: Math.floor(rng() * 8) }, () => Math.floor(rng() * 256))).toString('hex');
      const cut = 2 * Math.floor((rng() * bytes.length) / 2);
      const dir = rng() < 0.5 ? 'c' : 's';
      const sid = id();
      ops.push(`d ${dir} ${sid} ${bytes.slice(0, cut) || '-'}`);
      if (cut < bytes.length) ops.push(`d ${dir} ${sid} ${bytes.slice(cut)}`);
    } else if (r < 0.74) {
      ops.push(`de ${rng() < 0.5 ? 'c' : 's'} ${id()} ${step()}`);
    } else if (r < 0.86) {
      ops.push(`rst ${id()} ${pick(RESET_CODES)} ${rng() < 0.6 ? 'c' : 's'} ${step()}`);
    } else if (r < 0.89) {
      ops.push(`ga ${pick([0, 1, 3, 5, 7, 2147483647])} ${step()}`);
    } else if (r < 0.97) {
      ops.push(`tick ${step()}`);
    } else if (r < 0.985) {
      ops.push(`se ${step()}`);
    } else {
      ops.push(`ea ${pick(['closed', 'observer-gave-up', 'client-closed'])} ${step()}`);
    }
  }
  if (rng() < 0.5) ops.push(`tick ${(t += pick([999, 1000, 2000, 5000]))}`);
  if (rng() < 0.5) ops.push(`ea closed ${step()}`);
  return seq(ops, maxStreams, capture, limit);
}

function randomHelpers(rng: () => number): string {
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rng() * xs.length)]!;
  const lines: string[] = [];
  const bytes = Buffer.from(Array.from({ length: Math.floor(rng() * 12) }, () => (rng() < 0.5 ? pick([0x25, 0x41, 0x61, 0x66, 0x46, 0x39, 0x7a]) : Math.floor(rng() * 256))));
  lines.push(`pd ${bytes.toString('hex') || '-'}`);
  const parts = Array.from({ length: 1 + Math.floor(rng() * 4) }, () => pick(TEXT_BITS)).join('');
  lines.push(`pd ${hex(parts, 'latin1') || '-'}`);
  lines.push(`gt ${hex(pick(TIMEOUT_VALUES) + (rng() < 0.2 ? pick(TEXT_BITS) : ''), 'latin1') || '-'}`);
  const digits = String(Math.floor(rng() * 1e8)).slice(0, 1 + Math.floor(rng() * 8));
  lines.push(`gt ${hex(digits + pick(['H', 'M', 'S', 'm', 'u', 'n']), 'latin1')}`);
  let framed = '';
  for (let k = Math.floor(rng() * 4); k > 0; k--) framed += msg('y'.repeat(Math.floor(rng() * 300)), pick([0, 1, 2]));
  const len = framed.length / 2;
  const cuts = Array.from({ length: Math.floor(rng() * 5) }, () => Math.floor(rng() * (len + 1))).sort((a, b) => a - b);
  lines.push(`gc ${framed || '-'} ${cuts.join(' ')}`.trimEnd());
  return lines.join('\n');
}

// ---- the C++ side ----

const scratch = mkdtempSync(join(tmpdir(), 'meshtap-h2-streams-'));
const driver = join(scratch, 'h2-streams-driver');

function runCpp(script: string): string[] {
  const r = spawnSync(driver, { input: `${script}\n`, encoding: 'utf8', maxBuffer: 256 * 1024 * 1024 });
  if (r.status !== 0) throw new Error(`driver exited ${r.status}: ${r.stderr}`);
  return r.stdout.split('\n').filter((l) => l !== '');
}

/** Splits outputs at SEQ lines so a difference names its sequence. */
function bySequence(lines: string[]): string[][] {
  const out: string[][] = [];
  for (const l of lines) {
    if (l === 'SEQ') out.push([]);
    else out[out.length - 1]?.push(l);
  }
  return out;
}

beforeAll(() => {
  // -fsanitize where the compiler has it: the driver doubles as a memory check of the tracker.
  execFileSync('c++', ['-std=c++17', '-g', '-O1', '-Wall', '-Wextra', '-Werror', '-Wno-unused-parameter', `-I${join(ROOT, 'native/src')}`, join(ROOT, 'native/test/h2-streams-driver.cc'), ...['h2-streams.cc', 'grpc-framing.cc', 'grpc-status.cc', 'h1-text.cc', 'h1-exchange.cc'].map((s) => join(CORE, s)), '-fsanitize=address,undefined', '-fno-sanitize-recover=undefined', '-o', driver], { stdio: 'pipe' });
}, 120_000);
afterAll(() => rmSync(scratch, { recursive: true, force: true }));
afterEach(() => {
  vi.useRealTimers();
});

function compare(script: string): { js: string[]; cpp: string[] } {
  vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'Date'] });
  const js = runJs(script);
  const cpp = runCpp(script);
  return { js, cpp };
}

const endsOf = (lines: string[]): string[][] => lines.filter((l) => l.startsWith('END ')).map((l) => l.split(' '));
/** [status, grpcStatus, error] of each END line (fields 9, 12 and 22 of the dump). */
const outcome = (lines: string[]): Array<[string, string, string]> => endsOf(lines).map((e) => [e[9]!, e[12]!, e[22]!]);

describe('C++ H2StreamTracker = js StreamTracker', () => {
  it.each(Object.keys(NAMED))('%s', (name) => {
    const { js, cpp } = compare(NAMED[name]!);
    expect(cpp).toEqual(js);
    expect(cpp.some((l) => l.startsWith('BAD'))).toBe(false);
  });

  it('the named cases report what the js tests assert (the comparison is not vacuous)', () => {
    const run = (name: string): string[] => runCpp(NAMED[name]!);
    expect(outcome(run('missing trailers (DATA ends the stream): INTERNAL, grpc-status-missing'))).toEqual([['200', '13', 'grpc-status-missing']]);
    expect(outcome(run('trailers-only 503 without grpc-status: UNAVAILABLE'))).toEqual([['503', '14', 'grpc-status-missing']]);
    expect(outcome(run('trailers-only 404: UNIMPLEMENTED'))).toEqual([['404', '12', 'grpc-status-missing']]);
    expect(outcome(run('malformed grpc-status: UNKNOWN, grpc-status-malformed'))).toEqual([['200', '2', 'grpc-status-malformed']]);
    expect(outcome(run('server reset after the head: INTERNAL_ERROR -> INTERNAL'))).toEqual([['200', '13', 'reset']]);
    expect(outcome(run('server REFUSED_STREAM before any head: UNAVAILABLE'))).toEqual([['0', '14', 'reset']]);
    expect(outcome(run('connection closing mid-call: UNAVAILABLE'))).toEqual([['200', '14', 'upstream-closed']]);
    expect(outcome(run('CANCEL as grpc-timeout runs out: DEADLINE_EXCEEDED; early: CANCELLED'))).toEqual([['0', '4', 'reset'], ['0', '1', 'reset']]);
    expect(outcome(run('a long call: a CANCEL more than 1 s before its grpc-timeout is its own'))).toEqual([['0', '1', 'reset'], ['0', '4', 'reset']]);
    expect(outcome(run('cancel_after_first_response: trailers that crossed the reset'))).toEqual([['200', '0', '-']]);
    // Reset at 10 ms, first grace firing at 1010 ms: nothing at 1009, CANCELLED ended at the reset time.
    const grace = run('cancel_after_first_response: CANCELLED after the grace');
    expect(endsOf(grace).map((e) => [e[12], e[17], e[21], e[22]])).toEqual([['1', '1', '10', 'reset']]);
    expect(grace.findIndex((l) => l.startsWith('END'))).toBe(grace.length - 2);
    expect(run('too many streams: RequestHeaders refuses the one over the bound')).toContain('FULL 5');
    const unary = endsOf(run('unary complete, status 0 with a percent-encoded message'))[0]!;
    expect([unary[12], Buffer.from(unary[13]!.slice(2), 'hex').toString('utf8'), unary[16], unary[17]]).toEqual(['0', 'café %zz 100%', '1', '1']);
    const bodies = endsOf(run('bodies captured up to the limit, per direction, gRPC framing kept'))[0]!;
    expect([bodies[23], bodies[24]]).toEqual([`b:${msg('abcdef').slice(0, 16)}+`, `b:${msg('x')}`]);
  });

  it('a rapid-reset flood holds at most MAX_RESET_PENDING streams waiting; every stream is reported once', () => {
    const script = flood(400);
    const { js, cpp } = compare(script);
    expect(cpp).toEqual(js);
    expect(endsOf(cpp)).toHaveLength(400);
    // Before the crossing responses: the first 400 - 128 were ended as the bound was hit.
    const firstResponse = cpp.findIndex((l) => l.startsWith('RS '));
    expect(endsOf(cpp.slice(0, firstResponse))).toHaveLength(400 - MAX_RESET_PENDING);
    expect(cpp.at(-1)).toBe('OPEN 0 0');
  }, SLOW_MS);

  it('random operation sequences: every sink call the same (4000 seeded sequences)', () => {
    const scripts: string[] = [];
    for (let s = 1; s <= 4000; s++) scripts.push(randomSequence(seededRandom(s)));
    const { js, cpp } = compare(scripts.join('\n'));
    const jsSeqs = bySequence(js);
    const cppSeqs = bySequence(cpp);
    expect(cppSeqs.length).toBe(scripts.length);
    for (let i = 0; i < scripts.length; i++) {
      if (JSON.stringify(cppSeqs[i]) !== JSON.stringify(jsSeqs[i])) {
        expect({ seed: i + 1, script: scripts[i]!.split('\n'), cpp: cppSeqs[i] }).toEqual({ seed: i + 1, script: scripts[i]!.split('\n'), cpp: jsSeqs[i] });
      }
    }
    // The generator reaches the interesting paths (so equality is not vacuous).
    const all = cpp.join('\n');
    for (const needle of [' grpc-status-missing ', ' grpc-status-malformed ', ' reset ', ' goaway ', ' refused', ' upstream-closed ', 'FULL ', ' b:', '+ ']) expect(all).toContain(needle);
    expect(endsOf(cpp).some((e) => e[12] === '4')).toBe(true);
  }, SLOW_MS);

  it('percent-decoding, grpc-timeout and message counting helpers (3000 seeded inputs each)', () => {
    const script = Array.from({ length: 3000 }, (_, i) => randomHelpers(seededRandom(100_000 + i))).join('\n');
    const { js, cpp } = compare(script);
    expect(cpp).toEqual(js);
    expect(cpp.filter((l) => l.startsWith('GC ') && l !== 'GC 0 0').length).toBeGreaterThan(100);
  }, SLOW_MS);
});
