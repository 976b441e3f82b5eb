/**
 * review12: `meshtap mock --listen` and `meshtap tap-api --listen` on an address that is taken (or
 * not this machine's) ended in "meshtap: unexpected error: Error: listen EADDRINUSE …" and a stack
 * trace, where the sidecar's and the dashboard's listeners say in one line what failed. Real CLI
 * processes against a real listener holding the port.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { writeTapApiFixtures } from './tap-api-fixtures.js';
import { runMeshtap } from './support/meshtap-process.js';

const dir = mkdtempSync(join(tmpdir(), 'mt-review12-listen-'));

describe('a --listen address that is taken: one line, exit 1', () => {
  let holder: Server;
  let taken: string;
  let recording: string;
  let fixtures: Awaited<ReturnType<typeof writeTapApiFixtures>>;
  beforeAll(async () => {
    holder = createServer();
    await new Promise<void>((r) => holder.listen(0, '127.0.0.1', r));
    taken = `127.0.0.1:${(holder.address() as AddressInfo).port}`;
    recording = join(dir, 'r.jsonl');
    const header = { format: 'meshtap-recording', version: 1, created: '2026-12-01T10:00:00.000Z', source: { kind: 'workload', target: 'deploy/web', namespace: 'shop' }, meshtap: '0.1.0' };
    const ex = {
      kind: 'end', id: '1.1', ts: '2026-12-01T10:00:00.000Z', proxy: 'in', src: '127.0.0.1:5', dst: '127.0.0.1:6', protocol: 'http/1.1', method: 'GET', scheme: 'http',
      authority: 'svc', path: '/', requestHeaders: [['Host', 'svc']], status: 200, responseHeaders: [], durationMs: 1, requestBytes: 0, responseBytes: 0,
    };
    writeFileSync(recording, [header, ex].map((l) => JSON.stringify(l)).join('\n') + '\n');
    fixtures = await writeTapApiFixtures();
  });
  afterAll(async () => {
    await new Promise((r) => holder?.close(r));
    rmSync(dir, { recursive: true, force: true });
    if (fixtures) rmSync(fixtures.dir, { recursive: true, force: true });
  });

  const expectOneLine = (r: { code: number | null; stderr: string }, what: string) => {
    expect(r.stderr).not.toMatch(/unexpected error|\n\s+at /);
    expect(r.stderr.trim()).toBe(`meshtap: ${what}: cannot listen on ${taken}: EADDRINUSE`);
    expect(r.code).toBe(1);
  };

  it('meshtap mock', async () => {
    expectOneLine(await runMeshtap(['mock', recording, '--listen', taken]), 'mock');
  }, 20_000);

  it('meshtap tap-api', async () => {
    const r = await runMeshtap(['tap-api', '--tokens', fixtures.tokensPath, '--rbac', fixtures.rbacDir, '--key', fixtures.keyPath, '--listen', taken]);
    // What it printed before trying to listen (the key and token files it created) stays.
    const last = r.stderr.trim().split('\n').at(-1)!;
    expectOneLine({ code: r.code, stderr: last }, 'tap API');
    expect(r.stderr).not.toMatch(/unexpected error|\n\s+at /);
  }, 20_000);
});
