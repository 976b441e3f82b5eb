/**
 * Structured (JSON lines on stderr), quiet-by-default logging with per-component tracing:
 * MESHTAP_TRACE=detect,h2 (or `all`) turns on debug lines for those components;
 * MESHTAP_LOG=debug|info|warn|error sets the level (default warn).
 * Never log bodies or secret headers.
 */
import { isoTime } from './utc-time.js';

type Level = 'debug' | 'info' | 'warn' | 'error';
const LEVELS: Record<Level, number> = { debug: 10, info: 20, warn: 30, error: 40 };

const envLevel = (process.env.MESHTAP_LOG ?? 'warn') as Level;
const minLevel = LEVELS[envLevel] ?? LEVELS.warn;
const traced = new Set((process.env.MESHTAP_TRACE ?? '').split(',').map((s) => s.trim()).filter(Boolean));

export interface Logger {
  debug(msg: string, fields?: Record<string, unknown>): void;
  info(msg: string, fields?: Record<string, unknown>): void;
  warn(msg: string, fields?: Record<string, unknown>): void;
  error(msg: string, fields?: Record<string, unknown>): void;
  /** Logs a state change as `from -> to`. */
  transition(from: string, to: string, fields?: Record<string, unknown>): void;
  readonly isTracing: boolean;
  child(component: string): Logger;
}

export function createLogger(component: string): Logger {
  const isTracing = traced.has('all') || traced.has(component);
  const write = (level: Level, msg: string, fields?: Record<string, unknown>): void => {
    if (LEVELS[level] < minLevel && !(level === 'debug' && isTracing)) return;
    const line = JSON.stringify({ ts: isoTime(Date.now()), level, component, msg, ...fields });
    process.stderr.write(line + '\n');
  };
  return {
    debug: (m, f) => write('debug', m, f),
    info: (m, f) => write('info', m, f),
    warn: (m, f) => write('warn', m, f),
    error: (m, f) => write('error', m, f),
    transition: (from, to, f) => write('debug', `${from} -> ${to}`, f),
    isTracing,
    child: (sub) => createLogger(`${component}.${sub}`),
  };
}
