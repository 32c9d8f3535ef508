// Tests of the keyring: master-key ids, root wrapping, data-key binding, derived keys across rotation.
import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { DecryptError } from './aead.js';
import {
  createKeyringRecord,
  kekIdOf,
  KeyringCorruptError,
  openKeyring,
  rewrapKeyringRecord,
  WrongMasterKeyError,
} from './keyring.js';

const masterA = randomBytes(32);
const masterB = randomBytes(32);

function flipBit(buf: Buffer, index: number): Buffer {
  const copy = Buffer.from(buf);
  copy[index] = (copy[index] ?? 0) ^ 1;
  return copy;
}

describe('kekIdOf', () => {
  it('is stable, distinct per key and reveals no key bytes', () => {
    const id = kekIdOf(masterA);
    expect(id).toMatch(/^mk_[0-9a-f]{16}$/);
    expect(kekIdOf(Buffer.from(masterA))).toBe(id);
    expect(kekIdOf(masterB)).not.toBe(id);
    expect(masterA.toString('hex')).not.toContain(id.slice(3));
  });

  it.each([0, 16, 31, 33])('refuses a %i-byte master key', (n) => {
    expect(() => kekIdOf(randomBytes(n))).toThrow(TypeError);
  });
});

describe('createKeyringRecord / openKeyring', () => {
  it('records the master key id and opens with the same key', () => {
    const record = createKeyringRecord(masterA);
    expect(record.kekId).toBe(kekIdOf(masterA));
    expect(openKeyring(masterA, record).kekId).toBe(record.kekId);
  });

  it('never stores the root in the clear', () => {
    const root = Buffer.alloc(32, 7);
    const record = createKeyringRecord(masterA, () => Buffer.from(root));
    expect(record.wrappedRoot.includes(root)).toBe(false);
  });

  it('derives the same keys from the same root, different keys from another root', () => {
    const root = randomBytes(32);
    const a = openKeyring(masterA, createKeyringRecord(masterA, () => Buffer.from(root)));
    const b = openKeyring(masterB, createKeyringRecord(masterB, () => Buffer.from(root)));
    const c = openKeyring(masterA, createKeyringRecord(masterA));
    expect(a.auditKey.equals(b.auditKey)).toBe(true);
    expect(a.fingerprint('sec_1', 'v')).toBe(b.fingerprint('sec_1', 'v'));
    expect(a.auditKey.equals(c.auditKey)).toBe(false);
    expect(a.placeholderKey.equals(c.placeholderKey)).toBe(false);
  });

  it('refuses the wrong master key with both ids and no key bytes in the message', () => {
    const record = createKeyringRecord(masterA);
    let caught: unknown;
    try {
      openKeyring(masterB, record);
    } catch (err) {
      caught = err;
    }
    expect(caught).toBeInstanceOf(WrongMasterKeyError);
    const message = (caught as Error).message;
    expect(message).toBe(
      `the master key does not match this store (key id ${kekIdOf(masterB)}, store expects ${record.kekId})`,
    );
    for (const key of [masterA, masterB]) {
      expect(message).not.toContain(key.toString('base64'));
      expect(message).not.toContain(key.toString('hex'));
    }
  });

  it.each([
    ['first byte (iv)', 0],
    ['a ciphertext byte', 20],
    ['last byte (tag)', -1],
  ])('reports a corrupt record when the %s of the wrapped root is altered', (_name, index) => {
    const record = createKeyringRecord(masterA);
    const at = index < 0 ? record.wrappedRoot.length + index : index;
    expect(() => openKeyring(masterA, { ...record, wrappedRoot: flipBit(record.wrappedRoot, at) })).toThrow(
      KeyringCorruptError,
    );
  });

  it('reports a corrupt record for a wrapped root that was truncated', () => {
    const record = createKeyringRecord(masterA);
    const wrappedRoot = record.wrappedRoot.subarray(0, record.wrappedRoot.length - 4);
    expect(() => openKeyring(masterA, { ...record, wrappedRoot })).toThrow(KeyringCorruptError);
  });

  it('treats an edited key id in the record as another master key', () => {
    const record = createKeyringRecord(masterA);
    expect(() => openKeyring(masterA, { ...record, kekId: 'mk_0000000000000000' })).toThrow(WrongMasterKeyError);
  });
});

