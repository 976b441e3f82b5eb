/**
 * A grpc-js client loop: keeps `--concurrency` unary calls in flight on one channel for
 * `--duration` seconds and prints `{"requests":N,"errors":N,"durationS":S}` on stdout. The
 * method is called with raw bytes (no .proto needed: the backend answers any method).
 * Usage: node dist/bench/grpc-load.js --target HOST:PORT --duration S [--concurrency N] [--size BYTES]
 */
import * as grpc from '@grpc/grpc-js';
import { parseArgs } from 'node:util';

const { values } = parseArgs({
  options: { target: { type: 'string' }, duration: { type: 'string' }, concurrency: { type: 'string' }, size: { type: 'string' } },
});
const target = String(values.target ?? '');
const durationMs = Number(values.duration ?? '5') * 1000;
const concurrency = Number(values.concurrency ?? '64');
const request = Buffer.alloc(Number(values.size ?? '5'), 'x');
const identity = (b: Buffer) => b;
const client = new grpc.Client(target, grpc.credentials.createInsecure());

let requests = 0;
let errors = 0;
let firstError: string | undefined;
const start = performance.now();
const deadline = start + durationMs;

function loop(): Promise<void> {
  return new Promise((resolve) => {
    const next = () => {
      if (performance.now() >= deadline) return resolve();
      client.makeUnaryRequest('/bench.Bench/Unary', identity, identity, request, (err) => {
        if (err) {
          errors++;
          firstError ??= err.message;
        } else requests++;
        next();
      });
    };
    next();
  });
}

await new Promise<void>((resolve, reject) =>
  client.waitForReady(Date.now() + 10_000, (err) => (err ? reject(err) : resolve())),
).catch((err: Error) => {
  process.stderr.write(`grpc-load: cannot reach ${target}: ${err.message}\n`);
  process.exit(1);
});
await Promise.all(Array.from({ length: concurrency }, loop));
const durationS = (performance.now() - start) / 1000;
client.close();
process.stdout.write(JSON.stringify({ requests, errors, durationS, firstError }) + '\n');
process.exit(0);
