/** Socket helpers of the js engine, kept out of the per-chunk code. */
import type * as net from 'node:net';
import { formatHostPort } from '../common/index.js';

/** Sends an RST where the platform allows it (a socket still connecting may refuse); never throws. */
export function reset(socket: net.Socket): void {
  if (socket.destroyed) return;
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
