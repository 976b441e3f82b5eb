import { describe, expect, it } from 'vitest';
import { detectProtocol, H2_PREFACE, MAX_LEADING_EMPTY_LINES } from './detect.js';

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

describe('regression: leading empty lines made detection call HTTP/1 opaque (RFC 9112 §2.2)', () => {
  it('skips CRLFs before a request line, as the HTTP/1 head reader does', () => {
    expect(detectProtocol(Buffer.from('\r\n\r\nGET /lead HTTP/1.1\r\n'))).toBe('h1');
    expect(detectProtocol(Buffer.from('\r\nPOST / HTTP/1.1\r\n'))).toBe('h1');
    for (const prefix of ['\r', '\r\n', '\r\n\r', '\r\n\r\nGE']) expect(detectProtocol(Buffer.from(prefix))).toBe('need-more');
  });

  it('stays strict: a bare LF, a lone CR or too many empty lines are opaque', () => {
    expect(detectProtocol(Buffer.from('\nGET / HTTP/1.1\r\n'))).toBe('opaque');
    expect(detectProtocol(Buffer.from('\rGET / HTTP/1.1\r\n'))).toBe('opaque');
    expect(detectProtocol(Buffer.from('\r\n'.repeat(MAX_LEADING_EMPTY_LINES + 1) + 'GET / HTTP/1.1\r\n'))).toBe('opaque');
    expect(detectProtocol(Buffer.from('\r\n'.repeat(MAX_LEADING_EMPTY_LINES) + 'GET / HTTP/1.1\r\n'))).toBe('h1');
    // The HTTP/2 preface is only the preface when it comes first.
    expect(detectProtocol(Buffer.concat([Buffer.from('\r\n'), H2_PREFACE]))).not.toBe('h2');
  });
});
