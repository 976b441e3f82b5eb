import { X509Certificate, createPrivateKey, createPublicKey } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { createCertificateAuthority, createTapSigningKey, serviceDnsNames } from './certs.js';

describe('control plane certificates', () => {
  it('serving certificates chain to the CA and carry the Service DNS SANs', async () => {
    const ca = await createCertificateAuthority('meshtap-ca');
    const leaf = await ca.issueServing(serviceDnsNames('meshtap-webhook', 'meshtap'));
    const caCert = new X509Certificate(ca.certPem);
    const cert = new X509Certificate(leaf.certPem);
    expect(caCert.ca).toBe(true);
    expect(cert.ca).toBe(false);
    expect(cert.verify(caCert.publicKey)).toBe(true);
    expect(cert.checkIssued(caCert)).toBe(true);
    expect(cert.checkHost('meshtap-webhook.meshtap.svc')).toBe('meshtap-webhook.meshtap.svc');
    expect(cert.checkHost('other.meshtap.svc')).toBeUndefined();
    expect(cert.subjectAltName).toContain('DNS:meshtap-webhook.meshtap.svc.cluster.local');
    expect(cert.checkPrivateKey(createPrivateKey(leaf.keyPem))).toBe(true);
    expect(new Date(caCert.validTo).getTime()).toBeGreaterThan(Date.now() + 3000 * 86_400_000);
  });

  it('the tap signing key: raw public half matches the private key', () => {
    const k = createTapSigningKey();
    const raw = Buffer.from(k.publicKeyBase64, 'base64');
    expect(raw).toHaveLength(32);
    const derived = createPublicKey(createPrivateKey(k.privateKeyPem)).export({ format: 'jwk' });
    expect(Buffer.from(derived.x!, 'base64url')).toEqual(raw);
  });
});
