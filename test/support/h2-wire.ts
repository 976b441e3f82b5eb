/**
 * HTTP/2 wire constants and frame builders (RFC 9113 §4, §6) for the generated conversations.
 */
export const FRAME = { DATA: 0, HEADERS: 1, PRIORITY: 2, RST_STREAM: 3, SETTINGS: 4, PUSH_PROMISE: 5, PING: 6, GOAWAY: 7, WINDOW_UPDATE: 8, CONTINUATION: 9 } as const;
export const FRAME_NAMES = ['DATA', 'HEADERS', 'PRIORITY', 'RST_STREAM', 'SETTINGS', 'PUSH_PROMISE', 'PING', 'GOAWAY', 'WINDOW_UPDATE', 'CONTINUATION'];
export const FLAG = { END_STREAM: 0x1, ACK: 0x1, END_HEADERS: 0x4, PADDED: 0x8, PRIORITY: 0x20 } as const;
export const SETTINGS = { HEADER_TABLE_SIZE: 1, MAX_FRAME_SIZE: 5 } as const;
export const DEFAULT_MAX_FRAME = 16_384;
/** Largest SETTINGS_MAX_FRAME_SIZE allowed (RFC 9113 §6.5.2). */
export const MAX_FRAME_LIMIT = 16_777_215;
/** Generated frames stay under this (room for padding and priority bytes). */
export const FRAME_BUDGET = DEFAULT_MAX_FRAME - 512;

/** One frame: 9-byte header + payload (the builder the js observer's own tests use). */
export { frame } from '../../proxy/h2/test-support/frames.js';

export function u32(n: number): Buffer {
  const b = Buffer.alloc(4);
  b.writeUInt32BE(n >>> 0);
  return b;
}

export function settingsPayload(entries: Array<[number, number]>): Buffer {
  const b = Buffer.alloc(entries.length * 6);
  entries.forEach(([id, v], i) => {
    b.writeUInt16BE(id, i * 6);
    b.writeUInt32BE(v >>> 0, i * 6 + 2);
  });
  return b;
}
