// Throwaway test PKI for the proxy scenario: a CA and one leaf for the upstream's host name,
// generated in-process (ECDSA P-256, @peculiar/x509 over node:crypto's WebCrypto) into a temp dir.
import { webcrypto } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import * as x509 from '@peculiar/x509';

x509.cryptoProvider.set(webcrypto);
const alg = { name: 'ECDSA', namedCurve: 'P-256', hash: 'SHA-256' };
const day = 86_400_000;

const pem = (der, label) =>
  `-----BEGIN ${label}-----\n${Buffer.from(der).toString('base64').replace(/(.{64})/g, '$1\n').replace(/\n$/, '')}\n-----END ${label}-----\n`;

/** Writes ca.pem, leaf.pem and leaf-key.pem into `dir`; returns their paths and the CA PEM. */
export async function makeTestPki(dir, hostNames) {
  const caKeys = await webcrypto.subtle.generateKey(alg, true, ['sign', 'verify']);
  const ca = await x509.X509CertificateGenerator.createSelfSigned({
    serialNumber: '01',
    name: 'CN=vaultgate bench upstream CA',
    notBefore: new Date(Date.now() - day),
    notAfter: new Date(Date.now() + 2 * day),
    keys: caKeys,
    signingAlgorithm: alg,
    extensions: [
      new x509.BasicConstraintsExtension(true, undefined, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign, true),
      await x509.SubjectKeyIdentifierExtension.create(caKeys.publicKey),
    ],
  });
  const leafKeys = await webcrypto.subtle.generateKey(alg, true, ['sign', 'verify']);
  const leaf = await x509.X509CertificateGenerator.create({
    serialNumber: '02',
    subject: `CN=${hostNames[0]}`,
    issuer: ca.subject,
    notBefore: new Date(Date.now() - day),
    notAfter: new Date(Date.now() + 2 * day),
    publicKey: leafKeys.publicKey,
    signingKey: caKeys.privateKey,
    signingAlgorithm: alg,
    extensions: [
      new x509.BasicConstraintsExtension(false, undefined, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature, true),
      new x509.ExtendedKeyUsageExtension([x509.ExtendedKeyUsage.serverAuth]),
      new x509.SubjectAlternativeNameExtension(hostNames.map((value) => ({ type: 'dns', value }))),
    ],
  });
  const caPem = ca.toString('pem');
  const files = { caFile: join(dir, 'ca.pem'), certFile: join(dir, 'leaf.pem'), keyFile: join(dir, 'leaf-key.pem') };
  writeFileSync(files.caFile, caPem);
  writeFileSync(files.certFile, leaf.toString('pem'));
  writeFileSync(files.keyFile, pem(await webcrypto.subtle.exportKey('pkcs8', leafKeys.privateKey), 'PRIVATE KEY'), { mode: 0o600 });
  return { ...files, caPem };
}
