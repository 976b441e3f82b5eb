import type { TapCount } from './young-generation.js';

/**
 * How long after a tap attaches or leaves the native sidecar gives back cold pages: the first tap
 * loads and compiles the tap service (node:http2, the hub), which touches node's code once; by
 * then that is over.
 */
export const DROP_AFTER_TAP_CHANGE_MS = 2_000;

/**
 * The native sidecar gives back what node's start-up left resident and will not use again (issue 14:
 * RSS ≤ 60 MB under load on every scenario; untapped it was 54–59 MB, of which ~43 MB were pages of
 * the node executable, most touched once while node started).
 *
 * `drop` (native dropColdPages) unmaps the node executable's clean read-only pages and trims glibc's
 * arenas; what the sidecar still runs is mapped back from the page cache on its next use (a minor
 * fault each, a few thousand in all, once). Called once now (start-up is over: the listeners are
 * up) and again shortly after each tap attaches or leaves (a tap's start loads code; a tap's end
 * leaves freed malloc memory behind). Not periodic: the pages a running sidecar uses come back at
 * once, so a periodic drop would buy nothing and cost the faults each time.
 * docs/decisions.md, "The native sidecar's memory (session 9)".
 */
export function dropColdPagesAtRest(hub: TapCount, drop: () => unknown): void {
  drop();
  let timer: NodeJS.Timeout | undefined;
  hub.onCountChange(() => {
    clearTimeout(timer);
    timer = setTimeout(drop, DROP_AFTER_TAP_CHANGE_MS);
    timer.unref();
  });
}
