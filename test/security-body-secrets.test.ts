/**
 * Regression (issue 10 item 3, "secrets in bodies"): with the body permission a tap showed the
 * passwords, tokens and card numbers inside the bodies it captured. Now well-known secret fields
 * of JSON and form bodies, configured fields and JSON paths (--redact-body-field) and card
 * numbers (Luhn) read [redacted] in live taps, flight-recorder history and recordings, unless
 * the tap reveals every header (--reveal-header '*'). Capture controls: a content-type
 * allowlist and --body-over-limit drop. Real sidecar processes, real CLI, real HTTP.
 */
import { createServer, type Server } from 'node:http';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { TapEvent } from '../tap-protocol/index.js';
import { waitForMetric } from './support/metrics-scrape.js';
import { runMeshtap, spawnMeshtap, startSidecarProcess, type SidecarProcess } from './support/meshtap-process.js';

const SECRETS = ['hunter2', 'pw-in-form', 's3cr3t-token', '4111111111111111', '4111 1111 1111 1111', '123-45-6789', 'refresh-me'];
const LOGIN = JSON.stringify({ user: 'ann', password: 'hunter2', profile: { ssn: '123-45-6789', city: 'Oslo' }, card: '4111 1111 1111 1111' });
const FORM = 'username=ann&password=pw-in-form&cc=4111111111111111&remember=1';

let backend: Server;
let plain: SidecarProcess;
let controlled: SidecarProcess;
let dir: string;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'meshtap-bodysecrets-'));
  backend = createServer((req, res) => {
    req.resume();
    req.on('end', () => {
      if (req.url === '/text') return res.writeHead(200, { 'content-type': 'text/plain' }).end('plain text answer');
      if (req.url === '/big') return res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ filler: 'x'.repeat(500) }));
      res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ access_token: 's3cr3t-token', refresh_token: 'refresh-me', expires_in: 3600 }));
    });
  });
  await new Promise<void>((r) => backend.listen(0, '127.0.0.1', r));
  const port = (backend.address() as AddressInfo).port;
  plain = await startSidecarProcess([
    '--forward', `127.0.0.1:0=127.0.0.1:${port}`, '--admin', '127.0.0.1:0', '--tap', '127.0.0.1:0', '--recorder-bodies', '--redact-body-field', '$.profile.ssn',
  ]);
  controlled = await startSidecarProcess([
    '--forward', `127.0.0.1:0=127.0.0.1:${port}`, '--admin', '127.0.0.1:0', '--tap', '127.0.0.1:0', '--recorder-bodies',
    '--capture-content-type', 'application/json', '--body-over-limit', 'drop', '--body-limit', '256',
  ]);
}, 60_000);

afterAll(async () => {
  await Promise.all([plain?.stop(), controlled?.stop()]);
  await new Promise<void>((r) => backend?.close(() => r()));
  if (dir) await rm(dir, { recursive: true, force: true });
});

async function send(s: SidecarProcess, path: string, body: string, contentType: string): Promise<void> {
  const r = await fetch(`http://${s.forwards[0]!.address}${path}`, { method: 'POST', body, headers: { 'content-type': contentType } });
  await r.text();
}

const events = (stdout: string): TapEvent[] => stdout.trim().split('\n').filter(Boolean).map((l) => JSON.parse(l) as TapEvent);

function expectNoSecret(text: string): void {
  for (const s of SECRETS) expect(text, `output contains '${s}'`).not.toContain(s);
}

describe('secrets in bodies (real sidecar, real CLI)', { timeout: 90_000 }, () => {
  it('regression (secrets in bodies): a live --bodies tap shows JSON and form secrets, configured paths and card numbers as [redacted]', async () => {
    const cli = spawnMeshtap(['tap', '--proxy', plain.tap!, '--bodies', '-o', 'json', '--limit', '2']);
    await waitForMetric(plain.admin!, 'meshtap_tap_subscribers', {}, (v) => v === 1);
    await send(plain, '/login', LOGIN, 'application/json');
    await send(plain, '/form', FORM, 'application/x-www-form-urlencoded');
    const r = await cli.done;
    expect(r.code).toBe(0);
    expectNoSecret(r.stdout);
    const ends = events(r.stdout).filter((e) => e.kind === 'end');
    const login = ends.find((e) => e.path === '/login')!;
    expect(JSON.parse(login.requestBody!.data)).toEqual({ user: 'ann', password: '[redacted]', profile: { ssn: '[redacted]', city: 'Oslo' }, card: '[redacted]' });
    expect(JSON.parse(login.responseBody!.data)).toEqual({ access_token: '[redacted]', refresh_token: '[redacted]', expires_in: 3600 });
    expect(login.requestBody!.size).toBe(LOGIN.length);
    expect(ends.find((e) => e.path === '/form')!.requestBody!.data).toBe('username=ann&password=[redacted]&cc=[redacted]&remember=1');
  });

  it('the same rules in flight-recorder history and in recordings; revealed only with --reveal-header *', async () => {
    await send(plain, '/login', LOGIN, 'application/json');
    const history = await runMeshtap(['tap', '--proxy', plain.tap!, '--bodies', '--last', '3', '-o', 'json']);
    expect(history.code).toBe(0);
    expect(history.stdout).toContain('"password\\":\\"[redacted]\\"');
    expectNoSecret(history.stdout);
    const file = join(dir, 'rec.jsonl');
    const rec = await runMeshtap(['record', '--proxy', plain.tap!, '--last', '3', '-o', file]);
    expect(rec.code).toBe(0);
    const text = await readFile(file, 'utf8');
    expect(text).toContain('[redacted]');
    expectNoSecret(text);
    const revealed = await runMeshtap(['tap', '--proxy', plain.tap!, '--bodies', '--last', '1', '-o', 'json', '--reveal-header', '*']);
    expect(events(revealed.stdout)[0]!.requestBody!.data).toBe(LOGIN);
  });

  it('capture controls: a content type outside --capture-content-type and a body over the limit with --body-over-limit drop keep no bytes, and say why', async () => {
    await send(controlled, '/text', 'hello', 'text/plain');
    await send(controlled, '/big', '{"small":1}', 'application/json');
    const r = await runMeshtap(['tap', '--proxy', controlled.tap!, '--bodies', '--last', '2', '-o', 'json']);
    expect(r.code).toBe(0);
    const [text, big] = events(r.stdout);
    expect(text!.requestBody).toEqual({ size: 5, truncated: true, encoding: 'utf8', data: '', omitted: 'content-type' });
    expect(text!.responseBody).toMatchObject({ size: 17, data: '', omitted: 'content-type' });
    expect(big!.requestBody).toEqual({ size: 11, truncated: false, encoding: 'utf8', data: '{"small":1}' });
    expect(big!.responseBody).toMatchObject({ truncated: true, data: '', omitted: 'too-large' });
  });
});
