/**
 * The Exchange record of the HTTP/1 observer. Its request and response header lists are kept
 * as the heads' text and decoded on first read (see `FieldSection` in head-parse.ts): most
 * exchanges only feed metrics and the flight recorder, and never have their headers read.
 *
 * Readers see a plain `Exchange`: `requestHeaders` and `responseHeaders` are accessors that
 * return (and keep) the decoded list; assigning a list replaces the section.
 */
import type { HeaderList, Protocol } from '../../tap-protocol/index.js';
import type { BodyCapture, Exchange } from '../observe.js';
import { fieldList, NO_FIELDS, type FieldSection } from './head-parse.js';

function listBytes(list: HeaderList, perFieldBytes: number): number {
  let n = 0;
  for (const [name, value] of list) n += name.length + value.length + perFieldBytes;
  return n;
}

function sectionBytes(section: FieldSection, perFieldBytes: number): number {
  return section.chars + section.count * perFieldBytes;
}

export class Http1Exchange implements Exchange {
  method = '';
  scheme = '';
  authority = '';
  path = '';
  requestTrailers: HeaderList = NO_FIELDS;
  status = 0;
  trailers: HeaderList = NO_FIELDS;
  declare grpcStatus?: number;
  declare grpcMessage?: string;
  requestBytes = 0;
  responseBytes = 0;
  requestMessages = 0;
  responseMessages = 0;
  requestCompressed = false;
  responseCompressed = false;
  responseMs = 0;
  endMs = 0;
  declare requestBody?: BodyCapture;
  declare responseBody?: BodyCapture;
  declare error?: string;
  isResponseComplete = false;
  private requestSection: FieldSection | undefined = undefined;
  private requestList: HeaderList = NO_FIELDS;
  private responseSection: FieldSection | undefined = undefined;
  private responseList: HeaderList = NO_FIELDS;

  constructor(
    public stream: number,
    public protocol: Protocol,
    public startMs: number,
  ) {}

  get requestHeaders(): HeaderList {
    const s = this.requestSection;
    return s === undefined ? this.requestList : fieldList(s);
  }

  set requestHeaders(list: HeaderList) {
    this.requestSection = undefined;
    this.requestList = list;
  }

  get responseHeaders(): HeaderList {
    const s = this.responseSection;
    return s === undefined ? this.responseList : fieldList(s);
  }

  set responseHeaders(list: HeaderList) {
    this.responseSection = undefined;
    this.responseList = list;
  }

  /** Sets the request headers from a validated head, decoded when first read. */
  setRequestSection(section: FieldSection): void {
    this.requestSection = section;
  }

  /** Sets the response headers from a validated head, decoded when first read. */
  setResponseSection(section: FieldSection): void {
    this.responseSection = section;
  }

  /** The head's field section while its list was not replaced (the flight recorder keeps its lines, exchange-codec.ts). */
  headerSection(which: 'request' | 'response'): FieldSection | undefined {
    return which === 'request' ? this.requestSection : this.responseSection;
  }

  headerBytes(which: 'request' | 'response', perFieldBytes: number): number {
    const s = which === 'request' ? this.requestSection : this.responseSection;
    if (s !== undefined) return sectionBytes(s, perFieldBytes);
    return listBytes(which === 'request' ? this.requestList : this.responseList, perFieldBytes);
  }
}
