/** Socket helpers of the js engine, kept out of the per-chunk code. */
import type * as net from 'node:net';
import { formatHostPort } from '../common/index.js';

/**
 * Sends an RST where the platform allows it (a socket still connecting may refuse); never throws,
 * and the socket always closes ('close' fires, its fd is freed).
 *
 * One case cannot send it: a socket whose FIN we already asked for (`end()`, the other side's
 * FIN mirrored) with every byte handed to the kernel, while that shutdown is still pending (its
 * peer is slow to read, or it is queued for the next loop turn). libuv refuses the RST then
 * (uv_tcp_close_reset: EINVAL) and Node emits that error but never closes the handle: no 'close',
 * the fd held for the process's life, the connection counted open and never ended. That socket
 * is closed instead: its peer has every byte and the FIN, as it would after an RST-free close.
 * With bytes still buffered in Node (`writableLength > 0`) the shutdown was not requested yet
 * and the RST goes as usual: closing would end a cut stream with a FIN that reads as complete.
 */
export function reset(socket: net.Socket): void {
  if (socket.destroyed) return;
  if (socket.writableEnded && !socket.writableFinished && socket.writableLength === 0) {
    socket.destroy();
    return;
  }
  try {
    socket.resetAndDestroy();
  } catch {
    socket.destroy();
  }
}

/** `ip:port` of a socket end, IPv4-mapped IPv6 shown as IPv4 (how events and labels name peers). */
export function formatAddr(address: string | undefined, port: number | undefined): string {
  if (!address) return `unknown:${port ?? 0}`;
  const a = address.startsWith('::ffff:') && address.includes('.') ? address.slice(7) : address;
  return formatHostPort(a, `${port}`);
}
