/** A captured body: JSON pretty-printed, text, or a hex dump for bytes; truncation said. */
import { useState } from 'preact/hooks';
import type { TapBody } from '../../tap-protocol/index.js';
import { fmtBytes } from './format.js';

export function decodeBase64(data: string): Uint8Array {
  const bin = atob(data);
  const out = new Uint8Array(bin.length);
  for (let i = 0; i < bin.length; i++) out[i] = bin.charCodeAt(i);
  return out;
}

/** Classic 16-bytes-a-line hex dump (bounded: the capture is bounded already). */
export function hexDump(bytes: Uint8Array, max = 64 * 1024): string {
  const lines: string[] = [];
  const n = Math.min(bytes.length, max);
  for (let off = 0; off < n; off += 16) {
    const chunk = bytes.subarray(off, Math.min(off + 16, n));
    const hex = [...chunk].map((b) => b.toString(16).padStart(2, '0')).join(' ');
    const ascii = [...chunk].map((b) => (b >= 0x20 && b < 0x7f ? String.fromCharCode(b) : '.')).join('');
    lines.push(`${off.toString(16).padStart(8, '0')}  ${hex.padEnd(47)}  ${ascii}`);
  }
  if (bytes.length > max) lines.push(`… ${bytes.length - max} more bytes`);
  return lines.join('\n');
}

function prettyJson(text: string): string | undefined {
  const t = text.trim();
  if (!t.startsWith('{') && !t.startsWith('[')) return undefined;
  try {
    return JSON.stringify(JSON.parse(t), null, 2);
  } catch {
    return undefined;
  }
}

type Mode = 'pretty' | 'text' | 'hex';

/** Why a body's bytes are not in its event (TapBody.omitted). */
const OMITTED: Record<NonNullable<TapBody['omitted']>, string> = {
  'content-type': "its content type is not in the sidecar's --capture-content-type list",
  'too-large': 'over the capture limit (the sidecar drops such bodies: --body-over-limit drop)',
  encoded: 'compressed with a coding meshtap does not decode, so its secrets cannot be redacted (shown to a grant that reveals every header)',
  'decode-budget': "compressed, and the sidecar had spent this second's time for decoding bodies (its secrets cannot be redacted undecoded; shown to a grant that reveals every header)",
};

export function BodyView({ body, label }: { body: TapBody; label: string }) {
  const bytes = body.encoding === 'base64' ? decodeBase64(body.data) : new TextEncoder().encode(body.data);
  const text = body.encoding === 'utf8' ? body.data : undefined;
  const pretty = text !== undefined ? prettyJson(text) : undefined;
  const modes: Mode[] = [...(pretty ? (['pretty'] as Mode[]) : []), ...(text !== undefined ? (['text'] as Mode[]) : []), 'hex'];
  const [mode, setMode] = useState<Mode>(modes[0]!);
  const shown = modes.includes(mode) ? mode : modes[0]!;
  if (body.size === 0) {
    return (
      <div class="body" data-testid={`body-${label.toLowerCase()}`}>
        <span class="muted">empty (0 B)</span>
      </div>
    );
  }
  if (body.omitted !== undefined) {
    return (
      <div class="body" data-testid={`body-${label.toLowerCase()}`}>
        <span class="muted">
          {fmtBytes(body.size)} · not shown: {OMITTED[body.omitted]}
        </span>
      </div>
    );
  }
  return (
    <div class="body" data-testid={`body-${label.toLowerCase()}`}>
      <div class="body-head">
        <span class="muted">
          {fmtBytes(body.size)}
          {body.decoded !== undefined ? (
            <>
              {' on the wire · '}
              <span class="body-decoded" data-testid="body-decoded" title="The body was sent compressed: shown decoded, its secrets redacted">
                decoded from {body.decoded}
              </span>
              {` · ${fmtBytes(bytes.length)}${body.truncated ? ' shown, cut at the capture limit' : ''}`}
            </>
          ) : body.truncated ? (
            ` · truncated to ${fmtBytes(bytes.length)} by the capture limit`
          ) : (
            ''
          )}
        </span>
        <div class="seg" role="group" aria-label={`${label} body view`}>
          {modes.map((m) => (
            <button type="button" class={m === shown ? 'seg-btn on' : 'seg-btn'} aria-pressed={m === shown} onClick={() => setMode(m)}>
              {m === 'pretty' ? 'Pretty' : m === 'text' ? 'Text' : 'Hex'}
            </button>
          ))}
        </div>
      </div>
      <pre class="code">{shown === 'pretty' ? pretty : shown === 'text' ? text : hexDump(bytes)}</pre>
    </div>
  );
}
