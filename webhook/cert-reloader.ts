/**
 * Serving certificate that follows its files. Kubernetes rotates mounted Secrets by
 * swapping a symlink (inotify on the file itself misses that), so the files are re-read
 * on a short interval and the server's secure context is replaced when they change. A
 * half-written pair (cert and key not matching yet) keeps the old context until it is whole.
 */
import { readFile } from 'node:fs/promises';
import { createSecureContext, type SecureContextOptions, type Server as TlsServer } from 'node:tls';
import { createLogger } from '../common/index.js';

const log = createLogger('webhook.certs');

export interface CertFiles {
  certFile: string;
  keyFile: string;
}

export interface CertReloader {
  /** Re-reads now; resolves true when a new pair was installed. */
  check(): Promise<boolean>;
  stop(): void;
  /** How many reloads succeeded (exposed as a metric). */
  readonly reloads: number;
}

/** Reads the pair once (for starting the server); throws if unreadable. */
export async function readCertPair(files: CertFiles): Promise<{ cert: string; key: string }> {
  const [cert, key] = await Promise.all([readFile(files.certFile, 'utf8'), readFile(files.keyFile, 'utf8')]);
  createSecureContext({ cert, key }); // throws when they do not match
  return { cert, key };
}

/** Watches the pair and swaps the server's context on change. */
export function watchCertPair(server: TlsServer, files: CertFiles, initial: { cert: string; key: string }, intervalMs: number, extra: SecureContextOptions = {}): CertReloader {
  let current = initial.cert + '\0' + initial.key;
  let reloads = 0;
  let running: Promise<boolean> | undefined;
  const check = (): Promise<boolean> => {
    running ??= (async () => {
      try {
        const pair = await readCertPair(files);
        const id = pair.cert + '\0' + pair.key;
        if (id === current) return false;
        server.setSecureContext({ ...extra, ...pair });
        current = id;
        reloads += 1;
        log.info('serving certificate reloaded', { certFile: files.certFile });
        return true;
      } catch (err) {
        log.warn('serving certificate not reloaded (keeping the current one)', { error: (err as Error).message });
        return false;
      }
    })().finally(() => {
      running = undefined;
    });
    return running;
  };
  const timer = setInterval(() => void check(), intervalMs);
  timer.unref();
  return {
    check,
    stop: () => clearInterval(timer),
    get reloads() {
      return reloads;
    },
  };
}
