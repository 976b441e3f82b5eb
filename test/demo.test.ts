/**
 * `meshtap demo` is the newcomer's first contact: it must start the mesh, tap deploy/web through
 * the tap API, print commands that work from a second terminal, and stop everything it started.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';

const BIN = new URL('../dist/bin/meshtap.js', import.meta.url).pathname;

function run(args: string[], env: NodeJS.ProcessEnv = {}) {
  const child = spawn(process.execPath, [BIN, ...args], { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, ...env } });
  let out = '';
  let err = '';
  child.stdout.on('data', (c) => (out += c));
  child.stderr.on('data', (c) => (err += c));
  const exited = new Promise<number | null>((resolve) => child.on('exit', resolve));
  return { child, exited, out: () => out, err: () => err };
}

describe('meshtap demo', () => {
  it('taps web through the tap API, its printed commands work from a second terminal, and it exits cleanly', async () => {
    const demo = run(['demo', '--duration', '12s', '--rps', '20', '-o', 'json']);
    // Wait for the printed credentials, then tap from "another terminal" using a config file.
    let creds: RegExpMatchArray | null = null;
    for (let i = 0; i < 200 && !creds; i++) {
      await new Promise((r) => setTimeout(r, 50));
      creds = /export MESHTAP_TAP_API=(\S+) MESHTAP_TOKEN=(\S+)/.exec(demo.err());
    }
    expect(creds).not.toBeNull();
    const config = join(mkdtempSync(join(tmpdir(), 'mt-demo-cfg-')), 'config.yaml');
    writeFileSync(config, `tapApi: ${creds![1]}\ntoken: "${creds![2]}"\n`);
    const second = run(['tap', 'deploy/voting', '-n', 'emojivoto', '--limit', '3', '-o', 'json'], { MESHTAP_CONFIG: config, MESHTAP_TAP_API: '', MESHTAP_TOKEN: '' });
    expect(await second.exited).toBe(0);
    const voting = second.out().trim().split('\n').map((l) => JSON.parse(l));
    expect(voting.filter((e) => e.kind === 'end').length).toBe(3);
    expect(voting.every((e) => e.dstWorkload === 'deploy/voting' && e.protocol === 'grpc')).toBe(true);

    const code = await demo.exited;
    const err = demo.err();
    const out = demo.out();
    expect(err).toMatch(/meshtap tap deploy\/web -n emojivoto/);
    expect(err).toMatch(/metrics http:\/\/127\.0\.0\.1:\d+\/metrics/);
    expect(code).toBe(0);
    const events = out.trim().split('\n').filter(Boolean).map((l) => JSON.parse(l));
    // Inbound HTTP/1 requests to web and outbound gRPC calls from web, all seen by web's sidecar.
    const inbound = events.filter((e) => e.proxy === 'in' && e.kind === 'end');
    const grpcOut = events.filter((e) => e.proxy === 'out' && e.kind === 'end' && e.protocol === 'grpc');
    expect(inbound.length).toBeGreaterThan(3);
    expect(inbound.every((e) => e.protocol === 'http/1.1' && e.dstWorkload === 'deploy/web' && e.dstNamespace === 'emojivoto')).toBe(true);
    expect(grpcOut.some((e) => e.path === '/emojivoto.v1.EmojiService/FindByShortcode' && e.grpcStatus === 0)).toBe(true);
    // an exchange's three events share its id, in order (the first exchanges may have begun
    // before the tap subscribed; those rightly show only their later events)
    const seenWhole = inbound.filter((end) => events.some((e) => e.kind === 'req' && e.id === end.id && e.pod === end.pod));
    expect(seenWhole.length).toBeGreaterThan(2);
    for (const end of seenWhole) {
      expect(events.filter((e) => e.id === end.id && e.pod === end.pod).map((e) => e.kind)).toEqual(['req', 'rsp', 'end']);
    }
    expect(err).toMatch(/stopped \(sent \d+ requests\)/);
  }, 60_000);
});
