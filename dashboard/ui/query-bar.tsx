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
  // The last answer of the server's parser and the text it was for: an answer for an earlier
  // draft must not decide what Enter does with this one (see apply).
  const [checked, setChecked] = useState<{ q: string; check: QueryCheck }>();
  const check = checked?.check;
  const current = checked?.q === draft ? checked.check : undefined;
  const applyWhenChecked = useRef(false);
  const [copied, setCopied] = useState<string>();
  const input = useRef<HTMLInputElement>(null);
  useEffect(() => setDraft(state.q), [state.q]);
  useEffect(() => {
    const ac = new AbortController();
    const t = setTimeout(() => {
      fetch(queryUrl(state, draft), { signal: ac.signal })
        .then((r) => r.json() as Promise<QueryCheck>)
        .then(
          (c) => setChecked({ q: draft, check: c }),
          () => {
            // No answer (the dashboard went away?): Enter applies as it did, and the tap says what is wrong.
            if (ac.signal.aborted || !applyWhenChecked.current) return;
            applyWhenChecked.current = false;
            setUrlState({ q: draft.trim() });
          },
        );
    }, 150);
    return () => {
      clearTimeout(t);
      ac.abort();
    };
  }, [draft, state.ns, state.target, state.source, state.since, state.rps]);
  /**
   * Enter right after typing or pasting comes before the parser's answer for that text (150 ms
   * debounce + a round trip). It used to be judged by the answer for the text before: a valid
   * query typed over an invalid one was silently not applied, an invalid one over a valid one
   * was. Now Enter waits for this text's answer and applies it if it is valid.
   */
  const apply = () => {
    if (!current) {
      applyWhenChecked.current = true;
      return;
    }
    if (!current.ok) return;
    setUrlState({ q: draft.trim() });
  };
  useEffect(() => {
    if (!current || !applyWhenChecked.current) return;
    applyWhenChecked.current = false;
    if (current.ok) setUrlState({ q: draft.trim() });
  }, [current]);
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
          onInput={(ev) => {
            applyWhenChecked.current = false;
            setDraft((ev.target as HTMLInputElement).value);
          }}
          onKeyDown={(ev) => {
            if (ev.key === 'Escape') setDraft(state.q);
          }}
        />
        <button type="submit" class="btn primary" disabled={!dirty || (current !== undefined && !current.ok)}>
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
