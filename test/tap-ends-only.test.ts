/**
 * An ends-only tap (`TapRequest.endsOnly`: what `meshtap record` and `meshtap top` ask) gets only
 * `end` events from a real sidecar (both engines), its request-side filter decided on the `end`,
 * with the bodies it asked for; a tap without it, on the same traffic, still gets req/rsp/end.
 * And `meshtap record --proxy` (which asks for ends only) records every exchange whole.
 */
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { spawnMeshtap, startSidecarProcess, type SidecarProcess } from './support/meshtap-process.js';
import { openTapCollector } from './support/tap-collector.js';

let origin: http.Server;
let sidecar: SidecarProcess;
let dir: string;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'meshtap-ends-only-'));
  origin = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => res.writeHead(200, { 'content-type': 'text/plain' }).end(`got ${Buffer.concat(chunks).toString()}`));
  });
  await new Promise<void>((r) => origin.listen(0, '127.0.0.1', r));
  // prettier-ignore
  sidecar = await startSidecarProcess(['--forward', `127.0.0.1:0=127.0.0.1:${(origin.address() as AddressInfo).port}`, '--admin', '127.0.0.1:0', '--tap', '127.0.0.1:0']);
});

afterAll(async () => {
  await sidecar?.stop();
  await new Promise((r) => origin?.close(r));
  rmSync(dir, { recursive: true, force: true });
});

function send(path: string, body: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const req = http.request({ host: '127.0.0.1', port: sidecar.forwards[0]!.port, method: 'POST', path, agent: false }, (res) => {
      res.resume();
      res.on('end', resolve);
    });
    req.on('error', reject);
    req.end(body);
  });
}

describe('ends-only taps', () => {
  it('get only end events, filtered on the end, with bodies; a plain tap on the same traffic gets req, rsp and end', async () => {
    const ends = await openTapCollector(sidecar.tap!, { endsOnly: true, bodies: true, matches: [[{ field: 'pathPrefix', value: '/keep' }]] });
    const all = await openTapCollector(sidecar.tap!, { matches: [[{ field: 'pathPrefix', value: '/' }]] });
    try {
      await send('/keep/1', 'one');
      await send('/skip', 'two');
      await send('/keep/2', 'three');
      await all.waitForEnds(3);
      const got = await ends.waitForEnds(2);
      expect(ends.events.map((e) => `${e.kind} ${e.path}`)).toEqual(['end /keep/1', 'end /keep/2']);
      expect(got.map((e) => [e.requestBody?.data, e.responseBody?.data, e.status])).toEqual([['one', 'got one', 200], ['three', 'got three', 200]]);
      expect(all.events.map((e) => `${e.kind} ${e.path}`)).toEqual(['req /keep/1', 'rsp /keep/1', 'end /keep/1', 'req /skip', 'rsp /skip', 'end /skip', 'req /keep/2', 'rsp /keep/2', 'end /keep/2']);
    } finally {
      ends.close();
      all.close();
    }
  });

  it('meshtap record --proxy (ends only) records each exchange whole', async () => {
    const file = join(dir, 'rec.jsonl');
    const rec = spawnMeshtap(['record', '--proxy', sidecar.tap!, '-o', file, '--limit', '2', '--path', '/rec']);
    // The recording starts once the tap is live; keep sending until it has its two exchanges.
    let n = 0;
    const sending = setInterval(() => void send(`/rec/${++n}`, `body ${n}`).catch(() => undefined), 100);
    try {
      const r = await rec.done;
      expect(r.code, r.stderr).toBe(0);
    } finally {
      clearInterval(sending);
    }
    const lines = readFileSync(file, 'utf8').trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(lines[0]).toMatchObject({ format: 'meshtap-recording' });
    expect(lines.slice(1)).toHaveLength(2);
    for (const e of lines.slice(1)) {
      expect(e).toMatchObject({ kind: 'end', method: 'POST', status: 200 });
      const path = e.path as string;
      expect(e.requestBody).toMatchObject({ data: `body ${path.slice('/rec/'.length)}` });
      expect(e.requestHeaders).toEqual(expect.arrayContaining([['Host', expect.any(String)]]));
    }
  });
});

