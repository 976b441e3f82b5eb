/**
 * @grpc/grpc-js, loaded on first use. Every sidecar imports tap-protocol/ and serves a tap port,
 * but most never see a tap: loading grpc-js (and the http2, tls and zlib internals it pulls in)
 * at start-up cost a sidecar 4.8 MB of its idle RSS (issue 13: RSS under load ≤ 60 MB). grpc-js
 * is CommonJS, so a synchronous require keeps every caller synchronous; it is the same module
 * instance an ESM `import` of it gives elsewhere (one require cache).
 */
import { createRequire } from 'node:module';
import type * as Grpc from '@grpc/grpc-js';

let grpc: typeof Grpc | undefined;

export function loadGrpc(): typeof Grpc {
  grpc ??= createRequire(import.meta.url)('@grpc/grpc-js') as typeof Grpc;
  return grpc;
}

/**
 * The gRPC status codes the tap wire sends or checks, without loading grpc-js (the values are the
 * gRPC spec's, the same as grpc-js's `status` enum; grpc-lazy.test.ts holds them to it).
 */
export const GRPC_STATUS = {
  CANCELLED: 1,
  UNKNOWN: 2,
  DEADLINE_EXCEEDED: 4,
  INVALID_ARGUMENT: 3,
  PERMISSION_DENIED: 7,
  RESOURCE_EXHAUSTED: 8,
  FAILED_PRECONDITION: 9,
  UNIMPLEMENTED: 12,
  INTERNAL: 13,
  UNAVAILABLE: 14,
  UNAUTHENTICATED: 16,
} as const;
