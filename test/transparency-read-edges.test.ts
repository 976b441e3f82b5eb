/**
 * What one readiness edge can carry besides bytes. The native worker stops reading a socket when
 * a read comes back shorter than asked (the socket is empty; any later byte raises a new edge),
 * instead of reading again only to hear EAGAIN. That is only sound when the edge said nothing
 * more than "bytes": a half-close or an urgent mark that landed in the same edge as the bytes
 * announces itself once, so the worker must go on reading then. Each case stops the sidecar
 * (SIGSTOP) while the peer's bytes land, so that they reach it as one edge, and resumes it.
 * Regression: with the short-read rule and no such exception, the half-close behind the bytes
 * was never read (the connection hung), and bytes behind an urgent mark stayed unread.
 */
import { spawn, spawnSync } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RecordedSocket } from './support/raw-socket.js';
import { startRawRig, type RawRig } from './support/transparency-rig.js';

let rig: RawRig;

beforeAll(async () => {
  rig = await startRawRig();
});

afterAll(() => rig?.close());

/** Holds the sidecar still while `land` puts bytes into its sockets, then lets it run. */
async function whileStopped(land: () => Promise<void>): Promise<void> {
  rig.sidecar.child.kill('SIGSTOP');
  try {
    await land();
  } finally {
    rig.sidecar.child.kill('SIGCONT');
  }
}

/** end() resolved once the FIN is with the kernel: on loopback it is then in the peer's queue. */
function endAfter(s: RecordedSocket, data: Buffer): Promise<void> {
  return new Promise((resolve) => s.socket.end(data, () => resolve()));
}

const hasPython = spawnSync('python3', ['-c', 'pass']).status === 0;

describe('bytes and what follows them in one readiness edge (real sidecar process)', () => {
  it('forwards the bytes and the half-close that landed together, both ways', async () => {
    const { client, upstream } = await rig.pair();
    // Opaque (first byte not a method character) and detected before the sidecar stops.
    await client.write(Buffer.from([0, 1, 2]));
    await upstream.waitForBytes(3);
    await whileStopped(() => Promise.all([endAfter(client, Buffer.from('last words up')), endAfter(upstream, Buffer.from('last words down'))]).then(() => undefined));
    await upstream.waitForEnd();
    await client.waitForEnd();
    expect(upstream.received()).toEqual(Buffer.concat([Buffer.from([0, 1, 2]), Buffer.from('last words up')]));
    expect(client.received()).toEqual(Buffer.from('last words down'));
    await Promise.all([client.waitForClose(), upstream.waitForClose()]);
  });

  it('forwards an HTTP/1 request and the half-close that landed with it', async () => {
    const { client, upstream } = await rig.pair();
    const head = 'GET /edge HTTP/1.1\r\nhost: x\r\n\r\n';
    await whileStopped(() => endAfter(client, Buffer.from(head)));
    await upstream.waitForEnd();
    expect(upstream.received().toString('latin1')).toBe(head);
    const response = 'HTTP/1.1 204 No Content\r\n\r\n';
    await whileStopped(() => endAfter(upstream, Buffer.from(response)));
    await client.waitForEnd();
    expect(client.received().toString('latin1')).toBe(response);
    await Promise.all([client.waitForClose(), upstream.waitForClose()]);
  });

  it.skipIf(!hasPython)('reads on past an urgent mark that landed with the bytes (the urgent byte itself is not data, as for every socket reader)', async () => {
    const next = rig.server.connections.length;
    // python3: the one everyday client that sends TCP urgent data (Node cannot).
    const py = spawn('python3', ['-u', '-c', URGENT_CLIENT, String(rig.sidecar.forwards[0]!.port)], { stdio: ['pipe', 'pipe', 'inherit'] });
    let out = '';
    const lines: (() => void)[] = [];
    py.stdout.on('data', (b: Buffer) => {
      out += b.toString();
      for (const w of lines.splice(0)) w();
    });
    const printed = (line: string) =>
      new Promise<void>((resolve) => {
        const check = () => (out.includes(line) ? resolve() : lines.push(check));
        check();
      });
    try {
      await printed('connected');
      const upstream = await rig.server.connection(next);
      await upstream.waitForBytes(1);
      await whileStopped(async () => {
        py.stdin.write('go\n');
        await printed('sent');
      });
      await upstream.waitForText('abcdef');
      expect(upstream.received().toString('latin1')).toBe('\0abcdef');
      py.stdin.end('close\n');
      await upstream.waitForEnd();
    } finally {
      py.kill();
    }
  });
});

/** Connects, sends one opaque byte, then on "go" sends abc, an urgent "!" and def. */
const URGENT_CLIENT = `
import socket, sys
s = socket.create_connection(('127.0.0.1', int(sys.argv[1])))
s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
s.sendall(b'\\0')
print('connected')
sys.stdin.readline()
s.sendall(b'abc')
s.send(b'!', socket.MSG_OOB)
s.sendall(b'def')
print('sent')
sys.stdin.readline()
s.shutdown(socket.SHUT_WR)
`;
