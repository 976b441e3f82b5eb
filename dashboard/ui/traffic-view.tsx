/** The traffic view: target and source controls, the query bar, the live table and the detail. */
import { useEffect, useMemo, useRef, useState } from 'preact/hooks';
import { appendFilter } from '../query-text.js';
import { downloadExport } from './api.js';
import { DetailPanel } from './detail-panel.js';
import { QueryBar } from './query-bar.js';
import { TrafficFeed, type FeedSnapshot } from './traffic-feed.js';
import { TrafficTable, type FilterAction } from './traffic-table.js';
import { readUrlState, setUrlState, type UrlState } from './url-state.js';

function tapUrl(s: UrlState): string {
  const p = new URLSearchParams({ ns: s.ns, target: s.target, q: s.q, source: s.source, since: s.since, rps: String(s.rps) });
  return `/api/tap?${p}`;
}

export function TrafficView({ state }: { state: UrlState }) {
  const feed = useMemo(() => new TrafficFeed(), []);
  const [snap, setSnap] = useState<FeedSnapshot>(feed.snapshot);
  const [selected, setSelected] = useState<string>();
  const [note, setNote] = useState<string>();
  const [queryError, setQueryError] = useState<string>();
  useEffect(() => feed.subscribe(() => setSnap(feed.snapshot)), [feed]);
  const url = tapUrl(state);
  useEffect(() => {
    feed.start(url);
    setSelected(undefined);
  }, [url]);
  useEffect(() => () => feed.stop(), [feed]);

  const onFilter = (a: FilterAction) => {
    if ('target' in a) setUrlState({ target: a.target, ...(a.ns ? { ns: a.ns } : {}) });
    else setUrlState({ q: appendFilter(readUrlState().q, a.flag, a.value) });
  };
  const row = selected ? snap.rows.find((r) => r.key === selected) : undefined;
  const ended = snap.rows.filter((r) => r.end).map((r) => r.end!);
  const menu = useRef<HTMLDetailsElement>(null);
  const exportVisible = (format: 'har' | 'ndjson' | 'recording') => {
    if (menu.current) menu.current.open = false;
    return downloadExport({ format, events: ended.slice().reverse(), namespace: state.ns, target: state.target, query: state.q }).then(
      () => setNote(`Exported ${ended.length} exchanges as ${format === 'recording' ? 'a recording' : format.toUpperCase()}`),
      (e: Error) => setNote(e.message),
    );
  };

  return (
    <div class={row ? 'traffic with-detail' : 'traffic'}>
      <div class="toolbar">
        <TargetField state={state} />
        <div class="seg" role="group" aria-label="Source">
          <button type="button" class={state.source === 'live' ? 'seg-btn on' : 'seg-btn'} aria-pressed={state.source === 'live'} onClick={() => setUrlState({ source: 'live' })}>
            ● Live
          </button>
          <button
            type="button"
            class={state.source === 'history' ? 'seg-btn on' : 'seg-btn'}
            aria-pressed={state.source === 'history'}
            onClick={() => setUrlState({ source: 'history' })}
            title="The flight recorders' recent past (meshtap tap --since)"
          >
            History
          </button>
        </div>
        {state.source === 'history' && (
          <label class="field compact">
            <span>since</span>
            <input class="short" value={state.since} onChange={(ev) => setUrlState({ since: (ev.target as HTMLInputElement).value || '5m' })} />
          </label>
        )}
        {state.source === 'live' && (
          <button type="button" class="btn" aria-pressed={snap.paused} onClick={() => feed.setPaused(!snap.paused)}>
            {snap.paused ? '▶ Resume' : '❚❚ Pause'}
          </button>
        )}
        <label class="field compact" title="Most exchanges per second this tap gets (meshtap tap --max-rps), split across pods">
          <span>max rps</span>
          <input
            class="short"
            type="number"
            min={1}
            max={1000}
            value={state.rps}
            onChange={(ev) => {
              const v = Number((ev.target as HTMLInputElement).value);
              if (Number.isInteger(v) && v >= 1 && v <= 1000) setUrlState({ rps: v });
            }}
          />
        </label>
        <Status snap={snap} />
        <div class="spacer" />
        <details class="menu" ref={menu}>
          <summary class="btn">Export visible ({ended.length})</summary>
          <div class="menu-items">
            <button type="button" class="btn small" onClick={() => exportVisible('recording')} title="For meshtap replay / meshtap mock">
              Recording (.jsonl)
            </button>
            <button type="button" class="btn small" onClick={() => exportVisible('har')}>
              HAR
            </button>
            <button type="button" class="btn small" onClick={() => exportVisible('ndjson')}>
              NDJSON
            </button>
          </div>
        </details>
      </div>
      <QueryBar state={state} onError={setQueryError} />
      {note && (
        <div class="note" role="status">
          {note}{' '}
          <button type="button" class="btn small ghost" onClick={() => setNote(undefined)}>
            dismiss
          </button>
        </div>
      )}
      {snap.status.state === 'error' && snap.status.message !== queryError && (
        <div class="banner error" role="alert" data-testid="feed-error">
          {snap.status.message}
        </div>
      )}
      <div class="traffic-main">
        <TrafficTable
          rows={snap.rows}
          selected={selected}
          onSelect={setSelected}
          onFilter={onFilter}
          onHover={(inside) => feed.setHeld(inside)}
          emptyText={snap.status.state === 'error' ? 'No exchanges: the tap stopped (see the message above).' : snap.status.state === 'done' ? 'No exchanges for this query.' : undefined}
        />
        {row && (
          <DetailPanel
            row={row}
            bodiesAllowed={snap.bodiesAllowed}
            bodiesMessage={snap.bodiesMessage}
            namespace={state.ns}
            target={state.target}
            query={state.q}
            onClose={() => setSelected(undefined)}
          />
        )}
      </div>
    </div>
  );
}

