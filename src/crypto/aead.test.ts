// Tests of AES-256-GCM sealing: round trips, every tamper class, truncated tags, key length.
import { createCipheriv, randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { aesGcmOpen, aesGcmSeal, DecryptError } from './aead.js';

const key = randomBytes(32);
const aad = Buffer.from('vaultgate/test|aad');

function flipBit(buf: Buffer, index: number, bit = 0): Buffer {
  const copy = Buffer.from(buf);
  copy[index] = (copy[index] ?? 0) ^ (1 << bit);
  return copy;
}

describe('aesGcmSeal / aesGcmOpen', () => {
  it.each([
    ['empty', Buffer.alloc(0)],
    ['short', Buffer.from('sk_live_abc')],
    ['binary with NUL', Buffer.from([0, 1, 2, 255, 0])],
    ['64 KiB', randomBytes(65536)],
  ])('round-trips %s plaintext', (_name, plaintext) => {
    const sealed = aesGcmSeal(key, plaintext, aad);
    expect(sealed.length).toBe(12 + plaintext.length + 16);
    expect(aesGcmOpen(key, sealed, aad).equals(plaintext)).toBe(true);
  });

  it('uses a fresh IV per call', () => {
    const plaintext = Buffer.from('same');
    const a = aesGcmSeal(key, plaintext, aad);
    const b = aesGcmSeal(key, plaintext, aad);
    expect(a.subarray(0, 12).equals(b.subarray(0, 12))).toBe(false);
    expect(a.equals(b)).toBe(false);
  });

  const plaintext = Buffer.from('a secret value of some length');
  const sealed = aesGcmSeal(key, plaintext, aad);
  const tagStart = sealed.length - 16;

  it.each([
    ['iv first byte', 0, 0],
    ['iv last byte', 11, 7],
    ['ciphertext first byte', 12, 0],
    ['ciphertext last byte', tagStart - 1, 3],
    ['tag first byte', tagStart, 0],
    ['tag last byte', sealed.length - 1, 7],
  ])('rejects a flipped bit in the %s', (_name, index, bit) => {
    expect(() => aesGcmOpen(key, flipBit(sealed, index, bit), aad)).toThrow(DecryptError);
  });

  it('rejects every single-bit flip anywhere in the sealed buffer', () => {
    for (let i = 0; i < sealed.length; i++) {
      for (let bit = 0; bit < 8; bit++) {
        expect(() => aesGcmOpen(key, flipBit(sealed, i, bit), aad)).toThrow(DecryptError);
      }
    }
  });

  it.each([
    ['wrong aad', key, sealed, Buffer.from('vaultgate/test|other')],
    ['empty aad', key, sealed, Buffer.alloc(0)],
    ['wrong key', randomBytes(32), sealed, aad],
    ['tag truncated by 4 bytes', key, sealed.subarray(0, sealed.length - 4), aad],
    ['cut to 28 bytes', key, sealed.subarray(0, 28), aad],
    ['27 bytes', key, sealed.subarray(0, 27), aad],
    ['iv only', key, sealed.subarray(0, 12), aad],
    ['empty', key, Buffer.alloc(0), aad],
    ['appended byte', key, Buffer.concat([sealed, Buffer.from([0])]), aad],
  ])('rejects %s', (_name, k, s, a) => {
    expect(() => aesGcmOpen(k, s, a)).toThrow(DecryptError);
  });

  it('rejects a 12-byte-tag forgery: a real 96-bit tag truncated from a short-tag encryption', () => {
    // A genuine encryption with a 12-byte tag, presented as if it were ours: only a 128-bit tag is accepted.
    const iv = randomBytes(12);
    const cipher = createCipheriv('aes-256-gcm', key, iv, { authTagLength: 12 });
    cipher.setAAD(aad);
    const body = Buffer.concat([cipher.update(plaintext), cipher.final()]);
    const forged = Buffer.concat([iv, body, cipher.getAuthTag()]);
    expect(cipher.getAuthTag().length).toBe(12);
    expect(() => aesGcmOpen(key, forged, aad)).toThrow(DecryptError);
  });

  it('says nothing beyond "decryption failed"', () => {
    try {
      aesGcmOpen(key, flipBit(sealed, 20), aad);
      expect.unreachable();
    } catch (err) {
      expect(err).toBeInstanceOf(DecryptError);
      expect((err as Error).message).toBe('decryption failed');
      expect((err as Error).cause).toBeUndefined();
    }
  });

  it.each([0, 16, 31, 33, 64])('refuses a %i-byte key with a TypeError', (n) => {
    expect(() => aesGcmSeal(randomBytes(n), plaintext, aad)).toThrow(TypeError);
    expect(() => aesGcmOpen(randomBytes(n), sealed, aad)).toThrow(TypeError);
  });
});
