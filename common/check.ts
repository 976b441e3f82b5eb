/** One line of `meshtap check`: ✔/✖ with a hint on how to fix. */
export interface CheckResult {
  name: string;
  ok: boolean;
  /** What was found (version, path, error). */
  detail?: string;
  /** What to do when it failed. */
  hint?: string;
}
