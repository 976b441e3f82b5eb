/**
 * `meshtap demo` is the newcomer's first contact: it must start the mesh, tap deploy/web through
 * the tap API, and stop everything it started.
 */
import { spawn } from 'node:child_process';
import { describe, expect, it } from 'vitest';

const BIN = new URL('../dist/bin/meshtap.js', import.meta.url).pathname;

describe('meshtap demo', () => {
  it('taps web, sees gRPC calls to emoji and voting with their statuses, and exits cleanly', async () => {
    const child = spawn(process.execPath, [BIN, 'demo', '--duration', '6s', '--rps', '20', '-o', 'json'], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.on('data', (c) => (out += c));
    child.stderr.on('data', (c) => (err += c));
    const code = await new Promise<number | null>((resolve) => child.on('exit', resolve));
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
