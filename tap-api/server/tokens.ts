/**
 * Bearer tokens in kube-apiserver's static token file format (`--token-auth-file`):
 * `token,user,uid,"group1,group2"` — CSV with RFC 4180 quoting, at least three columns,
 * groups optional, further columns ignored. A line that cannot be read is refused with its
 * line number (a half-read token file must not silently drop users).
 */
import { readFile } from 'node:fs/promises';
import { timingSafeEqual } from 'node:crypto';
import { MeshtapError } from '../../common/index.js';
import type { UserInfo } from './rbac.js';

/** Token → user, and lookup by bearer token. */
export interface TokenAuthenticator {
  /** The user for a token, or undefined (unknown token). */
  authenticate(token: string): UserInfo | undefined;
  readonly size: number;
}

/** Parses a token file's text. */
export function parseTokenFile(text: string, source = '<tokens>'): TokenAuthenticator {
  const users = new Map<string, UserInfo>();
  const records = parseCsv(text, source);
  for (const { line, fields } of records) {
    if (fields.length === 1 && fields[0] === '') continue; // blank line
    if (fields.length < 3) throw new MeshtapError('MT_TOKEN_FILE', `${source}:${line}: need at least token,user,uid (got ${fields.length} column(s))`);
    const [token, name, uid, groupText] = fields as [string, string, string, string?];
    if (token === '' || name === '') throw new MeshtapError('MT_TOKEN_FILE', `${source}:${line}: token and user must not be empty`);
    if (users.has(token)) throw new MeshtapError('MT_TOKEN_FILE', `${source}:${line}: duplicate token (for user ${name})`);
    const groups = (groupText ?? '')
      .split(',')
      .map((g) => g.trim())
      .filter(Boolean);
    users.set(token, { name, uid, groups });
  }
  const entries = [...users.entries()].map(([t, u]) => [Buffer.from(t), u] as const);
  return {
    size: users.size,
    authenticate(token: string): UserInfo | undefined {
      // Compare every entry in constant time so response time does not hint at token prefixes.
      const given = Buffer.from(token);
      let found: UserInfo | undefined;
      for (const [t, u] of entries) if (t.length === given.length && timingSafeEqual(t, given)) found = u;
      return found;
    },
  };
}

/** Reads and parses a token file. */
export async function loadTokenFile(path: string): Promise<TokenAuthenticator> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (err) {
    throw new MeshtapError('MT_TOKEN_FILE', `cannot read --tokens file ${path}: ${(err as Error).message}`, { cause: err });
  }
  return parseTokenFile(text, path);
}

/** Minimal RFC 4180 CSV (quoted fields, `""` escapes, CRLF or LF), with line numbers. */
function parseCsv(text: string, source: string): Array<{ line: number; fields: string[] }> {
  const out: Array<{ line: number; fields: string[] }> = [];
  let fields: string[] = [];
  let field = '';
  let quoted = false;
  let line = 1;
  let recordLine = 1;
  for (let i = 0; i < text.length; i++) {
    const c = text[i]!;
    if (quoted) {
      if (c === '"') {
        if (text[i + 1] === '"') {
          field += '"';
          i++;
        } else quoted = false;
      } else {
        if (c === '\n') line++;
        field += c;
      }
      continue;
    }
    if (c === '"') {
      if (field !== '') throw new MeshtapError('MT_TOKEN_FILE', `${source}:${line}: stray '"' inside an unquoted field`);
      quoted = true;
    } else if (c === ',') {
      fields.push(field);
      field = '';
    } else if (c === '\n' || c === '\r') {
      if (c === '\r' && text[i + 1] === '\n') i++;
      fields.push(field);
      out.push({ line: recordLine, fields });
      fields = [];
      field = '';
      line++;
      recordLine = line;
    } else field += c;
  }
  if (quoted) throw new MeshtapError('MT_TOKEN_FILE', `${source}:${recordLine}: unterminated quoted field`);
  if (field !== '' || fields.length > 0) {
    fields.push(field);
    out.push({ line: recordLine, fields });
  }
  return out;
}
