import { describe, expect, it } from 'vitest';
import { detectProtocol, H2_PREFACE } from './detect.js';

describe('detectProtocol', () => {
  it('recognises the full HTTP/2 preface and waits on any prefix of it', () => {
    expect(detectProtocol(H2_PREFACE)).toBe('h2');
    for (let i = 1; i < H2_PREFACE.length; i++) expect(detectProtocol(H2_PREFACE.subarray(0, i))).toBe('need-more');
  });

  it('recognises HTTP/1 request lines by their method token', () => {
    for (const m of ['GET', 'POST', 'PUT', 'DELETE', 'OPTIONS', 'PATCH', 'CONNECT', 'M-SEARCH', 'PROPFIND']) {
      expect(detectProtocol(Buffer.from(`${m} / HTTP/1.1\r\n`))).toBe('h1');
    }
    expect(detectProtocol(Buffer.from('GE'))).toBe('need-more');
    expect(detectProtocol(Buffer.from('POS'))).toBe('need-more');
  });

  it('calls TLS, binary and lower-case junk opaque', () => {
    expect(detectProtocol(Buffer.from([0x16, 0x03, 0x01, 0x02, 0x00]))).toBe('opaque');
    expect(detectProtocol(Buffer.from('get / HTTP/1.1\r\n'))).toBe('opaque');
    expect(detectProtocol(Buffer.from(' GET'))).toBe('opaque');
    expect(detectProtocol(Buffer.from('SSH-2.0-OpenSSH_9.2\r\n'))).toBe('opaque');
    expect(detectProtocol(Buffer.from('ABCDEFGHIJKLMNOPQRSTUVWXYZ'))).toBe('opaque');
  });
});
