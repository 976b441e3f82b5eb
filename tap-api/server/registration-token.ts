/**
 * The shared registration token of local mode: sidecars must present it (bearer) to register
 * or say goodbye, so nobody else can register a pod at their own address, receive its grants
 * and feed fake events to its tappers. One token for every sidecar (like a kubelet bootstrap
 * token): a compromised sidecar can still register other pods, but grants are addressed to the
 * tap address they are sent to (`aud`), so what it receives cannot be replayed to a real one.
 *
 * The file holds the token on one line; it is created with mode 0600 and 32 random bytes (hex)
 * when missing, and refused when it is too short to be a secret.
 */
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import { chmod, mkdir, readFile, stat, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { createLogger, isErrnoException, MeshtapError, type Result } from '../../common/index.js';
import { bearerToken } from './http-util.js';

/** Random bytes of a generated token (hex-encoded: 64 characters). */
export const REGISTRATION_TOKEN_BYTES = 32;
/** Shortest token accepted from a file or an option (guessable below this). */
export const MIN_REGISTRATION_TOKEN_CHARS = 16;
/** The token file's name beside the grant key, by default. */
export const REGISTRATION_TOKEN_FILE = 'registration.token';

/** Where the token lives when `--registration-token-file` is not given: beside the grant key. */
export function defaultRegistrationTokenPath(grantKeyPath: string): string {
  return join(dirname(grantKeyPath), REGISTRATION_TOKEN_FILE);
}

/** Checks a token's shape (one printable word, long enough); a message when it is unusable. */
export function registrationTokenProblem(token: string): string | undefined {
  if (!/^[\x21-\x7e]+$/.test(token)) return 'must be one word of printable ASCII';
  if (token.length < MIN_REGISTRATION_TOKEN_CHARS) return `must be at least ${MIN_REGISTRATION_TOKEN_CHARS} characters`;
  return undefined;
}

/**
 * Reads the registration token from `path`, or creates it (mode 0600, never clobbering a file
 * another process created meanwhile). A file readable by others is used, with a warning.
 */
export async function loadOrCreateRegistrationToken(path: string): Promise<string> {
  let text: string | undefined;
  try {
    text = await readFile(path, 'utf8');
  } catch (err) {
    if (!isErrnoException(err) || err.code !== 'ENOENT') {
      throw new MeshtapError('MT_REGISTRATION_TOKEN', `cannot read the registration token ${path}: ${(err as Error).message}`, { cause: err });
    }
  }
  if (text !== undefined) {
    const token = text.trim();
    const problem = registrationTokenProblem(token);
    if (problem) throw new MeshtapError('MT_REGISTRATION_TOKEN', `the registration token in ${path} ${problem}; fix it or move the file away to create a new one`);
    const mode = (await stat(path)).mode & 0o077;
    if (mode !== 0) createLogger('tap-api').warn('the registration token file is readable by other users; chmod 600 it', { path });
    return token;
  }
  const token = randomBytes(REGISTRATION_TOKEN_BYTES).toString('hex');
  try {
    await mkdir(dirname(path), { recursive: true });
    await writeFile(path, token + '\n', { mode: 0o600, flag: 'wx' });
    await chmod(path, 0o600);
  } catch (err) {
    if (isErrnoException(err) && err.code === 'EEXIST') return loadOrCreateRegistrationToken(path);
    throw new MeshtapError('MT_REGISTRATION_TOKEN', `cannot create the registration token ${path}: ${(err as Error).message}`, { cause: err });
  }
  return token;
}

/** Checks a request's bearer token against the registration token (constant time). */
export type RegistrationCheck = (req: IncomingMessage) => Result<void, string>;

/** Builds the check; `undefined` = insecure registration (anyone may register). */
export function createRegistrationCheck(token: string | undefined): RegistrationCheck {
  if (token === undefined) return () => ({ ok: true, value: undefined });
  const problem = registrationTokenProblem(token);
  if (problem) throw new MeshtapError('MT_REGISTRATION_TOKEN', `the registration token ${problem}`);
  // Hashing first gives equal lengths, so timingSafeEqual never leaks the length either.
  const digest = (t: string): Buffer => createHash('sha256').update(t).digest();
  const expected = digest(token);
  return (req) => {
    const given = bearerToken(req);
    if (given === undefined) return { ok: false, error: 'sidecar registration needs the registration token (Authorization: Bearer; meshtap proxy --tap-api-token or MESHTAP_TAP_API_TOKEN)' };
    if (!timingSafeEqual(digest(given), expected)) return { ok: false, error: 'the registration token is wrong (see the tap API\'s --registration-token-file)' };
    return { ok: true, value: undefined };
  };
}
