/**
 * One request each, for tests that need the exact bytes or headers on the wire (no client library
 * rewrites a Host or an :authority): resolve when the answer has ended.
 */
import * as http2 from 'node:http2';
import * as net from 'node:net';

/** Writes `head` byte for byte and half-closes; resolves with everything the peer sent until it closed. */
export function rawRequest(port: number, head: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const s = net.connect(port, '127.0.0.1', () => s.end(head));
    let got = '';
    s.setEncoding('utf8').on('data', (d: string) => (got += d));
    s.on('end', () => resolve(got));
    s.on('error', reject);
  });
}

/**
 * Writes `head` (raw bytes: not UTF-8 alone, a header's Latin-1 octets) to `address` (HOST:PORT) without a
 * half-close, for requests that say `Connection: close`; resolves with the answer read as Latin-1 once the
 * peer ended it, so each byte is one character.
 */
export function sendRawBytes(address: string, head: Buffer): Promise<string> {
  const at = address.lastIndexOf(':');
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    const s = net.connect(Number(address.slice(at + 1)), address.slice(0, at), () => s.write(head));
    s.on('data', (d: Buffer) => chunks.push(d));
    s.on('error', reject);
    s.on('end', () => resolve(Buffer.concat(chunks).toString('latin1')));
  });
}

/** One h2c request with exactly these headers on a new connection; resolves with its :status. */
export function h2Request(port: number, headers: http2.OutgoingHttpHeaders): Promise<number> {
  return new Promise((resolve, reject) => {
    const client = http2.connect(`http://127.0.0.1:${port}`);
    client.on('error', reject);
    const req = client.request(headers);
    let status = 0;
    req.on('response', (h) => (status = Number(h[':status'])));
    req.resume();
    req.on('end', () => {
      client.close();
      resolve(status);
    });
    req.on('error', reject);
    req.end();
  });
}
