/**
 * Issue 14 (RSS under load ≤ 60 MB): an idle native sidecar loads only what it needs before its
 * first tap, scrape or config reload. Not the js engine's listeners and observers (C++ observes;
 * their modules cost the idle process ~1.2 MB, and the HPACK Huffman table built at import time
 * set TurboFan compiling), not grpc-js (loaded with the first tap connection), re2js (the first
 * path regex), yaml (a config file) or prom-client's index, and no HTTP/2, TLS, zlib or crypto (the
 * first grant) builtins.
 * A js-engine sidecar, which needs its observers, is the control that shows the probe sees them.
 * The lists come from the real process (test/support/loaded-modules-probe.mjs): ES modules through
 * a module.register load hook, CommonJS from require.cache, builtins from process.moduleLoadList.
 */
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { isNativeAvailable } from '../native/index.js';
import { reportBpfSkip } from './bpf-skip.js';
import { startSidecarProcess, type SidecarProcess } from './support/meshtap-process.js';

const available = isNativeAvailable();
if (!available) reportBpfSkip('test/native-startup-modules.test.ts', 'the addon is not built (bash scripts/build-native.sh)');

const PROBE = fileURLToPath(new URL('./support/loaded-modules-probe.mjs', import.meta.url));

interface Loaded {
  /** ES modules and CommonJS files, relative to the repository (`dist/proxy/x.js`, `node_modules/y/z.js`). */
  files: string[];
  /** node's own modules (`NativeModule http2`, `Internal Binding …`). */
  builtins: string[];
}

let running: SidecarProcess | undefined;
let dir: string | undefined;
afterEach(async () => {
  await running?.stop();
  running = undefined;
  if (dir) rmSync(dir, { recursive: true, force: true });
  dir = undefined;
});

/** What an idle `meshtap proxy --engine ENGINE` with admin and tap listeners has loaded once ready. */
async function loadedAtStart(engine: 'js' | 'native'): Promise<Loaded> {
  dir = mkdtempSync(join(tmpdir(), 'meshtap-modules-'));
  const out = join(dir, 'esm');
  running = await startSidecarProcess(['--engine', engine, '--forward', '127.0.0.1:0=127.0.0.1:9', '--admin', '127.0.0.1:0', '--tap', '127.0.0.1:0'], {
    env: { MESHTAP_ENGINE: engine, MESHTAP_MODULES_PROBE: out, NODE_OPTIONS: `--import ${PROBE}` },
  });
  running.child.kill('SIGUSR2');
  for (let i = 0; i < 500 && !existsSync(`${out}.done`); i++) await new Promise((r) => setTimeout(r, 20));
  expect(existsSync(`${out}.done`), 'the probe answered SIGUSR2').toBe(true);
  const repoPath = (p: string) => p.replace(/^file:\/\//, '').replace(/^.*?\/(dist|node_modules)\//, '$1/');
  const lines = (f: string) => readFileSync(f, 'utf8').split('\n').filter(Boolean);
  return { files: [...lines(out), ...lines(`${out}.cjs`)].map(repoPath), builtins: lines(`${out}.builtins`) };
}

describe.skipIf(!available)('what a sidecar loads at start-up (issue 14, RSS)', () => {
  it('native: no js observers, no grpc-js, re2js, yaml or prom-client index, no http2/tls/zlib/crypto', async () => {
    const { files, builtins } = await loadedAtStart('native');
    expect(files).toContain('dist/proxy/native-engine.js');
    expect(files).toContain('dist/native/index.js');
    const unwanted = files.filter((f) =>
      /^dist\/proxy\/(observation-driver|listeners|detect|tap-registration)\.js$|^dist\/proxy\/(h2|http1)\/(observer|body-reader|head-reader|frame-reader|hpack-decoder|huffman|stream-tracker|index)\.js$/.test(f) ||
      /^node_modules\/(@grpc\/grpc-js|re2js|yaml|@opentelemetry|undici|@kubernetes)\/|^node_modules\/prom-client\/index\.js$/.test(f),
    );
    expect(unwanted).toEqual([]);
    expect(builtins.filter((b) => /^NativeModule (http2|tls|zlib|crypto|internal\/http2\/)/.test(b))).toEqual([]);
  });

  it('js (the control): its listeners and observers are loaded', async () => {
    const { files } = await loadedAtStart('js');
    expect(files).toEqual(expect.arrayContaining(['dist/proxy/listeners.js', 'dist/proxy/observation-driver.js', 'dist/proxy/http1/observer.js', 'dist/proxy/h2/huffman.js']));
    expect(files).not.toContain('dist/proxy/native-engine.js');
  });
});
