/**
 * Replay round trips against real services: a recording of HTTP/1, HTTP/2 and gRPC (all four
 * call kinds) replayed against the same service matches entirely; against a changed build
 * exactly the changed exchanges mismatch, with a readable diff; the mock serves the recording
 * back so that a replay against it matches 100%.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  createMockServer, createRecordingHeader, createRecordingWriter, formatJunit, formatText, readRecording, replayExchanges,
  type MockServer, type RecordedExchange,
} from '../record/index.js';
import { captureAll } from './fixtures/record/capture.js';
import { CHANGED_IN_V2, startServices, type Services } from './fixtures/record/services.js';

/** The recorded exchanges target three services; replay wants one target: split by protocol. */
function byService(exchanges: RecordedExchange[], s: Services): Array<{ target: string; exchanges: RecordedExchange[] }> {
  return [
    { target: s.h1, exchanges: exchanges.filter((e) => e.protocol === 'http/1.1') },
    { target: s.h2, exchanges: exchanges.filter((e) => e.protocol === 'h2') },
    { target: s.grpc, exchanges: exchanges.filter((e) => e.protocol === 'grpc') },
  ];
}

describe('replay round trip', () => {
  let v1: Services;
  let v2: Services;
  let dir: string;
  let exchanges: RecordedExchange[];
  const mocks: MockServer[] = [];

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'meshtap-replay-'));
    v1 = await startServices('v1');
    v2 = await startServices('v2');
    const captured = await captureAll(v1);
    // Through the file, as the CLI would.
    const file = join(dir, 'rec.jsonl.gz');
    const w = await createRecordingWriter(file, createRecordingHeader({ kind: 'other', description: 'test' }, '0.0.0'));
    for (const ex of captured) await w.write(ex);
    await w.close();
    const rec = await readRecording(file);
    expect(rec.issues).toEqual([]);
    exchanges = rec.exchanges;
    expect(exchanges).toHaveLength(captured.length);
  });

  afterAll(async () => {
    for (const m of mocks) await m.close();
    await v1?.close();
    await v2?.close();
    await rm(dir, { recursive: true, force: true });
  });

  it('matches every exchange against the same service', async () => {
    for (const { target, exchanges: part } of byService(exchanges, v1)) {
      const results = await replayExchanges(part, { target, timing: { mode: 'recorded', speed: 1 } });
      expect(results.filter((r) => r.outcome !== 'match'), formatText(results)).toEqual([]);
      expect(results).toHaveLength(part.length);
    }
  });

  it('flags exactly the changed exchanges against a changed service, with a readable diff', async () => {
    const mismatched: string[] = [];
    let text = '';
    for (const { target, exchanges: part } of byService(exchanges, v2)) {
      const results = await replayExchanges(part, { target, timing: { mode: 'max' }, concurrency: 4 });
      expect(results.filter((r) => r.outcome === 'failed'), formatText(results)).toEqual([]);
      mismatched.push(...results.filter((r) => r.outcome === 'mismatch').map((r) => `${r.method} ${r.path.split('?')[0]}`));
      text += formatText(results);
      if (target === v2.h1) {
        const items = results.find((r) => r.path.startsWith('/api/items'))!;
        expect(items.differences).toEqual([{ field: 'body:$.items[1]', expected: '"banana"', actual: '"pear"' }]);
        expect(formatJunit(results)).toContain('<failure message="1 differences">body:$.items[1]: expected &quot;banana&quot;, got &quot;pear&quot;</failure>');
      }
      if (target === v2.grpc) {
        const echo = results.find((r) => r.path === '/demo.Emoji/Echo')!;
        expect(echo.differences.map((d) => d.field)).toEqual(['message[0]']);
      }
    }
    expect(mismatched.sort()).toEqual([...CHANGED_IN_V2].sort());
    expect(text).toMatch(/MISMATCH c\d+\.1 GET \/h2\/hello\n {2}body: expected "hello, world", got "hello, changed world"/);
  });

  it('replays against the mock with a 100% match (HTTP/1, h2 and gRPC on one port)', async () => {
    const mock = createMockServer(exchanges);
    mocks.push(mock);
    const addr = await mock.listen(0);
    const results = await replayExchanges(exchanges, { target: `http://127.0.0.1:${addr.port}`, timing: { mode: 'max' }, concurrency: 3 });
    expect(results.filter((r) => r.outcome !== 'match'), formatText(results)).toEqual([]);
    expect(results).toHaveLength(exchanges.length);
    expect(mock.stats.served).toBe(exchanges.length);
  });
});
