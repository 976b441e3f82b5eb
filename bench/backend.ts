/**
 * The bench backend: one process answering every scenario's requests as cheaply as Node can,
 * so that what a target adds stands out. It listens on two ports and prints them on stderr:
 *   `listening h1 ADDR`  HTTP/1.1 keep-alive: any request → 200 with a body of --size bytes
 *   `listening h2 ADDR`  HTTP/2 prior knowledge (h2c): GET → 200 with --size bytes;
 *                        content-type application/grpc → one gRPC message of --size bytes
 *                        and trailers grpc-status 0 (a unary RPC with any method name)
 *   `listening tcp ADDR` opaque TCP echo: every byte read is written back (the soak's TCP mix)
 * then `ready`. Bodies are allocated once; each response is one write.
 * Usage: node dist/bench/backend.js --size BYTES
 */
import * as http from 'node:http';
import * as http2 from 'node:http2';
import * as net from 'node:net';
import type { AddressInfo } from 'node:net';
import { GRPC_FRAME_HEADER_BYTES } from '../tap-protocol/index.js';

function parseSize(argv: string[]): number {
  const i = argv.indexOf('--size');
  const n = i >= 0 ? Number(argv[i + 1]) : 100;
  if (!Number.isInteger(n) || n < 0) {
    process.stderr.write(`backend: --size takes a whole number of bytes, not '${argv[i + 1]}'\n`);
    process.exit(2);
  }
  return n;
}

const size = parseSize(process.argv.slice(2));
const body = Buffer.alloc(size, 'x');
const grpcMessage = Buffer.alloc(GRPC_FRAME_HEADER_BYTES + size, 'x');
grpcMessage.writeUInt8(0, 0);
grpcMessage.writeUInt32BE(size, 1);

const h1 = http.createServer({ keepAliveTimeout: 60_000 }, (req, res) => {
  req.resume();
  req.on('end', () => {
    res.writeHead(200, { 'content-type': 'text/plain', 'content-length': body.length });
    res.end(body);
  });
});
h1.maxHeadersCount = 100;

const h2 = http2.createServer({ settings: { maxConcurrentStreams: 1000, initialWindowSize: 1 << 20 } });
h2.on('stream', (stream, headers) => {
  stream.on('error', () => {});
  const isGrpc = String(headers['content-type'] ?? '').startsWith('application/grpc');
  stream.resume();
  const answer = () => {
    if (stream.destroyed) return;
    if (isGrpc) {
      stream.respond({ ':status': 200, 'content-type': 'application/grpc' }, { waitForTrailers: true });
      stream.once('wantTrailers', () => stream.sendTrailers({ 'grpc-status': '0' }));
      stream.end(grpcMessage);
    } else {
      stream.respond({ ':status': 200, 'content-type': 'text/plain', 'content-length': body.length });
      stream.end(body);
    }
  };
  if (stream.readableEnded) answer();
  else stream.once('end', answer);
});
h2.on('sessionError', () => {});

const tcp = net.createServer((socket) => {
  socket.on('error', () => socket.destroy());
  socket.pipe(socket);
});

const listen = (srv: http.Server | http2.Http2Server | net.Server): Promise<string> =>
  new Promise((resolve) => srv.listen(0, '127.0.0.1', () => resolve(`127.0.0.1:${(srv.address() as AddressInfo).port}`)));

const [a1, a2, a3] = await Promise.all([listen(h1), listen(h2), listen(tcp)]);
process.stderr.write(`listening h1 ${a1}\nlistening h2 ${a2}\nlistening tcp ${a3}\nready\n`);
const stop = () => process.exit(0);
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
