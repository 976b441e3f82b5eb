/**
 * Test-only TCP relay that sits between a real client and a real server on 127.0.0.1 and
 * copies both directions, chunk by chunk and in arrival order, into a log. That log is a
 * faithful capture of real HTTP/2 traffic to feed the observer with.
 */
import net from 'node:net';
import type { LoggedChunk } from './recording-sink.js';

export interface Tee {
  port: number;
  /** One log per accepted connection. */
  connections: LoggedChunk[][];
  /** Resolves once every relayed connection has closed on both sides. */
  settled(): Promise<void>;
  close(): Promise<void>;
}

export async function startTee(targetPort: number): Promise<Tee> {
  const closing: Array<Promise<void>> = [];
  const sockets = new Set<net.Socket>();
  const connections: LoggedChunk[][] = [];
  const server = net.createServer((client) => {
    const log: LoggedChunk[] = [];
    connections.push(log);
    const upstream = net.connect(targetPort, '127.0.0.1');
    for (const s of [client, upstream]) {
      sockets.add(s);
      s.on('error', () => {
        client.destroy();
        upstream.destroy();
      });
    }
    closing.push(
      Promise.all([client, upstream].map((s) => new Promise<void>((resolve) => s.once('close', () => resolve())))).then(
        () => undefined,
      ),
    );
    client.on('data', (chunk: Buffer) => {
      log.push({ fromClient: true, chunk: Buffer.from(chunk) });
      upstream.write(chunk);
    });
    upstream.on('data', (chunk: Buffer) => {
      log.push({ fromClient: false, chunk: Buffer.from(chunk) });
      client.write(chunk);
    });
    client.on('end', () => upstream.end());
    upstream.on('end', () => client.end());
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as net.AddressInfo).port;
  return {
    port,
    connections,
    settled: async () => {
      await Promise.all(closing);
    },
    close: async () => {
      for (const s of sockets) s.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
