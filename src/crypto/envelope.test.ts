// Tests of per-version envelope encryption: round trips, tamper, rows moved between bindings, rotation.
import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { DecryptError } from './aead.js';
import { accessTokenBindingOf, bindingOf, openAccessToken, openValue, rewrapSealedValue, sealAccessToken, sealValue } from './envelope.js';
import type { SealedValue, SecretBinding } from './envelope.js';
import { createKeyringRecord, openKeyring, rewrapKeyringRecord, WrongMasterKeyError } from './keyring.js';

const masterA = randomBytes(32);
const keyring = openKeyring(masterA, createKeyringRecord(masterA));
const binding: SecretBinding = { orgId: 'org_1', vaultId: 'vlt_1', secretId: 'sec_1', version: 3 };

function flipBit(buf: Buffer, index: number): Buffer {
  const copy = Buffer.from(buf);
  const at = index < 0 ? copy.length + index : index;
  copy[at] = (copy[at] ?? 0) ^ 0x80;
  return copy;
}

describe('bindingOf', () => {
  it('names every field in a fixed order', () => {
    expect(bindingOf(binding)).toBe('vaultgate/secret/v1|org_1|vlt_1|sec_1|3');
  });

  it.each([
    ['orgId with |', { ...binding, orgId: 'org|1' }],
    ['vaultId with |', { ...binding, vaultId: 'vlt_1|sec_1' }],
    ['secretId with |', { ...binding, secretId: 'sec|' }],
    ['empty orgId', { ...binding, orgId: '' }],
    ['empty secretId', { ...binding, secretId: '' }],
    ['version 0', { ...binding, version: 0 }],
    ['fractional version', { ...binding, version: 1.5 }],
    ['NaN version', { ...binding, version: Number.NaN }],
  ])('refuses %s', (_name, b) => {
    expect(() => bindingOf(b)).toThrow(TypeError);
  });
});

describe('sealValue / openValue', () => {
  it.each([
    ['ascii', 'sk_live_51H8xYz'],
    ['empty', ''],
    ['unicode', 'päss wörd 🔑 密码'],
    ['multi-line PEM-ish', '-----BEGIN KEY-----\nabc\n-----END KEY-----\n'],
    ['64 KiB', 'x'.repeat(65536)],
  ])('round-trips a %s value', (_name, value) => {
    const sealed = sealValue(keyring, binding, value);
    expect(sealed.kekId).toBe(keyring.kekId);
    expect(openValue(keyring, binding, sealed)).toBe(value);
  });

  it('uses a fresh data key and IV per call and keeps no plaintext', () => {
    const a = sealValue(keyring, binding, 'same value');
    const b = sealValue(keyring, binding, 'same value');
    expect(a.wrappedKey.equals(b.wrappedKey)).toBe(false);
    expect(a.ciphertext.equals(b.ciphertext)).toBe(false);
    expect(a.ciphertext.includes(Buffer.from('same value'))).toBe(false);
  });

  const sealed = sealValue(keyring, binding, 'the real value');
  const tamper: [string, (s: SealedValue) => SealedValue][] = [
    ['wrapped key iv', (s) => ({ ...s, wrappedKey: flipBit(s.wrappedKey, 0) })],
    ['wrapped key body', (s) => ({ ...s, wrappedKey: flipBit(s.wrappedKey, 20) })],
    ['wrapped key tag', (s) => ({ ...s, wrappedKey: flipBit(s.wrappedKey, -1) })],
    ['ciphertext iv', (s) => ({ ...s, ciphertext: flipBit(s.ciphertext, 5) })],
    ['ciphertext body', (s) => ({ ...s, ciphertext: flipBit(s.ciphertext, 12) })],
    ['ciphertext tag', (s) => ({ ...s, ciphertext: flipBit(s.ciphertext, -16) })],
    ['ciphertext tag truncated', (s) => ({ ...s, ciphertext: s.ciphertext.subarray(0, s.ciphertext.length - 4) })],
    ['wrapped key tag truncated', (s) => ({ ...s, wrappedKey: s.wrappedKey.subarray(0, s.wrappedKey.length - 4) })],
    ['ciphertext of another value', (s) => ({ ...s, ciphertext: sealValue(keyring, binding, 'other').ciphertext })],
    ['wrapped key of another value', (s) => ({ ...s, wrappedKey: sealValue(keyring, binding, 'other').wrappedKey })],
  ];
  it.each(tamper)('refuses a tampered %s', (_name, alter) => {
    expect(() => openValue(keyring, binding, alter(sealed))).toThrow(DecryptError);
  });

  it.each([
    ['another secret id', { ...binding, secretId: 'sec_2' }],
    ['another vault id', { ...binding, vaultId: 'vlt_2' }],
    ['another org id', { ...binding, orgId: 'org_2' }],
    ['another version', { ...binding, version: 4 }],
  ])('refuses a row copied to %s', (_name, other) => {
    expect(() => openValue(keyring, other, sealed)).toThrow(DecryptError);
  });

  it('refuses a row whose data key was re-wrapped for another binding but whose ciphertext was not', () => {
    // The value's own AAD must hold on its own, not only through the wrapped key.
    const other = { ...binding, secretId: 'sec_2' };
    const dek = keyring.unwrapDataKey(sealed.wrappedKey, sealed.kekId, bindingOf(binding));
    const moved = { ...sealed, wrappedKey: keyring.wrapDataKey(dek, bindingOf(other)) };
    expect(() => openValue(keyring, other, moved)).toThrow(DecryptError);
  });
});

