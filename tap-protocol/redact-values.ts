/**
 * "A value redacted in one field is redacted in every field": the secrets one exchange's event
 * carries (the credential of an `Authorization`, a `Cookie`'s values, an `X-Api-Key`, a
 * secret-named query parameter's value) are collected, and wherever else they appear in the
 * same event (the path, other header values, captured bodies, `grpcMessage`) they read
 * `[redacted]`. A token sent as `Authorization: Bearer T` and echoed in `?state=T` or in a
 * response body no longer shows through the field that was not named.
 *
 * Only values of MIN_SECRET_CHARS or more are scrubbed elsewhere: a cookie `lang=en` or `n=1`
 * would otherwise blank every `en` and `1` of the event, and a short `[redacted]` in a known
 * place would itself say what the value was. The header holding the value is redacted whatever
 * its length (tap-hub `shape`).
 */
import { REDACTED, type HeaderList } from './events.js';

/** Shortest secret value scrubbed from other fields (a random token is far longer). */
export const MIN_SECRET_CHARS = 8;
/**
 * Most values (forms included) scrubbed from one event. Scrubbing costs one scan of the path,
 * header values and bodies per value: a request with thousands of cookies would cost thousands of
 * scans of a 64 KiB body on the sidecar's JS thread. Past the bound, further values are not
 * scrubbed elsewhere (their own header is still redacted) and the bound is counted.
 */
export const MAX_SCRUBBED_SECRETS = 32;

/**
 * The secret parts of a sensitive header's value (`lowerName` in lower case), each passed to
 * `add`: an `Authorization` credential (and a Basic password), each cookie value, a
 * `Set-Cookie`'s value, or the whole value of any other sensitive header.
 */
export function headerSecrets(lowerName: string, value: string, add: (secret: string) => void): void {
  const v = value.trim();
  if (lowerName === 'authorization' || lowerName === 'proxy-authorization') {
    const sp = v.indexOf(' ');
    if (sp < 0) return add(v);
    const credential = v.slice(sp + 1).trim();
    add(credential);
    if (v.slice(0, sp).toLowerCase() === 'basic') {
      const decoded = Buffer.from(credential, 'base64').toString('utf8');
      const colon = decoded.indexOf(':');
      if (colon >= 0) add(decoded.slice(colon + 1));
    }
    return;
  }
  if (lowerName === 'cookie') {
    for (const pair of v.split(';')) cookieValue(pair, add);
    return;
  }
  if (lowerName === 'set-cookie') return cookieValue(v.split(';', 1)[0]!, add);
  add(v);
}

function cookieValue(pair: string, add: (secret: string) => void): void {
  const eq = pair.indexOf('=');
  let value = (eq < 0 ? pair : pair.slice(eq + 1)).trim();
  if (value.length >= 2 && value.startsWith('"') && value.endsWith('"')) value = value.slice(1, -1);
  add(value);
}

/**
 * A growing set of secrets to scrub: values shorter than MIN_SECRET_CHARS and `[redacted]` are
 * ignored; a value's percent-encoded and percent-decoded forms are added with it (a token with
 * `/`, `+` or `=` travels encoded in a path).
 */
export class SecretSet {
  readonly values: string[] = [];
  /** A value was left out: MAX_SCRUBBED_SECRETS reached. */
  isFull = false;

  add(secret: string): void {
    if (secret.length < MIN_SECRET_CHARS || secret === REDACTED) return;
    if (this.values.length >= MAX_SCRUBBED_SECRETS) {
      this.isFull = true;
      return;
    }
    this.addOne(secret);
    const encoded = encodeURIComponent(secret);
    if (encoded !== secret) this.addOne(encoded);
    if (secret.indexOf('%') >= 0) {
      try {
        this.addOne(decodeURIComponent(secret));
      } catch {
        // not valid percent-encoding: only the raw form
      }
    }
  }

  /** Drops `secret` (a value the viewer may see through a revealed header). */
  remove(secret: string): void {
    for (let i = this.values.length - 1; i >= 0; i--) if (this.values[i] === secret) this.values.splice(i, 1);
  }

  private addOne(secret: string): void {
    if (secret.length < MIN_SECRET_CHARS || secret === REDACTED || this.values.includes(secret)) return;
    if (this.values.length >= MAX_SCRUBBED_SECRETS) {
      this.isFull = true;
      return;
    }
    // Longest first, so a secret holding another is replaced whole.
    let at = this.values.length;
    while (at > 0 && this.values[at - 1]!.length < secret.length) at--;
    this.values.splice(at, 0, secret);
  }
}

/** `text` with every secret in `secrets` (longest first) as `[redacted]`; the same string when none occurs. */
export function scrubSecrets(text: string, secrets: readonly string[]): string {
  let out = text;
  for (const s of secrets) if (out.indexOf(s) >= 0) out = out.split(s).join(REDACTED);
  return out;
}

/** A header list with secrets scrubbed from every value (the same list when none occurs). */
export function scrubHeaderSecrets(headers: HeaderList, secrets: readonly string[]): HeaderList {
  let out: HeaderList | undefined;
  for (let i = 0; i < headers.length; i++) {
    const [name, value] = headers[i]!;
    const scrubbed = scrubSecrets(value, secrets);
    if (scrubbed === value) continue;
    out ??= headers.slice();
    out[i] = [name, scrubbed];
  }
  return out ?? headers;
}
