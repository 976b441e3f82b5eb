/**
 * Bounded everything: a JS thread that falls behind the native engine's records must not pile
 * them up in JS. It used to: every doorbell moved the whole C++ batch into a JS backlog array,
 * even while JS was still handling the previous batches in slices, so a slow JS thread (a busy
 * tap) held unbounded record memory. Now JS takes the next batch only when it has handled the
 * last one; meanwhile the records wait in C++'s ring, whose bound is counted
 * (`native-event-batch`) when hit, and forwarding does not wait for JS at all.
 *
 * Real sockets, the real addon: the backend and the load run in a child process, so that this
 * process's JS thread can be slow (1 ms per request head) without slowing them.
 */
import { spawn } from 'node:child_process';
import { createInterface } from 'node:readline';
import { afterEach, describe, expect, it } from 'vitest';
import { isNativeAvailable, nativeDeliveries, startNativeEngine, type NativeEngine, type NativeRecordHandler } from './index.js';
import { reportBpfSkip } from '../test/bpf-skip.js';

const available = isNativeAvailable();
if (!available) reportBpfSkip('native/engine-backlog.test.ts', 'the addon is not built (bash scripts/build-native.sh)');

/** Requests the child makes through the engine (16 keep-alive connections). */
const N = 3000;

/** The child: an HTTP/1 backend, then N requests through the proxy address it reads from stdin. */
const CHILD = `
const http = require('node:http');
const backend = http.createServer((req, res) => { req.resume(); req.on('end', () => res.end('ok:' + req.url)); });
backend.listen(0, '127.0.0.1', () => {
  process.stdout.write('backend ' + backend.address().port + '\\n');
  process.stdin.once('data', async (d) => {
    const [host, port] = String(d).trim().split(':');
    const agent = new http.Agent({ keepAlive: true, maxSockets: 16 });
    let next = 0, good = 0;
    const one = () => new Promise((resolve, reject) => {
      const i = next++;
      http.get({ host, port: Number(port), path: '/r' + i, agent }, (res) => {
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (c) => (body += c));
        res.on('end', () => { if (body === 'ok:/r' + i) good++; resolve(); });
      }).on('error', reject);
    });
    const lane = async () => { while (next < ${N}) await one(); };
    await Promise.all(Array.from({ length: 16 }, lane));
    process.stdout.write('done ' + good + '\\n');
    agent.destroy();
    backend.close();
  });
});
`;

function slowHandler(onHead: () => void): NativeRecordHandler {
  const none = () => undefined;
  return {
    open: none, data: none, end: none, close: none, lost: none, connectError: none, boundHit: none, detected: none,
    requestHead: () => {
      onHead();
      const until = performance.now() + 1;
      while (performance.now() < until); // a JS thread that is slower than the traffic
    },
    responseHead: none, body: none, exchangeEnd: none, giveUp: none, upgraded: none, h2c: none,
    h2RequestHead: none, h2ResponseHead: none, h2End: none,
  };
}

describe.skipIf(!available)('native engine: a slow JS thread', () => {
  let engine: NativeEngine | undefined;
  afterEach(() => engine?.close());

  it('holds at most one record batch in JS; the rest waits in the bounded C++ ring, counted when full, and forwarding goes on', async () => {
    let heads = 0;
    // A small ring, so that its bound is reached while JS is behind.
    engine = startNativeEngine({ threads: 1, observe: true, bodyLimit: 0, detectTimeoutMs: 1000, ringBytes: 256 * 1024 }, slowHandler(() => heads++));
    engine.setTapped(true); // every exchange sends its records to JS
    const child = spawn(process.execPath, ['-e', CHILD], { stdio: ['pipe', 'pipe', 'inherit'] });
    const lines = createInterface({ input: child.stdout! })[Symbol.asyncIterator]();
    const backendPort = Number(String((await lines.next()).value).split(' ')[1]);
    const at = engine.listen({ kind: 'forward', proxy: 'in', host: '127.0.0.1', port: 0, targetHost: '127.0.0.1', targetPort: backendPort, dst: 'web' });
    const before = nativeDeliveries().maxBatchesHeld;
    child.stdin!.end(`${at}\n`);
    const done = String((await lines.next()).value);
    // Every request was forwarded and answered exactly, whatever JS was doing.
    expect(done).toBe(`done ${N}`);
    expect(before).toBeLessThanOrEqual(1);
    // JS was behind (it saw fewer heads than requests while the traffic ran) …
    expect(heads).toBeLessThan(N);
    // … yet never held more than the batch it was handling.
    expect(nativeDeliveries().maxBatchesHeld).toBe(1);
    // What did not fit in C++'s ring while JS was behind was dropped there, and counted.
    expect(engine.counters().boundHits.get('native-event-batch') ?? 0).toBeGreaterThan(0);
  }, 60_000);
});
