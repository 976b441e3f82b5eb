/**
 * The tap API's public key export under garbage collection. Node 20 builds an Ed25519 JWK while
 * holding the key's mutex; a collection inside that allocation can destroy the (dead) key
 * generation job that made the key, whose destructor takes the same mutex, and the thread
 * deadlocks for good. It hung a vitest worker in CI (gdb: ~KeyGenJob → uv_mutex_lock from a weak
 * callback inside ExportJWKEdKey). `exportPublicKeyRaw` now reads the key from its DER SPKI.
 *
 * The collection has to land inside the export, so the child generates and exports thousands of
 * keys with a 1 MiB young generation and allocation churn between them; with the JWK export this
 * hung in most runs (8,000 keys: 3 of 4 child runs; this test failed 2 of 3 times), so the test fails often,
 * not always, when the hazard comes back. A hang shows as the child not exiting: it is killed
 * after a minute, far beyond the few seconds it needs.
 */
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const GRANT_JS = fileURLToPath(new URL('../dist/tap-protocol/grant.js', import.meta.url));
const KEYS = 8000;

const CHILD = `
import { exportPublicKeyRaw, generateGrantKeyPair, importPublicKeyRaw } from ${JSON.stringify(GRANT_JS)};
const churn = [];
let raw = '';
for (let i = 0; i < ${KEYS}; i++) {
  const { publicKey } = generateGrantKeyPair();
  raw = exportPublicKeyRaw(publicKey);
  churn.push({ a: i, ['k' + (i % 50)]: i });
  if (churn.length > 1000) churn.length = 0;
}
const back = exportPublicKeyRaw(importPublicKeyRaw(raw));
process.stdout.write('exported ${KEYS} keys; last ' + Buffer.from(raw, 'base64').length + ' bytes, ' + (back === raw ? 'round trip' : 'NO ROUND TRIP') + '\\n');
`;

function runChild(): Promise<{ code: number | null; signal: NodeJS.Signals | null; stdout: string; stderr: string; hung: boolean }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, ['--max-semi-space-size=1', '--input-type=module', '-e', CHILD], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    let hung = false;
    child.stdout.on('data', (d: Buffer) => (stdout += d));
    child.stderr.on('data', (d: Buffer) => (stderr += d));
    const timer = setTimeout(() => {
      hung = true;
      child.kill('SIGKILL');
    }, 60_000);
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      resolve({ code, signal, stdout, stderr, hung });
    });
  });
}

describe('exportPublicKeyRaw under garbage collection', () => {
  it(`exports ${KEYS} freshly generated keys without deadlocking (32 bytes that import back)`, async () => {
    const r = await runChild();
    expect(r.hung, 'the child deadlocked (killed after 60 s)').toBe(false);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.stdout).toBe(`exported ${KEYS} keys; last 32 bytes, round trip\n`);
  }, 90_000);
});
