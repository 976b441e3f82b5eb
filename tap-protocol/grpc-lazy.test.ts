import * as grpc from '@grpc/grpc-js';
import { describe, expect, it } from 'vitest';
import { GRPC_STATUS, loadGrpc } from './grpc-lazy.js';

describe('grpc-lazy', () => {
  it('GRPC_STATUS holds grpc-js own status values', () => {
    for (const [name, code] of Object.entries(GRPC_STATUS)) expect(grpc.status[name as keyof typeof grpc.status], name).toBe(code);
  });
  it('loadGrpc gives the same module instance as an import', () => {
    expect(loadGrpc().Server).toBe(grpc.Server);
  });
});
