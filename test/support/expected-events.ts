/**
 * Builds the exact events (in `eventShape` form) an HTTP exchange must produce: `req`, `rsp`,
 * `end`, with the fields DESIGN §5 puts on each kind. Tests compare them with `toEqual`.
 */
import type { HeaderList, Protocol, TapEvent } from '../../tap-protocol/index.js';

export interface ExpectedExchange {
  id: string;
  dst: string;
  proxy?: 'in' | 'out';
  protocol?: Protocol;
  method: string;
  scheme?: string;
  authority: string;
  path: string;
  requestHeaders: HeaderList;
  status?: number;
  responseHeaders?: HeaderList;
  trailers?: HeaderList;
  requestTrailers?: HeaderList;
  requestBytes: number;
  responseBytes: number;
  grpcStatus?: number;
  grpcMessage?: string;
  requestMessages?: number;
  responseMessages?: number;
  error?: string;
  /** Identity the sidecar was started with. */
  workload?: { workload?: string; namespace?: string };
}

/** The `req`, `rsp` (when a response head came) and `end` events of one exchange. */
export function expectedEvents(x: ExpectedExchange): Array<Partial<TapEvent>> {
  const proxy = x.proxy ?? 'in';
  const base: Partial<TapEvent> = {
    id: x.id,
    proxy,
    dst: x.dst,
    protocol: x.protocol ?? 'http/1.1',
    method: x.method,
    scheme: x.scheme ?? 'http',
    authority: x.authority,
    path: x.path,
  };
  if (x.workload?.workload) base[proxy === 'in' ? 'dstWorkload' : 'srcWorkload'] = x.workload.workload;
  if (x.workload?.namespace) base[proxy === 'in' ? 'dstNamespace' : 'srcNamespace'] = x.workload.namespace;
  const out: Array<Partial<TapEvent>> = [{ ...base, kind: 'req', requestHeaders: x.requestHeaders }];
  if (x.status !== undefined) out.push({ ...base, kind: 'rsp', status: x.status, responseHeaders: x.responseHeaders });
  const end: Partial<TapEvent> = { ...base, kind: 'end', requestHeaders: x.requestHeaders, requestBytes: x.requestBytes, responseBytes: x.responseBytes };
  if (x.status !== undefined) {
    end.status = x.status;
    end.responseHeaders = x.responseHeaders;
  }
  if (x.trailers && x.trailers.length > 0) end.trailers = x.trailers;
  if (x.requestTrailers && x.requestTrailers.length > 0) end.requestTrailers = x.requestTrailers;
  if (x.grpcStatus !== undefined) end.grpcStatus = x.grpcStatus;
  if (x.grpcMessage !== undefined) end.grpcMessage = x.grpcMessage;
  if (x.requestMessages !== undefined) end.requestMessages = x.requestMessages;
  if (x.responseMessages !== undefined) end.responseMessages = x.responseMessages;
  if (x.error !== undefined) end.error = x.error;
  out.push(end);
  return out;
}
