/**
 * Certificates for the control plane when cert-manager is not used: one CA and a serving
 * certificate per HTTPS Service with the DNS SANs the API server dials
 * (`<svc>.<ns>.svc`, plus the short and fully qualified forms). ECDSA P-256; the CA's
 * PEM is what goes into the webhook's and the APIService's `caBundle`.
 */
import 'reflect-metadata'; // @peculiar/x509's DI container needs it before loading
import { webcrypto, generateKeyPairSync } from 'node:crypto';
import * as x509 from '@peculiar/x509';

x509.cryptoProvider.set(webcrypto as never);

const EC = { name: 'ECDSA', namedCurve: 'P-256' } as const;
const SIGN = { name: 'ECDSA', hash: 'SHA-256' } as const;
const DAY_MS = 86_400_000;

export interface PemPair {
  certPem: string;
  keyPem: string;
}

export interface CertificateAuthority extends PemPair {
  /** Signs a serving certificate for these DNS names (and IP addresses, for local use). */
  issueServing(dnsNames: string[], validDays?: number, ipAddresses?: string[]): Promise<PemPair>;
}

async function keyToPem(key: webcrypto.CryptoKey): Promise<string> {
  const der = await webcrypto.subtle.exportKey('pkcs8', key as never);
  return x509.PemConverter.encode(der, 'PRIVATE KEY');
}

/** A new CA (valid `validDays`, default 10 years: `check` warns well before it ends). */
export async function createCertificateAuthority(commonName: string, validDays = 3650): Promise<CertificateAuthority> {
  const keys = await webcrypto.subtle.generateKey(EC, true, ['sign', 'verify']);
  const now = Date.now();
  const ca = await x509.X509CertificateGenerator.createSelfSigned({
    name: `CN=${commonName}`,
    notBefore: new Date(now - 60_000),
    notAfter: new Date(now + validDays * DAY_MS),
    signingAlgorithm: SIGN,
    keys,
    extensions: [
      new x509.BasicConstraintsExtension(true, 0, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign, true),
      await x509.SubjectKeyIdentifierExtension.create(keys.publicKey),
    ],
  });
  const caKeyPem = await keyToPem(keys.privateKey);
  return {
    certPem: ca.toString('pem'),
    keyPem: caKeyPem,
    async issueServing(dnsNames, leafDays = 3650, ipAddresses = []) {
      const leafKeys = await webcrypto.subtle.generateKey(EC, true, ['sign', 'verify']);
      const leaf = await x509.X509CertificateGenerator.create({
        subject: `CN=${dnsNames[0] ?? 'meshtap'}`,
        issuer: ca.subject,
        notBefore: new Date(Date.now() - 60_000),
        notAfter: new Date(Math.min(Date.now() + leafDays * DAY_MS, ca.notAfter.getTime())),
        signingAlgorithm: SIGN,
        publicKey: leafKeys.publicKey,
        signingKey: keys.privateKey,
        extensions: [
          new x509.BasicConstraintsExtension(false, undefined, true),
          new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature | x509.KeyUsageFlags.keyEncipherment, true),
          new x509.ExtendedKeyUsageExtension([x509.ExtendedKeyUsage.serverAuth]),
          new x509.SubjectAlternativeNameExtension([
            ...dnsNames.map((value) => ({ type: 'dns' as const, value })),
            ...ipAddresses.map((value) => ({ type: 'ip' as const, value })),
          ]),
          await x509.SubjectKeyIdentifierExtension.create(leafKeys.publicKey),
          await x509.AuthorityKeyIdentifierExtension.create(keys.publicKey),
        ],
      });
      return { certPem: leaf.toString('pem'), keyPem: await keyToPem(leafKeys.privateKey) };
    },
  };
}

/** DNS names a Service is reached by from inside the cluster (the API server uses `<svc>.<ns>.svc`). */
export function serviceDnsNames(service: string, namespace: string): string[] {
  return [`${service}.${namespace}.svc`, `${service}.${namespace}.svc.cluster.local`, `${service}.${namespace}`, service];
}

/** The Ed25519 pair the tap API signs grants with; sidecars get the public half (base64 raw). */
export function createTapSigningKey(): { privateKeyPem: string; publicKeyBase64: string } {
  const { privateKey, publicKey } = generateKeyPairSync('ed25519');
  const spki = publicKey.export({ format: 'der', type: 'spki' });
  // The raw 32-byte key is the SPKI's tail (12-byte fixed prefix for Ed25519).
  return { privateKeyPem: privateKey.export({ format: 'pem', type: 'pkcs8' }).toString(), publicKeyBase64: spki.subarray(spki.length - 32).toString('base64') };
}