function TargetField({ state }: { state: UrlState }) {
  const [draft, setDraft] = useState(state.target);
  useEffect(() => setDraft(state.target), [state.target]);
  return (
    <form
      class="field compact"
      onSubmit={(ev) => {
        ev.preventDefault();
        setUrlState({ target: draft.trim() || `ns/${state.ns}` });
      }}
    >
      <label for="target">Tap</label>
      <input id="target" class="mid mono" value={draft} title="TYPE/NAME: ns/NAME (every workload), deploy/NAME, pod/NAME, …" onInput={(ev) => setDraft((ev.target as HTMLInputElement).value)} />
      {state.target !== `ns/${state.ns}` && (
        <button type="button" class="btn small ghost" title="Tap the whole namespace" onClick={() => setUrlState({ target: `ns/${state.ns}` })}>
          ✕
        </button>
      )}
    </form>
  );
}

function Status({ snap }: { snap: FeedSnapshot }) {
  const s = snap.status;
  const lost = snap.dropped + snap.evicted;
  return (
    // A fixed-width, one-line status: its text changes as the pointer enters the list (held), and
    // a longer text wrapped the toolbar on a 1024 px window, moving the rows under the pointer
    // between its move and its press.
    <span class="feed-status" role="status" aria-live="polite" title={snap.held ? 'new rows wait while the pointer is over the list' : undefined}>
      <span class={`dot ${s.state}`} />
      {s.state === 'connecting' ? 'connecting…' : s.state === 'streaming' ? (snap.paused ? 'paused' : snap.held ? 'held' : `${snap.rate.toFixed(1)} exchanges/s`) : s.state === 'done' ? s.message : 'stopped'}
      <span class="muted"> · {snap.rows.length} rows</span>
      {lost > 0 && (
        <span class="warn" title="dropped: rate limit or a slow reader (sidecar, tap API or this page); evicted: oldest rows beyond the bound">
          {' '}
          · {snap.dropped} dropped, {snap.evicted} evicted
        </span>
      )}
      {snap.notices.length > 0 && <span class="warn" title={snap.notices.join('\n')}> · {snap.notices.length} notices</span>}
    </span>
  );
}