describe('data keys', () => {
  const keyring = openKeyring(masterA, createKeyringRecord(masterA));
  const binding = 'vaultgate/secret/v1|org_1|vlt_1|sec_1|1';

  it('round-trips a data key under its binding', () => {
    const dek = randomBytes(32);
    const wrapped = keyring.wrapDataKey(dek, binding);
    expect(wrapped.includes(dek)).toBe(false);
    expect(keyring.unwrapDataKey(wrapped, keyring.kekId, binding).equals(dek)).toBe(true);
  });

  it.each([
    ['another binding', (w: Buffer) => [w, 'vaultgate/secret/v1|org_1|vlt_1|sec_1|2'] as const],
    ['a flipped iv bit', (w: Buffer) => [flipBit(w, 0), binding] as const],
    ['a flipped ciphertext bit', (w: Buffer) => [flipBit(w, 15), binding] as const],
    ['a flipped tag bit', (w: Buffer) => [flipBit(w, w.length - 1), binding] as const],
    ['a truncated tag', (w: Buffer) => [w.subarray(0, w.length - 4), binding] as const],
  ])('refuses %s', (_name, alter) => {
    const [wrapped, otherBinding] = alter(keyring.wrapDataKey(randomBytes(32), binding));
    expect(() => keyring.unwrapDataKey(wrapped, keyring.kekId, otherBinding)).toThrow(DecryptError);
  });

  it('refuses a data key recorded under another master key id', () => {
    const wrapped = keyring.wrapDataKey(randomBytes(32), binding);
    expect(() => keyring.unwrapDataKey(wrapped, kekIdOf(masterB), binding)).toThrow(WrongMasterKeyError);
  });

  it('cannot be used to unwrap the root, which shares the KEK', () => {
    const record = createKeyringRecord(masterA);
    const ring = openKeyring(masterA, record);
    expect(() => ring.unwrapDataKey(record.wrappedRoot, ring.kekId, 'vaultgate/root/v1')).toThrow(TypeError);
    expect(() => ring.wrapDataKey(randomBytes(32), 'vaultgate/root/v1')).toThrow(TypeError);
    expect(() => ring.wrapDataKey(randomBytes(32), '')).toThrow(TypeError);
  });

  it.each([16, 31, 33])('refuses to wrap a %i-byte data key', (n) => {
    expect(() => keyring.wrapDataKey(randomBytes(n), binding)).toThrow(TypeError);
  });
});

describe('fingerprint', () => {
  const keyring = openKeyring(masterA, createKeyringRecord(masterA));

  it('is stable across calls and keyrings opened from the same record', () => {
    const record = createKeyringRecord(masterA);
    const fp = openKeyring(masterA, record).fingerprint('sec_1', 'hunter2');
    expect(fp).toMatch(/^[0-9a-f]{64}$/);
    expect(openKeyring(masterA, record).fingerprint('sec_1', 'hunter2')).toBe(fp);
  });

  it.each([
    ['another secret id, same value', ['sec_1', 'v'], ['sec_2', 'v']],
    ['another value', ['sec_1', 'v'], ['sec_1', 'w']],
    ['the separator moved between id and value', ['sec_1', 'ab'], ['sec_1a', 'b']],
    ['empty value vs. NUL value', ['sec_1', ''], ['sec_1', '\0']],
  ])('differs for %s', (_name, [idA, valueA], [idB, valueB]) => {
    expect(keyring.fingerprint(idA ?? '', valueA ?? '')).not.toBe(keyring.fingerprint(idB ?? '', valueB ?? ''));
  });

  it('refuses a secret id containing NUL, which would make the input ambiguous', () => {
    expect(() => keyring.fingerprint('sec\0_1', 'v')).toThrow(TypeError);
  });
});

describe('derived keys', () => {
  it('hands out copies, so a caller cannot alter the shared key', () => {
    const keyring = openKeyring(masterA, createKeyringRecord(masterA));
    const before = keyring.auditKey;
    keyring.auditKey.fill(0);
    keyring.placeholderKey.fill(0);
    expect(keyring.auditKey.equals(before)).toBe(true);
    expect(keyring.auditKey.length).toBe(32);
    expect(keyring.placeholderKey.length).toBe(32);
    expect(keyring.auditKey.equals(keyring.placeholderKey)).toBe(false);
  });
});

describe('rewrapKeyringRecord', () => {
  it('moves the same root under the new master key', () => {
    const record = createKeyringRecord(masterA);
    const before = openKeyring(masterA, record);
    const rotated = rewrapKeyringRecord(masterA, masterB, record);
    expect(rotated.kekId).toBe(kekIdOf(masterB));
    const after = openKeyring(masterB, rotated);
    expect(after.fingerprint('sec_1', 'v')).toBe(before.fingerprint('sec_1', 'v'));
    expect(after.auditKey.equals(before.auditKey)).toBe(true);
    expect(after.placeholderKey.equals(before.placeholderKey)).toBe(true);
    expect(() => openKeyring(masterA, rotated)).toThrow(WrongMasterKeyError);
  });

  it('refuses to rotate with the wrong old master key', () => {
    const record = createKeyringRecord(masterA);
    expect(() => rewrapKeyringRecord(masterB, randomBytes(32), record)).toThrow(WrongMasterKeyError);
  });
});
