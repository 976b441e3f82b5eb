/**
 * review16 (HIGH, both engines): a JSON or form body that is not UTF-8 as captured is sent to
 * viewers as base64, and its secret fields were not redacted there: a viewer decoding it read the
 * `password`. Two ordinary ways: a Latin-1 byte in the text (`"name":"Jos\xe9"`), and a UTF-8 body
 * longer than the capture limit cut inside a character. Real sidecar processes on both engines, a
 * real HTTP/1 backend, curl as the client; the bytes forwarded stay as sent.
 */
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ENGINES } from './support/engines.js';
import { startSidecarProcess, type SidecarProcess } from './support/meshtap-process.js';
import { openTapCollector } from './support/tap-collector.js';

/** A real HTTP/1 POST of `body` through the sidecar; the answer is read whole. */
function post(address: string, path: string, body: Buffer, type: string): Promise<void> {
  const [host, port] = [address.slice(0, address.lastIndexOf(':')), Number(address.slice(address.lastIndexOf(':') + 1))];
  return new Promise((resolve, reject) => {
    const req = http.request({ host, port, path, method: 'POST', headers: type ? { 'content-type': type } : {} }, (res) => {
      res.resume();
      res.on('end', () => resolve());
    });
    req.on('error', reject);
    req.end(body);
  });
}
const PASSWORD = 'hunter2-very-secret';
const LIMIT = 4096;

const LATIN1 = Buffer.concat([Buffer.from(`{"password":"${PASSWORD}","name":"Jos`), Buffer.from([0xe9]), Buffer.from('"}')]);
/** UTF-8 JSON whose cut at LIMIT falls after the first byte of a two-byte character. */
function cutInsideCharacter(): Buffer {
  let head = `{"password":"${PASSWORD}","name":"x`;
  if ((LIMIT - Buffer.byteLength(head)) % 2 === 0) head += 'y';
  return Buffer.from(`${head}${'é'.repeat(LIMIT)}"}`);
}
const CUT = cutInsideCharacter();
const FORM = Buffer.concat([Buffer.from(`user=ann&password=${PASSWORD}&city=K`), Buffer.from([0xf6]), Buffer.from('ln')]);

const ANSWERS: Record<string, [Buffer, string]> = {
  '/latin1': [LATIN1, 'application/json'],
  '/latin1-no-type': [LATIN1, ''],
  '/cut': [CUT, 'application/json; charset=utf-8'],
  '/form': [FORM, 'application/x-www-form-urlencoded'],
};

describe.each(ENGINES)('review16: secret fields of a JSON or form body that is not UTF-8 as captured (%s engine)', (engine) => {
  let backend: http.Server;
  let sidecar: SidecarProcess;
  const uploads: Record<string, Buffer> = {};

  beforeAll(async () => {
    backend = http.createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        uploads[req.url ?? ''] = Buffer.concat(chunks);
        const [body, type] = ANSWERS[req.url ?? ''] ?? [Buffer.alloc(0), ''];
        if (type) res.setHeader('content-type', type);
        res.end(body);
      });
    });
    await new Promise<void>((r) => backend.listen(0, '127.0.0.1', r));
    // prettier-ignore
    sidecar = await startSidecarProcess(['--engine', engine, '--body-limit', String(LIMIT), '--forward', `127.0.0.1:0=127.0.0.1:${(backend.address() as AddressInfo).port}`, '--admin', '127.0.0.1:0', '--tap', '127.0.0.1:0']);
  }, 60_000);
  afterAll(async () => {
    await sidecar?.stop();
    await new Promise((r) => backend?.close(r));
  });

  it('the password reads [redacted] in the decoded bytes of every body; the rest of the bytes are as sent', async () => {
    const paths = Object.keys(ANSWERS);
    const tap = await openTapCollector(sidecar.tap!, { bodies: true });
    let ends;
    try {
      for (const path of paths) {
        const [body, type] = ANSWERS[path]!;
        // The same bytes as an upload, so the request side is checked too.
        await post(sidecar.forwards[0]!.address, path, body, type);
      }
      ends = await tap.waitForEnds(paths.length);
    } finally {
      tap.close();
    }
    expect(ends.map((e) => e.path).sort()).toEqual([...paths].sort());
    for (const e of ends) {
      const [sent] = ANSWERS[e.path!]!;
      expect(uploads[e.path!]!.equals(sent)).toBe(true);
      for (const [side, shown] of [['request', e.requestBody!], ['response', e.responseBody!]] as const) {
        const bytes = Buffer.from(shown.data, shown.encoding === 'base64' ? 'base64' : 'utf8');
        // prettier-ignore
        expect({ path: e.path, side, encoding: shown.encoding, password: bytes.includes(PASSWORD), redacted: bytes.includes('[redacted]') }).toEqual({ path: e.path, side, encoding: 'base64', password: false, redacted: true });
        // Everything but the value is the bytes as sent (cut at the limit).
        const expected = Buffer.from(sent.subarray(0, LIMIT).toString('latin1').replace(PASSWORD, '[redacted]'), 'latin1');
        expect(bytes.equals(expected)).toBe(true);
      }
    }
  }, 60_000);
});
