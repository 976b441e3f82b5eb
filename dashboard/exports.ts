/**
 * Exports of the exchanges the page shows, made by record/'s own code so a file from the
 * dashboard is the file `meshtap record` / `convert --to har` would write: HAR through
 * `recordingToHar`, recordings through the crash-safe `createRecordingWriter` (into a temporary
 * directory, then sent), NDJSON as `meshtap tap -o json` prints it.
 */
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TapEvent } from '../tap-protocol/index.js';
import { createRecordingHeader, createRecordingWriter, exchangeFromEvent, recordingToHar, type RecordingHeader } from '../record/index.js';
import { parseQuery } from './query.js';
import type { ExportRequest } from './wire.js';

/** Most exchanges one export may carry (the page keeps at most this many rows anyway). */
export const MAX_EXPORT_EXCHANGES = 10_000;

export interface ExportFile {
  filename: string;
  contentType: string;
  body: Buffer;
}

/** Checks a POSTed export request; returns a one-line error when it is not one. */
export function parseExportRequest(value: unknown): { ok: true; value: ExportRequest } | { ok: false; error: string } {
  const v = value as Partial<ExportRequest> | undefined;
  if (!v || typeof v !== 'object') return { ok: false, error: 'the export request must be a JSON object' };
  if (v.format !== 'har' && v.format !== 'ndjson' && v.format !== 'recording') return { ok: false, error: 'format is har, ndjson or recording' };
  if (!Array.isArray(v.events)) return { ok: false, error: 'events must be a list of tap end events' };
  if (v.events.length > MAX_EXPORT_EXCHANGES) return { ok: false, error: `at most ${MAX_EXPORT_EXCHANGES} exchanges per export` };
  for (const e of v.events) {
    const ev = e as Partial<TapEvent>;
    if (!ev || typeof ev !== 'object' || ev.kind !== 'end' || typeof ev.id !== 'string' || typeof ev.ts !== 'string' || typeof ev.protocol !== 'string') {
      return { ok: false, error: 'every event must be a tap end event (kind, id, ts, protocol)' };
    }
  }
  return { ok: true, value: { format: v.format, events: v.events, namespace: String(v.namespace ?? ''), target: String(v.target ?? ''), query: String(v.query ?? '') } };
}

function headerFor(r: ExportRequest, version: string): RecordingHeader {
  const q = parseQuery(r.query);
  return createRecordingHeader({ kind: 'workload', target: r.target, namespace: r.namespace }, version, {
    ...(q.ok ? { matches: q.matches } : {}),
    bodies: r.events.some((e) => e.requestBody !== undefined || e.responseBody !== undefined),
    tool: 'meshtap dashboard',
  });
}

const stamp = (): string => new Date().toISOString().replace(/[:.]/g, '-');

/** Builds the export file. */
export async function buildExport(r: ExportRequest, version: string): Promise<ExportFile> {
  const base = `meshtap-${(r.target || 'exchanges').replace(/[^a-z0-9.-]+/gi, '-')}-${stamp()}`;
  if (r.format === 'ndjson') {
    return { filename: `${base}.ndjson`, contentType: 'application/x-ndjson', body: Buffer.from(r.events.map((e) => JSON.stringify(e) + '\n').join('')) };
  }
  const exchanges = r.events.map(exchangeFromEvent);
  const header = headerFor(r, version);
  if (r.format === 'har') {
    return { filename: `${base}.har`, contentType: 'application/json', body: Buffer.from(JSON.stringify(recordingToHar(exchanges, header, version), null, 2)) };
  }
  const dir = await mkdtemp(join(tmpdir(), 'meshtap-dashboard-export-'));
  try {
    const path = join(dir, `${base}.jsonl`);
    const writer = await createRecordingWriter(path, header);
    try {
      for (const ex of exchanges) await writer.write(ex);
      await writer.close();
    } catch (err) {
      await writer.abort();
      throw err;
    }
    return { filename: `${base}.jsonl`, contentType: 'application/x-ndjson', body: await readFile(path) };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

/** One exchange as a recording line (gRPC bodies split into messages) for the detail panel. */
export function exchangeView(event: TapEvent): ReturnType<typeof exchangeFromEvent> {
  return exchangeFromEvent(event);
}
