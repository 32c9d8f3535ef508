// The deployment CA of the egress proxy: ECDSA P-256, generated once, private key sealed at rest.
import { webcrypto } from 'node:crypto';
import { aesGcmOpen, aesGcmSeal } from './aead.js';
import type { Keyring } from './keyring.js';
import { loadX509 } from './x509.js';

const caAad = Buffer.from('vaultgate/proxy-ca/v1', 'utf8');
const ecdsa = { name: 'ECDSA', namedCurve: 'P-256' } as const;
const validityYears = 10;

export interface SealedCa {
  certPem: string;
  sealedKey: Buffer;
}

export interface OpenedCa {
  certPem: string;
  /** PKCS#8 PEM of the CA private key, for minting leaf certificates. */
  keyPem: string;
}

export async function generateProxyCa(keyring: Keyring, now: Date, commonName = 'Vaultgate deployment CA'): Promise<SealedCa> {
  const x509 = await loadX509();
  const keys = (await webcrypto.subtle.generateKey(ecdsa, true, ['sign', 'verify']));
  const notBefore = new Date(now.getTime() - 60 * 60 * 1000);
  const notAfter = new Date(now.getTime());
  notAfter.setUTCFullYear(notAfter.getUTCFullYear() + validityYears);
  const cert = await x509.X509CertificateGenerator.createSelfSigned({
    serialNumber: Buffer.from(webcrypto.getRandomValues(new Uint8Array(16))).toString('hex').replace(/^[89a-f]/, '1'),
    name: `CN=${commonName}, O=Vaultgate`,
    notBefore,
    notAfter,
    keys,
    signingAlgorithm: { name: 'ECDSA', hash: 'SHA-256' },
    extensions: [
      new x509.BasicConstraintsExtension(true, 0, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign | x509.KeyUsageFlags.digitalSignature, true),
      await x509.SubjectKeyIdentifierExtension.create(keys.publicKey),
    ],
  });
  const pkcs8 = Buffer.from(await webcrypto.subtle.exportKey('pkcs8', keys.privateKey));
  const sealedKey = aesGcmSeal(keyring.caKey, pkcs8, caAad);
  pkcs8.fill(0);
  return { certPem: cert.toString('pem'), sealedKey };
}

export function openProxyCa(keyring: Keyring, sealed: SealedCa): OpenedCa {
  const pkcs8 = aesGcmOpen(keyring.caKey, sealed.sealedKey, caAad);
  const keyPem = `-----BEGIN PRIVATE KEY-----\n${pkcs8.toString('base64').replace(/(.{64})/g, '$1\n').replace(/\n$/, '')}\n-----END PRIVATE KEY-----\n`;
  pkcs8.fill(0);
  return { certPem: sealed.certPem, keyPem };
}
