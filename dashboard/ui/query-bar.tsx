/**
 * The query bar: the `meshtap tap` filter flags (and `--reveal-header NAME`), checked by the server's copy of the CLI parser
 * as you type, applied on Enter, shown as the equivalent CLI command (with a copy button).
 */
import { useEffect, useRef, useState } from 'preact/hooks';
import type { QueryCheck } from '../wire.js';
import { copyText } from './api.js';
import { setUrlState, type UrlState } from './url-state.js';

function queryUrl(s: UrlState, q: string): string {
  const p = new URLSearchParams({ q, ns: s.ns, target: s.target, source: s.source, since: s.since, rps: String(s.rps) });
  return `/api/query?${p}`;
}

/** `onError`: the query's error as shown under the bar (undefined when it is valid), so the view does not show it twice. */
export function QueryBar({ state, onError }: { state: UrlState; onError?(error: string | undefined): void }) {
  const [draft, setDraft] = useState(state.q);
  const [check, setCheck] = useState<QueryCheck>();
  const [copied, setCopied] = useState<string>();
  const input = useRef<HTMLInputElement>(null);
  useEffect(() => setDraft(state.q), [state.q]);
  useEffect(() => {
    const ac = new AbortController();
    const t = setTimeout(() => {
      fetch(queryUrl(state, draft), { signal: ac.signal })
        .then((r) => r.json() as Promise<QueryCheck>)
        .then(setCheck, () => undefined);
    }, 150);
    return () => {
      clearTimeout(t);
      ac.abort();
    };
  }, [draft, state.ns, state.target, state.source, state.since, state.rps]);
  const apply = () => {
    if (check && !check.ok) return;
    setUrlState({ q: draft.trim() });
  };
  const dirty = draft.trim() !== state.q;
  const shownError = check && !check.ok ? check.error : undefined;
  useEffect(() => onError?.(shownError), [shownError]);
  return (
    <div class="querybar">
      <form
        class="query-row"
        role="search"
        onSubmit={(ev) => {
          ev.preventDefault();
          apply();
        }}
      >
        <label class="sr-only" for="query">
          Filter (meshtap tap flags)
        </label>
        <input
          id="query"
          ref={input}
          class={check && !check.ok ? 'query invalid' : 'query'}
          value={draft}
          spellcheck={false}
          autocomplete="off"
          placeholder="--path /api --status 5xx   (meshtap tap filter flags: --method --authority --header N=V --grpc-status --min-latency --to --not --or …; --reveal-header NAME)"
          aria-invalid={check && !check.ok ? 'true' : 'false'}
          aria-describedby="query-help"
          onInput={(ev) => setDraft((ev.target as HTMLInputElement).value)}
          onKeyDown={(ev) => {
            if (ev.key === 'Escape') setDraft(state.q);
          }}
        />
        <button type="submit" class="btn primary" disabled={!dirty || (check && !check.ok)}>
          Apply
        </button>
        {state.q && (
          <button type="button" class="btn" onClick={() => setUrlState({ q: '' })}>
            Clear
          </button>
        )}
      </form>
      <div id="query-help" class="query-help">
        {check && !check.ok ? (
          <span class="error" role="alert">
            {check.error}
          </span>
        ) : check?.ok ? (
          <>
            <code class="cli" data-testid="cli-command">
              {check.cli}
            </code>
            <button
              type="button"
              class="btn small"
              onClick={async () => {
                const ok = await copyText(check.cli);
                setCopied(ok ? 'Copied' : 'Select and copy the command');
                setTimeout(() => setCopied(undefined), 2000);
              }}
            >
              Copy as CLI command
            </button>
            {copied && <span class="muted">{copied}</span>}
            {dirty && <span class="muted">· Enter applies</span>}
          </>
        ) : null}
      </div>
    </div>
  );
}
