/**
 * What `meshtap tap` prints, message by message: the output format, history put in time order
 * across pods (`--last N` means the last N of the workload, not N per pod; `--first N`,
 * `--until TIME`), `--limit N` counting whole exchanges (only the N it counts are printed:
 * events of an exchange that started after the N-th are not), and the one-time notes on stderr
 * (bodies the recorders do not keep, history younger than `--since`, events dropped).
 */
import { UsageError } from '../../common/index.js';
import { eventJsonOf, parseMessageBytes, type TapEvent, type TapMessage } from '../../tap-protocol/index.js';
import { counted, escapeForTerminal, formatClock, formatEventText } from './format.js';
import { compileJsonPath } from './jsonpath.js';
import { loadYaml } from '../lazy-deps.js';

/** `-o` values of tap. */
export type TapViewOutput = { kind: 'text' | 'wide' | 'json' | 'yaml' } | { kind: 'jsonpath'; render: (e: TapEvent) => string };

/** Parses `-o text|wide|json|yaml|jsonpath=TEMPLATE` (usage error otherwise). */
export function parseTapOutput(text: string, command = 'tap'): TapViewOutput {
  if (text === 'text' || text === 'wide' || text === 'json' || text === 'yaml') return { kind: text };
  const jp = /^jsonpath=(.*)$/s.exec(text);
  if (jp) {
    if (!jp[1]) throw new UsageError(`${command}: -o jsonpath needs a template, e.g. -o jsonpath='{.method} {.path}'`);
    return { kind: 'jsonpath', render: compileJsonPath(jp[1], escapeForTerminal) };
  }
  throw new UsageError(`${command}: -o takes text, wide, json, yaml or jsonpath=TEMPLATE, not '${text}'`);
}

/** Most history events held for sorting; past it they are printed as they come. */
export const MAX_SORTED_HISTORY = 200_000;

export interface TapViewOptions {
  output: TapViewOutput;
  color?: boolean;
  /** Stop after this many exchanges (only those are printed). */
  limit?: number;
  /** History asked (`--since`, `--last`, `--first`). */
  history?: { sinceMs?: number; last?: number; first?: number; untilEpochMs?: number; bodies: boolean };
  /** The rate bound asked, for the "dropped by --max-rps" note. */
  maxRps?: number;
  /** Writes a line to stdout (without its newline). */
  print(line: string): void;
  /**
   * Writes a line given as bytes (without its newline). With it, `-o json` prints events as they
   * came, undecoded (onBytes), wherever the view needs none of their fields.
   */
  printBytes?(line: Buffer): void;
  /** Writes a note to stderr (without the `meshtap: ` prefix and newline). */
  note(text: string): void;
}

export interface TapView {
  /** Handles one message; returns true when the view has all it wants (stop the stream). */
  onMessage(m: TapMessage): boolean;
  /** The same, for a message as bytes (TapStream.wire): parsed only when the view needs to. */
  onBytes(message: Buffer): boolean;
  /** The stream ended: prints held history, if any. */
  finish(): void;
  /** Exchanges printed to their end. */
  readonly exchanges: number;
}

export function createTapView(o: TapViewOptions): TapView {
  const admitted = new Set<string>();
  let ended = 0;
  let done = false;
  let inHistory = o.history !== undefined;
  let held: TapEvent[] = [];
  const key = (e: TapEvent): string => `${e.pod ?? ''}/${e.id}`;

  const show = (e: TapEvent): void => {
    const out = o.output;
    if (out.kind === 'json') o.print(JSON.stringify(e));
    else if (out.kind === 'yaml') o.print(`---\n${loadYaml().stringify(e).trimEnd()}`);
    else if (out.kind === 'jsonpath') o.print(out.render(e));
    else o.print(formatEventText(e, out.kind === 'wide', { color: o.color === true }));
  };

  /**
   * A live or sorted-history event. With --limit, the first N exchanges seen are admitted (at
   * whichever event comes first); events of any later exchange are not printed, and the view is
   * done when the N-th admitted exchange ended.
   */
  const deliverCounted = (e: TapEvent): void => {
    if (done) return;
    if (o.history?.untilEpochMs !== undefined && Date.parse(e.ts) > o.history.untilEpochMs) {
      done = true;
      return;
    }
    if (o.limit !== undefined) {
      const k = key(e);
      if (!admitted.has(k)) {
        if (admitted.size >= o.limit) return;
        admitted.add(k);
      }
    }
    show(e);
    if (e.kind === 'end') {
      ended++;
      if (o.limit !== undefined && ended >= o.limit) done = true;
    }
  };

  const flushHistory = (): void => {
    if (!inHistory) return;
    inHistory = false;
    let events = held;
    held = [];
    events.sort((a, b) => Date.parse(a.ts) - Date.parse(b.ts));
    if (o.history?.first !== undefined) events = events.slice(0, o.history.first);
    if (o.history?.last !== undefined && events.length > o.history.last) events = events.slice(events.length - o.history.last);
    for (const e of events) deliverCounted(e);
  };

  // `-o json` prints an event as the JSON it came as (message-bytes.ts: the same text parse +
  // stringify makes) unless the view must read it: --limit counts exchanges, --until reads
  // times, and history is held to be sorted by time.
  const printBytes = o.output.kind === 'json' && o.limit === undefined && o.history?.untilEpochMs === undefined ? o.printBytes : undefined;

  let notedBodies = false;
  return {
    onBytes(message) {
      if (done) return true;
      if (printBytes && !inHistory) {
        const event = eventJsonOf(message);
        if (event !== undefined) {
          printBytes(event);
          return false;
        }
      }
      return this.onMessage(parseMessageBytes(message));
    },
    onMessage(m) {
      if (done) return true;
      if (m.type === 'event') {
        if (inHistory && held.length < MAX_SORTED_HISTORY) held.push(m.event);
        else deliverCounted(m.event);
      } else if (m.type === 'history-end') {
        flushHistory();
        const h = o.history;
        if (h?.bodies && m.recorderBodies === false && !notedBodies) {
          notedBodies = true;
          o.note('history has no bodies: the flight recorders keep none (start the sidecars with --recorder-bodies to keep them); live exchanges carry bodies');
        }
        if (h?.sinceMs !== undefined && m.historyStartMs !== undefined && m.historyStartMs > Date.now() - h.sinceMs + 1000) {
          o.note(`history begins at ${formatClock(m.historyStartMs)}: the flight recorders hold nothing older than that`);
        }
      } else if (m.type === 'dropped') {
        o.note(
          m.reason === 'rate-limit'
            ? `${counted(m.count, 'exchange')} dropped by --max-rps ${o.maxRps ?? '(the sidecar default)'} (raise it to see more)`
            : `${counted(m.count, 'event')} dropped: the tap could not keep up (narrow the filters or lower --max-rps)`,
        );
      }
      return done;
    },
    finish() {
      flushHistory();
    },
    get exchanges() {
      return ended;
    },
  };
}
