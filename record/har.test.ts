/** HAR export is schema-valid HAR 1.2 (har-schema + ajv) and HTTP exchanges survive the round trip. */
import Ajv from 'ajv';
import { createRequire } from 'node:module';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { captureAll } from '../test/fixtures/record/capture.js';
import { startServices, type Services } from '../test/fixtures/record/services.js';
import type { RecordedExchange } from './format.js';
import { createRecordingHeader } from './format.js';
import { harToRecording, recordingToHar } from './har.js';

const require = createRequire(import.meta.url);

function harValidator() {
  const schemas = require('har-schema') as Record<string, { $id: string; $schema?: string }>;
  const ajv = new Ajv.default({ allErrors: true, strict: false, validateSchema: false });
  // har-schema is draft-06; its keywords used here are the same in draft-07.
  for (const s of Object.values(schemas)) ajv.addSchema({ ...s, $schema: undefined });
  return ajv.getSchema('har.json#')!;
}

describe('HAR', () => {
  let services: Services;
  let exchanges: RecordedExchange[];
  beforeAll(async () => {
    services = await startServices();
    exchanges = await captureAll(services);
  });
  afterAll(async () => services?.close());

  it('exports schema-valid HAR 1.2, trailers and gRPC framing in _ fields', () => {
    const har = recordingToHar(exchanges, createRecordingHeader({ kind: 'other', description: 't' }, '1'), '1.2.3');
    const validate = harValidator();
    expect(validate(har), JSON.stringify(validate.errors)).toBe(true);
    expect(har.log.version).toBe('1.2');
    const trailers = har.log.entries.find((e) => e.request.url.endsWith('/trailers'))!;
    expect(trailers._trailers).toEqual([{ name: 'x-checksum', value: 'abc123' }]);
    const list = har.log.entries.find((e) => e.request.url.endsWith('/demo.Emoji/List'))!;
    expect(list._grpc?.responseMessages?.map((f) => Buffer.from(f.data, 'base64').toString())).toEqual(['item-0', 'item-1', 'item-2', 'item-3']);
    const binary = har.log.entries.find((e) => e.request.url.endsWith('/h2/echo'))!;
    expect(binary.response.content.encoding).toBe('base64');
  });

  it('round-trips every exchange exactly', () => {
    const header = createRecordingHeader({ kind: 'other', description: 't' }, '1');
    // Bodies kept without bytes, for each reason (session 15: 'encoded' lost its reason and mock served the coding).
    const omitted = (['content-type', 'too-large', 'encoded'] as const).map((reason, i): RecordedExchange => ({
      ...exchanges[0]!,
      id: `omitted-${i}`,
      requestBody: { size: 7, truncated: true, encoding: 'utf8', data: '', omitted: reason },
      responseBody: { size: 10, truncated: true, encoding: 'utf8', data: '', omitted: reason },
    }));
    const all = [...exchanges, ...omitted];
    const back = harToRecording(JSON.parse(JSON.stringify(recordingToHar(all, header, '1'))), '1');
    expect(back.exchanges).toEqual(all);
    expect(back.header).toEqual(header);
  });

  it('imports a browser-style HAR without meshtap fields', () => {
    const har = {
      log: { version: '1.2', creator: { name: 'browser', version: '1' }, entries: [{
        startedDateTime: '2024-01-01T00:00:00.000Z', time: 12,
        request: { method: 'POST', url: 'https://shop.example/api/cart?x=1', httpVersion: 'HTTP/1.1', cookies: [], headers: [{ name: 'content-type', value: 'application/json' }], queryString: [], postData: { mimeType: 'application/json', text: '{"a":1}' }, headersSize: -1, bodySize: 7 },
        response: { status: 201, statusText: 'Created', httpVersion: 'HTTP/1.1', cookies: [], headers: [], content: { size: 2, mimeType: 'application/json', text: '{}' }, redirectURL: '', headersSize: -1, bodySize: 2 },
        cache: {}, timings: { send: 0, wait: 10, receive: 2 },
      }] },
    };
    const [ex] = harToRecording(har, '1').exchanges;
    expect(ex).toMatchObject({ method: 'POST', scheme: 'https', authority: 'shop.example', path: '/api/cart?x=1', status: 201, protocol: 'http/1.1', latencyMs: 10, durationMs: 12 });
    expect(ex!.requestBody).toEqual({ size: 7, truncated: false, encoding: 'utf8', data: '{"a":1}' });
  });

  it('refuses what is not HAR with a clear error', () => {
    expect(() => harToRecording({ foo: 1 }, '1', 'x.har')).toThrow(/x.har is not a HAR file/);
  });
});
