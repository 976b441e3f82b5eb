/**
 * HTTPS serving for Kubernetes mode: the serving certificate and key (the APIService's
 * caBundle vouches for them) and the requestheader client CA that front-proxy certificates
 * must chain to. Files are re-read every `reloadIntervalMs` and swapped in with
 * `setSecureContext` when their bytes change (Secret and ConfigMap mounts are updated in
 * place, and cert-manager rotates certificates); a half-written or mismatched pair is refused
 * and the previous one kept, so a rotation can never take the server down.
 *
 * Client certificates are requested but not required at the TLS layer (probes and plain
 * clients still connect); kube-front-proxy.ts refuses any request whose certificate did not
 * verify. `ca` is always set: without it Node would verify clients against the public roots.
 */
import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import type { RequestListener } from 'node:http';
import { createServer, type Server } from 'node:https';
import { createSecureContext } from 'node:tls';
import { MeshtapError } from '../../common/index.js';

export const DEFAULT_TLS_RELOAD_INTERVAL_MS = 10_000;

/** Where the serving pair and the client CA come from: files (reloaded) or fixed PEM text. */
export interface KubeTlsSources {
  certFile: string;
  keyFile: string;
  /** The requestheader client CA file, or… */
  clientCaFile?: string;
  /** …its PEM (e.g. read from the extension-apiserver-authentication ConfigMap). */
  clientCaPem?: string;
}

interface Material {
  cert: Buffer;
  key: Buffer;
  ca: Buffer;
}

/** A TLS configuration that follows its files. */
export interface ReloadingTls {
  /** Builds the HTTPS server (pass to startTapApiServer's `createServer`). */
  createServer(listener: RequestListener): Server;
  /** Re-reads the files now; resolves true when something changed and was applied. */
  reload(): Promise<boolean>;
  /** Stops polling. */
  close(): void;
}

async function readMaterial(s: KubeTlsSources): Promise<Material> {
  const read = async (path: string, what: string): Promise<Buffer> => {
    try {
      return await readFile(path);
    } catch (err) {
      throw new MeshtapError('MT_TLS_FILES', `cannot read ${what} ${path}: ${(err as Error).message}`, { cause: err });
    }
  };
  const [cert, key, ca] = await Promise.all([
    read(s.certFile, '--tls-cert-file'),
    read(s.keyFile, '--tls-private-key-file'),
    s.clientCaFile ? read(s.clientCaFile, '--requestheader-client-ca-file') : Promise.resolve(Buffer.from(s.clientCaPem ?? '')),
  ]);
  if (!ca.toString('latin1').includes('-----BEGIN CERTIFICATE-----')) {
    throw new MeshtapError('MT_TLS_FILES', 'the requestheader client CA holds no PEM certificate; front-proxy requests could not be verified');
  }
  try {
    createSecureContext({ cert, key, ca }); // refuses a key that does not match, or bad PEM
  } catch (err) {
    throw new MeshtapError('MT_TLS_FILES', `the serving certificate, key or client CA is not usable: ${(err as Error).message}`, { cause: err });
  }
  return { cert, key, ca };
}

function digest(m: Material): string {
  return createHash('sha256').update(m.cert).update('\0').update(m.key).update('\0').update(m.ca).digest('hex');
}

/** Loads the material (failing loudly at start) and polls it for changes. */
export async function createReloadingTls(
  sources: KubeTlsSources,
  options: { reloadIntervalMs?: number; onReload?: (ok: boolean, error?: string) => void } = {},
): Promise<ReloadingTls> {
  let current = await readMaterial(sources);
  let currentDigest = digest(current);
  const servers = new Set<Server>();
  let reloading: Promise<boolean> | undefined;
  const reload = (): Promise<boolean> =>
    (reloading ??= (async () => {
      try {
        const next = await readMaterial(sources);
        const d = digest(next);
        if (d === currentDigest) return false;
        for (const s of servers) s.setSecureContext({ cert: next.cert, key: next.key, ca: next.ca });
        current = next;
        currentDigest = d;
        options.onReload?.(true);
        return true;
      } catch (err) {
        options.onReload?.(false, (err as Error).message);
        return false;
      } finally {
        reloading = undefined;
      }
    })());
  const timer = setInterval(() => void reload(), options.reloadIntervalMs ?? DEFAULT_TLS_RELOAD_INTERVAL_MS);
  timer.unref();
  return {
    createServer(listener) {
      const server = createServer(
        { cert: current.cert, key: current.key, ca: current.ca, requestCert: true, rejectUnauthorized: false, minVersion: 'TLSv1.2' },
        listener,
      );
      servers.add(server);
      server.once('close', () => servers.delete(server));
      return server;
    },
    reload,
    close() {
      clearInterval(timer);
    },
  };
}
