import { X509Certificate } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { createKeyringRecord, openKeyring } from './keyring.js';
import { createLeafMinter, leafLifetimeMs } from './leaf-certs.js';
import { generateProxyCa, openProxyCa } from './proxy-ca.js';

async function minter(now: () => Date, maxEntries?: number) {
  const master = Buffer.alloc(32, 5);
  const keyring = openKeyring(master, createKeyringRecord(master));
  const ca = openProxyCa(keyring, await generateProxyCa(keyring, now()));
  return { ca, m: createLeafMinter({ caCertPem: ca.certPem, caKeyPem: ca.keyPem, now, ...(maxEntries ? { maxEntries } : {}) }) };
}

describe('leaf certificates', () => {
  it('are ECDSA P-256, signed by the deployment CA, for exactly the host, short-lived', async () => {
    const t0 = new Date('2026-11-23T00:00:00Z');
    const { ca, m } = await minter(() => t0);
    const leaf = await m.leafFor('api.stripe.com');
    const cert = new X509Certificate(leaf.certPem);
    const caCert = new X509Certificate(ca.certPem);
    expect(cert.verify(caCert.publicKey)).toBe(true);
    expect(cert.checkIssued(caCert)).toBe(true);
    expect(cert.ca).toBe(false);
    expect(caCert.ca).toBe(true);
    expect(cert.publicKey.asymmetricKeyDetails?.namedCurve).toBe('prime256v1');
    expect(cert.checkHost('api.stripe.com')).toBe('api.stripe.com');
    expect(cert.checkHost('evil.com')).toBeUndefined();
    expect(cert.checkHost('x.api.stripe.com')).toBeUndefined();
    expect(new Date(cert.validTo).getTime() - t0.getTime()).toBeLessThanOrEqual(leafLifetimeMs);
  });

  it('covers IP literals with an IP SAN', async () => {
    const { m } = await minter(() => new Date());
    const cert = new X509Certificate((await m.leafFor('127.0.0.1')).certPem);
    expect(cert.checkIP('127.0.0.1')).toBe('127.0.0.1');
  });

  it('caches per host, mints once for concurrent requests, renews near expiry and stays bounded', async () => {
    let now = new Date('2026-11-23T00:00:00Z');
    const { m } = await minter(() => now, 3);
    const [a, b] = await Promise.all([m.leafFor('a.example'), m.leafFor('a.example')]);
    expect(a).toBe(b);
    expect(await m.leafFor('a.example')).toBe(a);
    now = new Date(now.getTime() + leafLifetimeMs - 30 * 60 * 1000);
    expect(await m.leafFor('a.example')).not.toBe(a);
    for (const h of ['b.example', 'c.example', 'd.example', 'e.example']) await m.leafFor(h);
    expect(m.size).toBe(3);
  });
});
