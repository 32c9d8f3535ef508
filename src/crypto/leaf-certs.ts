// Leaf certificates for TLS interception: ECDSA P-256, short-lived, minted per host from the deployment CA.
import { webcrypto } from 'node:crypto';
import { isIP } from 'node:net';
import type { X509Certificate } from '@peculiar/x509';
import { loadX509 } from './x509.js';

const ecdsa = { name: 'ECDSA', namedCurve: 'P-256' } as const;
const signing = { name: 'ECDSA', hash: 'SHA-256' } as const;
export const leafLifetimeMs = 24 * 60 * 60 * 1000;
/** Minted certificates are replaced this long before they expire. */
const renewBeforeMs = 60 * 60 * 1000;

export interface LeafCert {
  host: string;
  certPem: string;
  keyPem: string;
  notAfter: Date;
}

export interface LeafMinterOptions {
  caCertPem: string;
  caKeyPem: string;
  now: () => Date;
  /** Most hosts kept at once; the least recently used is dropped first. */
  maxEntries?: number;
}

function pemBody(pem: string): ArrayBuffer {
  const b64 = pem.replace(/-----[^-]+-----/g, '').replace(/\s+/g, '');
  const buf = Buffer.from(b64, 'base64');
  return buf.buffer.slice(buf.byteOffset, buf.byteOffset + buf.byteLength);
}

function toPem(der: ArrayBuffer, label: string): string {
  const b64 = Buffer.from(der).toString('base64').replace(/(.{64})/g, '$1\n').replace(/\n$/, '');
  return `-----BEGIN ${label}-----\n${b64}\n-----END ${label}-----\n`;
}

export function createLeafMinter(opts: LeafMinterOptions) {
  const maxEntries = opts.maxEntries ?? 1000;
  let caCert: Promise<X509Certificate> | undefined;
  const caKey = webcrypto.subtle.importKey('pkcs8', pemBody(opts.caKeyPem), ecdsa, false, ['sign']);
  // Promises are cached so concurrent handshakes for one host mint once.
  const cache = new Map<string, Promise<LeafCert>>();

  async function mint(host: string): Promise<LeafCert> {
    const x509 = await loadX509();
    caCert ??= Promise.resolve(new x509.X509Certificate(opts.caCertPem));
    const issuer = await caCert;
    const keys = (await webcrypto.subtle.generateKey(ecdsa, true, ['sign', 'verify']));
    const now = opts.now();
    const notBefore = new Date(now.getTime() - 5 * 60 * 1000);
    const notAfter = new Date(now.getTime() + leafLifetimeMs);
    const san = isIP(host) ? { type: 'ip' as const, value: host } : { type: 'dns' as const, value: host };
    const cert = await x509.X509CertificateGenerator.create({
      serialNumber: Buffer.from(webcrypto.getRandomValues(new Uint8Array(16))).toString('hex').replace(/^[89a-f]/, '1'),
      subject: `CN=${isIP(host) ? 'vaultgate-ip' : host}`,
      issuer: issuer.subject,
      notBefore,
      notAfter,
      publicKey: keys.publicKey,
      signingKey: await caKey,
      signingAlgorithm: signing,
      extensions: [
        new x509.BasicConstraintsExtension(false, undefined, true),
        new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature, true),
        new x509.ExtendedKeyUsageExtension([x509.ExtendedKeyUsage.serverAuth]),
        new x509.SubjectAlternativeNameExtension([san]),
        await x509.AuthorityKeyIdentifierExtension.create(issuer),
      ],
    });
    const keyPem = toPem(await webcrypto.subtle.exportKey('pkcs8', keys.privateKey), 'PRIVATE KEY');
    return { host, certPem: cert.toString('pem'), keyPem, notAfter };
  }

  return {
    /** A valid leaf for `host` (lowercase ASCII name or IP literal), from cache when fresh. */
    async leafFor(host: string): Promise<LeafCert> {
      const cached = cache.get(host);
      if (cached) {
        const leaf = await cached.catch(() => null);
        if (leaf && leaf.notAfter.getTime() - renewBeforeMs > opts.now().getTime()) {
          cache.delete(host);
          cache.set(host, cached);
          return leaf;
        }
        cache.delete(host);
      }
      const pending = mint(host);
      cache.set(host, pending);
      pending.catch(() => cache.delete(host));
      while (cache.size > maxEntries) {
        const oldest = cache.keys().next().value;
        if (oldest === undefined) break;
        cache.delete(oldest);
      }
      return pending;
    },
    get size() {
      return cache.size;
    },
  };
}

export type LeafMinter = ReturnType<typeof createLeafMinter>;
