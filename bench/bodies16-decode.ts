/**
 * The cost of a decoded tapped body (session 16): redactBody on one captured body, as the tap hub
 * runs it once per body for viewers without the reveal grant (on the sidecar's JS thread, which in
 * the js engine also carries traffic). Each case is timed against the same text sent plain, so the
 * figure is what decoding adds per exchange. Bodies are captured at the body limit (default 64 KiB)
 * and the decoded output is cut there too.
 *
 *   npm run build && node dist/bench/bodies16-decode.js [bodyLimit]
 *
 * A figure for comparing commits on the same machine (CPU time per body, median of rounds).
 */
import { brotliCompressSync, constants as zlibConstants, deflateSync, gzipSync } from 'node:zlib';
import { bodyRedactionRules, redactBody } from '../proxy/body-redact.js';
import type { HeaderList, TapBody } from '../tap-protocol/index.js';

const limit = Number(process.argv[2] ?? 64 * 1024);
const rules = bodyRedactionRules();

/** A JSON answer of about `bytes` with a secret field in it. */
function jsonOf(bytes: number): Buffer {
  const items: unknown[] = [];
  let i = 0;
  while (JSON.stringify(items).length < bytes) items.push({ id: i, name: `item-${i}`, email: `u${i}@example.com`, score: (i * 7919) % 10007, password: i % 50 === 0 ? 'hunter2' : undefined }), i++;
  return Buffer.from(JSON.stringify({ items }));
}

/** The captured body of `wire` bytes: its first `limit` bytes, truncated when longer. */
function captured(wire: Buffer): TapBody {
  const bytes = wire.subarray(0, limit);
  return { size: wire.length, truncated: wire.length > limit, encoding: 'base64', data: bytes.toString('base64') };
}
function capturedText(text: Buffer): TapBody {
  const bytes = text.subarray(0, limit);
  return { size: text.length, truncated: text.length > limit, encoding: 'utf8', data: bytes.toString('utf8') };
}

interface Case {
  name: string;
  body: TapBody;
  headers: HeaderList;
}

const zeros = Buffer.alloc(100 * 1024 * 1024);
const cases: Case[] = [];
for (const size of [2 * 1024, 16 * 1024, 256 * 1024]) {
  const text = jsonOf(size);
  const label = size >= 1024 * 1024 ? `${size >> 20} MiB` : `${size >> 10} KiB`;
  cases.push({ name: `plain JSON ${label}`, body: capturedText(text), headers: [['content-type', 'application/json']] });
  cases.push({ name: `gzip JSON ${label}`, body: captured(gzipSync(text)), headers: [['content-type', 'application/json'], ['content-encoding', 'gzip']] });
  cases.push({ name: `br JSON ${label}`, body: captured(brotliCompressSync(text)), headers: [['content-type', 'application/json'], ['content-encoding', 'br']] });
  cases.push({ name: `deflate JSON ${label}`, body: captured(deflateSync(text)), headers: [['content-type', 'application/json'], ['content-encoding', 'deflate']] });
}
cases.push({ name: 'gzip bomb 100 MiB', body: captured(gzipSync(zeros, { level: 9 })), headers: [['content-encoding', 'gzip']] });
cases.push({ name: 'br bomb 100 MiB', body: captured(brotliCompressSync(zeros, { params: { [zlibConstants.BROTLI_PARAM_QUALITY]: 5 } })), headers: [['content-encoding', 'br']] });
cases.push({ name: 'gzip, gzip bomb 100 MiB', body: captured(gzipSync(gzipSync(zeros, { level: 9 }), { level: 9 })), headers: [['content-encoding', 'gzip, gzip']] });

const ROUNDS = 7;
const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[xs.length >> 1]!;

console.log(`body limit ${limit} B; CPU µs per body (median of ${ROUNDS} rounds)`);
console.log('| case | wire bytes | captured | shown bytes | µs/body |');
console.log('|---|---|---|---|---|');
for (const c of cases) {
  const decoding = { cap: limit, grpc: false };
  // Warm, and find how many per round make ~200 ms.
  let out = redactBody({ ...c.body }, 'application/json', rules, undefined, c.headers, decoding);
  const t0 = performance.now();
  let n = 0;
  while (performance.now() - t0 < 100) {
    out = redactBody({ ...c.body }, 'application/json', rules, undefined, c.headers, decoding);
    n++;
  }
  const perRound = Math.max(3, n * 2);
  const rounds: number[] = [];
  for (let r = 0; r < ROUNDS; r++) {
    const cpu0 = process.cpuUsage();
    for (let i = 0; i < perRound; i++) redactBody({ ...c.body }, 'application/json', rules, undefined, c.headers, decoding);
    const cpu = process.cpuUsage(cpu0);
    rounds.push((cpu.user + cpu.system) / perRound);
  }
  const shown = out.data === '' ? 0 : Buffer.from(out.data, out.encoding).length;
  const cut = c.body.truncated ? 'cut' : 'whole';
  console.log(`| ${c.name} | ${c.body.size} | ${cut} | ${shown}${out.decoded ? ` (decoded ${out.decoded}${out.truncated ? ', truncated' : ''})` : ''}${out.omitted ? ` (omitted ${out.omitted})` : ''} | ${median(rounds).toFixed(1)} |`);
}
