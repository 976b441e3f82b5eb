/**
 * Authorities and their redacted form: the table redact.test.ts checks, and the native engine's
 * C++ port of `redactAuthority` (metric labels) is held to (test/native-metrics-labels.test.ts).
 */
export const AUTHORITY_REDACTION_CASES: ReadonlyArray<readonly [string, string]> = [
  ['web', 'web'],
  ['admin:hunter2@web', '[redacted]@web'],
  ['user:p@ss@web:8080', '[redacted]@web:8080'],
  ['@web', '[redacted]@web'],
];
