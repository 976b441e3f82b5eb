/** Whether a caBundle holds certificates that parse and stay valid long enough. */
import { X509Certificate } from 'node:crypto';
import type { CheckResult } from '../../common/index.js';

/** A caBundle expiring sooner than this fails the check (time to re-run install). */
export const CA_MIN_REMAINING_DAYS = 30;

/** Checks a base64 PEM bundle (as in webhook clientConfig / APIService spec). */
export function checkCaBundle(name: string, caBundleBase64: string | undefined, now: Date, fixHint: string): CheckResult {
  if (!caBundleBase64) return { name, ok: false, detail: 'no caBundle', hint: fixHint };
  const pems = Buffer.from(caBundleBase64, 'base64').toString('utf8').match(/-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g) ?? [];
  if (pems.length === 0) return { name, ok: false, detail: 'caBundle holds no PEM certificate', hint: fixHint };
  let earliest = Infinity;
  for (const pem of pems) {
    let cert: X509Certificate;
    try {
      cert = new X509Certificate(pem);
    } catch (err) {
      return { name, ok: false, detail: `caBundle certificate does not parse: ${(err as Error).message}`, hint: fixHint };
    }
    if (new Date(cert.validFrom) > now) return { name, ok: false, detail: `caBundle not valid before ${cert.validFrom}`, hint: 'check the clocks of this machine and the cluster' };
    earliest = Math.min(earliest, new Date(cert.validTo).getTime());
  }
  const days = Math.floor((earliest - now.getTime()) / 86_400_000);
  if (days < 0) return { name, ok: false, detail: `caBundle expired on ${new Date(earliest).toISOString()}`, hint: fixHint };
  if (days < CA_MIN_REMAINING_DAYS) return { name, ok: false, detail: `caBundle expires in ${days} days`, hint: fixHint };
  return { name, ok: true, detail: `valid for ${days} more days` };
}
