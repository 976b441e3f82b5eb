import { describe, expect, it } from 'vitest';
import { isLoopbackPeer } from './tap-service.js';

describe('isLoopbackPeer (grant-less trust in local mode)', () => {
  it.each([
    ['127.0.0.1:5000', true],
    ['127.9.8.7:5000', true],
    ['ipv4:127.0.0.1:5000', true],
    ['::1:5000', true],
    ['[::1]:5000', true],
    ['ipv6:[::1]:5000', true],
    ['::ffff:127.0.0.1:5000', true],
    ['0:0:0:0:0:0:0:1:5000', true],
    ['10.0.0.7:5000', false],
    ['::ffff:10.0.0.1:5000', false],
    // Regression (textual prefix check): these are not loopback addresses but start with "::1" / "127."
    ['::1:2:5000', false],
    ['::1a2b:3c4d:5000', false],
    ['::127.0.0.1:5000', false],
    ['127.0.0.1.example:5000', false],
    ['unknown', false],
    ['', false],
  ])('%s -> %s', (peer, expected) => {
    expect(isLoopbackPeer(peer)).toBe(expected);
  });
});