describe('master-key rotation', () => {
  it('keeps values readable under the new master key and unreadable under the old one', () => {
    const oldMaster = randomBytes(32);
    const newMaster = randomBytes(32);
    const record = createKeyringRecord(oldMaster);
    const from = openKeyring(oldMaster, record);
    const rows = [1, 2, 3].map((version) => {
      const b = { ...binding, version };
      return { b, value: `value v${version}`, sealed: sealValue(from, b, `value v${version}`) };
    });
    const fingerprint = from.fingerprint('sec_1', 'value v1');
    const { auditKey, placeholderKey } = from;

    const rotated = rewrapKeyringRecord(oldMaster, newMaster, record);
    const to = openKeyring(newMaster, rotated);
    for (const row of rows) {
      const moved = rewrapSealedValue(from, to, row.b, row.sealed);
      expect(moved.kekId).toBe(to.kekId);
      expect(moved.ciphertext.equals(row.sealed.ciphertext)).toBe(true);
      expect(openValue(to, row.b, moved)).toBe(row.value);
      expect(() => openValue(from, row.b, moved)).toThrow(WrongMasterKeyError);
      // A resumed rotation finds the row already moved and leaves it alone.
      expect(rewrapSealedValue(from, to, row.b, moved)).toBe(moved);
    }
    expect(() => openKeyring(oldMaster, rotated)).toThrow(WrongMasterKeyError);
    expect(to.fingerprint('sec_1', 'value v1')).toBe(fingerprint);
    expect(to.auditKey.equals(auditKey)).toBe(true);
    expect(to.placeholderKey.equals(placeholderKey)).toBe(true);
  });

  it('does not rewrap a row for another binding', () => {
    const newMaster = randomBytes(32);
    const to = openKeyring(newMaster, createKeyringRecord(newMaster));
    const sealed = sealValue(keyring, binding, 'v');
    expect(() => rewrapSealedValue(keyring, to, { ...binding, version: 9 }, sealed)).toThrow(DecryptError);
  });
});

describe('sealAccessToken / openAccessToken', () => {
  it('round-trips under its own namespace', () => {
    expect(accessTokenBindingOf(binding)).toBe('vaultgate/oauth2-access-token/v1|org_1|vlt_1|sec_1|3');
    expect(openAccessToken(keyring, binding, sealAccessToken(keyring, binding, 'at-1'))).toBe('at-1');
  });

  it('cannot be opened as a value of the same version, nor a value as a token', () => {
    expect(() => openValue(keyring, binding, sealAccessToken(keyring, binding, 'at-1'))).toThrow(DecryptError);
    expect(() => openAccessToken(keyring, binding, sealValue(keyring, binding, '{"token_url":"x"}'))).toThrow(DecryptError);
  });

  it('cannot be moved onto another secret or version', () => {
    const sealed = sealAccessToken(keyring, binding, 'at-1');
    expect(() => openAccessToken(keyring, { ...binding, version: 4 }, sealed)).toThrow(DecryptError);
    expect(() => openAccessToken(keyring, { ...binding, secretId: 'sec_2' }, sealed)).toThrow(DecryptError);
  });
});
