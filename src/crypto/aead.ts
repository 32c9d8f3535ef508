// AES-256-GCM sealing: a fresh random 96-bit IV per message and an enforced 128-bit tag.
import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';

const KEY_BYTES = 32;
const IV_BYTES = 12;
const TAG_BYTES = 16;

/** Any failure to open a sealed buffer; deliberately says nothing about which check failed. */
export class DecryptError extends Error {
  constructor() {
    super('decryption failed');
    this.name = 'DecryptError';
  }
}

function assertKey(key: Buffer): void {
  // A wrong-length key is a programming error, not an attacker-controlled input: fail loudly.
  if (!Buffer.isBuffer(key) || key.length !== KEY_BYTES) {
    throw new TypeError('AES-256-GCM key must be exactly 32 bytes');
  }
}

/** Returns `iv(12) ‖ ciphertext ‖ tag(16)`. */
export function aesGcmSeal(key: Buffer, plaintext: Buffer, aad: Buffer): Buffer {
  assertKey(key);
  const iv = randomBytes(IV_BYTES);
  const cipher = createCipheriv('aes-256-gcm', key, iv, { authTagLength: TAG_BYTES });
  cipher.setAAD(aad);
  const body = Buffer.concat([cipher.update(plaintext), cipher.final()]);
  return Buffer.concat([iv, body, cipher.getAuthTag()]);
}

/** Opens the output of `aesGcmSeal`; throws `DecryptError` on any mismatch of key, aad or bytes. */
export function aesGcmOpen(key: Buffer, sealed: Buffer, aad: Buffer): Buffer {
  assertKey(key);
  // Shorter than iv + full tag means a truncated tag: GCM would otherwise accept short tags.
  if (!Buffer.isBuffer(sealed) || sealed.length < IV_BYTES + TAG_BYTES) throw new DecryptError();
  const iv = sealed.subarray(0, IV_BYTES);
  const body = sealed.subarray(IV_BYTES, sealed.length - TAG_BYTES);
  const tag = sealed.subarray(sealed.length - TAG_BYTES);
  try {
    const decipher = createDecipheriv('aes-256-gcm', key, iv, { authTagLength: TAG_BYTES });
    decipher.setAAD(aad);
    decipher.setAuthTag(tag);
    return Buffer.concat([decipher.update(body), decipher.final()]);
  } catch {
    // The cause is dropped on purpose: OpenSSL's messages are of no use to a caller or an attacker.
    throw new DecryptError();
  }
}
