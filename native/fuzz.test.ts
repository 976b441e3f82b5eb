/**
 * Runs the native libFuzzer targets (native/fuzz/*-fuzz.cc) for a bounded time from their seed
 * corpora, as CI should: a crash or sanitizer report fails the test and names the input file
 * (commit it under native/fuzz/corpus/<target>/ as a regression seed). Skips with a reason where
 * clang's fuzzer runtime is missing (Debian: libclang-rt-14-dev).
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const FUZZ_SECONDS = Number(process.env.FUZZ_SECONDS ?? 20);
const TARGETS = readdirSync(join(ROOT, 'native/fuzz')).filter((f) => f.endsWith('-fuzz.cc'));
/**
 * The plain C++ the targets exercise (no epoll, no Node-API): the event batch, detection, the HTTP/1
 * and HTTP/2 observers (frames, HPACK, streams, gRPC); not the record sinks, which write to the ring.
 */
const CORE_SOURCES = readdirSync(join(ROOT, 'native/src/core'))
  .filter((f) => f === 'event-ring.cc' || f === 'detect.cc' || (/^(h1|h2|grpc)-.*\.cc$/.test(f) && !f.endsWith('record-sink.cc')))
  .map((f) => join(ROOT, 'native/src/core', f));
/** libnghttp2's HPACK inflater, as the addon links it (statically). */
const LIBS = ['-l:libnghttp2.a'];

function fuzzerRuntime(): string | undefined {
  try {
    const dir = execFileSync('clang++', ['-print-resource-dir'], { encoding: 'utf8' }).trim();
    return existsSync(join(dir, 'lib/linux/libclang_rt.fuzzer-x86_64.a')) ? dir : undefined;
  } catch {
    return undefined;
  }
}
const runtime = fuzzerRuntime();
if (!runtime) process.stderr.write('skip: native/fuzz.test.ts (clang++ with libFuzzer not found; apt-get install clang libclang-rt-14-dev)\n');

const CXXFLAGS = ['-std=c++17', '-g', '-O1', '-fno-sanitize-recover=undefined', `-I${join(ROOT, 'native/src')}`];

describe('native libFuzzer targets (bounded run)', () => {
  const out = mkdtempSync(join(tmpdir(), 'meshtap-fuzz-'));
  afterAll(() => rmSync(out, { recursive: true, force: true }));
  // The core is compiled once for all targets (it was compiled again for each: minutes of CI).
  let coreObjects: string[] = [];
  beforeAll(() => {
    if (!runtime) return;
    coreObjects = CORE_SOURCES.map((src) => {
      const obj = join(out, `${src.split('/').pop()!.replace(/\.cc$/, '')}.o`);
      execFileSync('clang++', [...CXXFLAGS, '-fsanitize=fuzzer-no-link,address,undefined', '-c', src, '-o', obj], { stdio: 'pipe' });
      return obj;
    });
  }, 600_000);

  it.skipIf(!runtime).each(TARGETS)('%s finds nothing in a bounded run from its seeds', (file) => {
    const name = file.replace(/\.cc$/, '');
    const bin = join(out, name);
    execFileSync('clang++', [...CXXFLAGS, '-fsanitize=fuzzer,address,undefined', join(ROOT, 'native/fuzz', file), ...coreObjects, ...LIBS, '-o', bin], { stdio: 'pipe' });
    const seeds = join(ROOT, 'native/fuzz/corpus', name);
    // New inputs go to the first corpus directory (a scratch one), never into the seeds.
    const scratch = join(out, `${name}-corpus`);
    mkdirSync(scratch, { recursive: true });
    const r = spawnSync(bin, [`-max_total_time=${FUZZ_SECONDS}`, `-artifact_prefix=${out}/`, scratch, ...(existsSync(seeds) ? [seeds] : [])], { encoding: 'utf8', timeout: (FUZZ_SECONDS + 60) * 1000, env: { ...process.env, ASAN_OPTIONS: 'detect_leaks=1' } });
    const crashes = readdirSync(out).filter((f) => /^(crash|leak|timeout|oom)-/.test(f));
    expect({ status: r.status, crashes, tail: r.status === 0 ? '' : r.stderr.split('\n').slice(-20).join('\n') }).toEqual({ status: 0, crashes: [], tail: '' });
  }, (FUZZ_SECONDS + 120) * 1000);
});
