/**
 * How a streaming command (tap, top, record) ends when the user interrupts it: exit status 130
 * (128 + SIGINT), as kubectl, linkerd and a shell's own foreground job report Ctrl-C, after the
 * command cleaned up as on any other end. A script then tells an interrupted tap from one that ended
 * by itself (--limit, --until, the sidecar stopping), both 0; a reader that went away (`| head`)
 * stays a quiet 0 (common/stdout.ts).
 */
export const EXIT_INTERRUPTED = 130;
