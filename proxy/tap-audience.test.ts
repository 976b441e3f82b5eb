import { describe, expect, it } from 'vitest';
import { ownTapAddresses, reachableAddress } from './tap-audience.js';

const IFACES = () => ['127.0.0.1', '::1', '10.1.2.3', '192.168.7.9', 'fd00::5'];

describe('tap addresses a sidecar answers to (grant audiences)', () => {
  it('a listener on a concrete address is only that address', () => {
    expect(ownTapAddresses('127.0.0.1:4190', '10.1.2.3', IFACES)).toEqual(['127.0.0.1:4190']);
    expect(ownTapAddresses('[::1]:4190', undefined, IFACES)).toEqual(['[::1]:4190']);
  });

  it('a 0.0.0.0 listener in a pod is its pod IP and its IPv4 interface addresses, on its port only', () => {
    const own = ownTapAddresses('0.0.0.0:4190', '10.1.2.3', IFACES);
    expect(own).toEqual(expect.arrayContaining(['10.1.2.3:4190', '127.0.0.1:4190', '192.168.7.9:4190']));
    expect(own).not.toContain('[::1]:4190');
    expect(own).not.toContain('0.0.0.0:4190');
    expect(own).not.toContain('10.1.2.3:4191');
    expect(own).not.toContain('10.1.2.4:4190');
  });

  it('a [::] listener answers on IPv6 addresses too', () => {
    const own = ownTapAddresses('[::]:4190', 'fd00::5', IFACES);
    expect(own).toEqual(expect.arrayContaining(['[fd00::5]:4190', '[::1]:4190', '10.1.2.3:4190']));
  });

  it('the pod IP counts even when no interface shows it (e.g. read before the interface is up)', () => {
    expect(ownTapAddresses('0.0.0.0:4190', '10.9.9.9', () => [])).toEqual(['10.9.9.9:4190']);
  });

  it('registers a wildcard listener at the pod IP, else loopback', () => {
    expect(reachableAddress('0.0.0.0:4190', '10.1.2.3')).toBe('10.1.2.3:4190');
    expect(reachableAddress('[::]:4190', 'fd00::5')).toBe('[fd00::5]:4190');
    expect(reachableAddress('0.0.0.0:4190')).toBe('127.0.0.1:4190');
    expect(reachableAddress('127.0.0.1:5000', '10.1.2.3')).toBe('127.0.0.1:5000');
  });
});
