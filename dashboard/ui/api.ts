/** The page's calls to its dashboard server (same origin; the session cookie rides along). */
import type { DashboardLine, ExportRequest } from '../wire.js';

/**
 * Reads an NDJSON stream line by line until it ends or `signal` aborts. `onOpen`: the server
 * accepted the stream (a tap that matches nothing sends no line for a long time).
 */
export async function streamLines(url: string, signal: AbortSignal, onLine: (line: DashboardLine) => void, onOpen?: () => void): Promise<void> {
  const res = await fetch(url, { signal, headers: { accept: 'application/x-ndjson' } });
  if (!res.ok || !res.body) {
    const body = (await res.json().catch(() => ({}))) as { error?: string };
    throw new Error(body.error ?? `the dashboard answered HTTP ${res.status}`);
  }
  onOpen?.();
  const reader = res.body.pipeThrough(new TextDecoderStream()).getReader();
  let buf = '';
  for (;;) {
    const { value, done } = await reader.read();
    if (done) break;
    buf += value;
    let nl: number;
    while ((nl = buf.indexOf('\n')) !== -1) {
      const text = buf.slice(0, nl);
      buf = buf.slice(nl + 1);
      if (text) onLine(JSON.parse(text) as DashboardLine);
    }
  }
}

export async function getJson<T>(url: string, signal?: AbortSignal): Promise<T> {
  const res = await fetch(url, signal ? { signal } : {});
  const body = (await res.json().catch(() => ({ error: `HTTP ${res.status}` }))) as T & { error?: string };
  if (!res.ok) throw new Error(body.error ?? `the dashboard answered HTTP ${res.status}`);
  return body;
}

export async function postJson<T>(url: string, value: unknown): Promise<T> {
  const res = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(value) });
  const body = (await res.json().catch(() => ({ error: `HTTP ${res.status}` }))) as T & { error?: string };
  if (!res.ok) throw new Error(body.error ?? `the dashboard answered HTTP ${res.status}`);
  return body;
}

/** Asks the server for an export file and hands it to the browser as a download. */
export async function downloadExport(request: ExportRequest): Promise<void> {
  const res = await fetch('/api/export', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(request) });
  if (!res.ok) {
    const body = (await res.json().catch(() => ({}))) as { error?: string };
    throw new Error(body.error ?? `export failed: HTTP ${res.status}`);
  }
  const name = /filename="([^"]+)"/.exec(res.headers.get('content-disposition') ?? '')?.[1] ?? `meshtap-export.${request.format}`;
  const url = URL.createObjectURL(await res.blob());
  const a = document.createElement('a');
  a.href = url;
  a.download = name;
  document.body.append(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 10_000);
}

/** Copies text to the clipboard; false when the browser refuses (the caller shows the text instead). */
export async function copyText(text: string): Promise<boolean> {
  try {
    await navigator.clipboard.writeText(text);
    return true;
  } catch {
    return false;
  }
}
