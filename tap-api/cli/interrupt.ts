/**
 * How a streaming command (tap, top, record) ends when the user interrupts it: exit status 130
 * (128 + SIGINT), as kubectl, linkerd and a shell's own foreground job report Ctrl-C, after the
 * command cleaned up as on any other end. A script then tells an interrupted tap from one that ended
 * by itself (--limit, --until, the sidecar stopping), both 0; a reader that went away (`| head`)
 * stays a quiet 0 (common/stdout.ts).
 */
export const EXIT_INTERRUPTED = 130;

/** A streaming command's stop signals, while it runs: SIGINT and SIGTERM both `stop` it. */
export interface StopSignals {
  /** Stops as Ctrl-C does (top's raw-mode key): the exit status becomes 130. */
  interrupt(): void;
  /** 130 once interrupted, else 0. */
  exitCode(): number;
  /** Lets both signals go again (the command is done). */
  off(): void;
}

/** SIGINT stops and marks the end as interrupted (130); SIGTERM, a supervisor's stop, stops with 0. */
export function onStopSignals(stop: () => void): StopSignals {
  let interrupted = false;
  const interrupt = (): void => {
    interrupted = true;
    stop();
  };
  process.once('SIGINT', interrupt);
  process.once('SIGTERM', stop);
  return {
    interrupt,
    exitCode: () => (interrupted ? EXIT_INTERRUPTED : 0),
    off() {
      process.off('SIGINT', interrupt);
      process.off('SIGTERM', stop);
    },
  };
}
