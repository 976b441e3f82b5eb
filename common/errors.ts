/**
 * The one error base class. Every error meshtap raises on purpose carries a stable,
 * machine-readable `code` (MT_…) so that callers branch on codes, never on messages.
 * Expected failures on the data path (parsing) are results, not throws.
 */
export class MeshtapError extends Error {
  readonly code: string;

  constructor(code: string, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.code = code;
    this.name = 'MeshtapError';
  }
}

/** A usage error: the CLI prints it as one line and exits with code 2. */
export class UsageError extends MeshtapError {
  constructor(message: string) {
    super('MT_USAGE', message);
    this.name = 'UsageError';
  }
}

/** Result type for expected failures (grpc-js style discriminated union). */
export type Result<T, E = string> = { ok: true; value: T } | { ok: false; error: E };

export function isErrnoException(err: unknown): err is NodeJS.ErrnoException {
  return err instanceof Error && typeof (err as NodeJS.ErrnoException).code === 'string';
}
