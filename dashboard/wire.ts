/**
 * What the dashboard server and its page say to each other (types only, so the browser bundle
 * can share them): the NDJSON lines of `/api/tap` and `/api/top`, and the JSON of the other
 * routes. Tap messages pass through unchanged (DESIGN §5 events).
 */
import type { TapEvent } from '../tap-protocol/index.js';
import type { TapMessage } from '../tap-protocol/index.js';

/** One row of the live top view: the CLI's `meshtap top` row. */
export type { TopRow as TopRowWire } from '../tap-api/index.js';
import type { TopRow as TopRowWire, StatRow as StatRowWire } from '../tap-api/index.js';

export type DashboardLine =
  | TapMessage
  /** Whether this tap carries bodies; `message` is the tap API's refusal (names the permission). */
  | { type: 'bodies'; allowed: boolean; message?: string }
  /** One pod's part of the tap ended; the others go on. */
  | { type: 'notice'; pod: string; message: string }
  /** Events the dashboard server dropped because the page read too slowly. */
  | { type: 'dropped'; count: number; reason: 'page-too-slow' }
  /** History is complete. */
  | { type: 'end'; message: string }
  /** The stream ends because of this. */
  | { type: 'error'; code: string; message: string }
  | { type: 'top'; rows: TopRowWire[]; total: number; untracked: number };

/** `GET /api/config`. */
export interface DashboardConfig {
  /** Namespaces to show (from `-n`, repeatable). */
  namespaces: string[];
  /** Where the dashboard taps (URL or kubeconfig; never the token). */
  connection: string;
  /** Whether workloads/stat can be listed (tap API URL or Prometheus; not through kube-apiserver). */
  hasStats: boolean;
  version: string;
}

/** `GET /api/query?q=…&target=…&ns=…`: the parsed query and its CLI command. */
export type QueryCheck = { ok: true; cli: string; groups: number } | { ok: false; error: string; cli?: string };

/** `GET /api/stat?ns=…` rows: `meshtap stat -o json` rows. */
export type { StatRow as StatRowWire } from '../tap-api/index.js';

/** `POST /api/export`: the exchanges (tap `end` events) and where they came from. */
export interface ExportRequest {
  format: 'har' | 'ndjson' | 'recording';
  events: TapEvent[];
  namespace: string;
  target: string;
  query: string;
}
