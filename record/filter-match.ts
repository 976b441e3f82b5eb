/**
 * Tap filters evaluated against recorded exchanges with the sidecar's own compiler
 * (proxy `compileMatches`), so `replay` and `convert` select exactly as `tap` and `record` do.
 */
import type { RecordedExchange } from './format.js';
import { compileMatches, type TapEvent, type TapFilter } from '../tap-protocol/index.js';

/** Compiles filters once; the predicate tells whether an exchange passes. Throws MT_BAD_FILTER. */
export function compileExchangeFilter(matches: TapFilter[][]): (ex: RecordedExchange) => boolean {
  const compiled = compileMatches(matches);
  // Recorded exchanges are `end` events; only the message fields changed shape (never filtered on).
  return (ex) => compiled.test({ ...ex, requestMessages: undefined, responseMessages: undefined } as unknown as TapEvent);
}
