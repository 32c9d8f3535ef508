// The keyring: master key → KEK (wraps data keys and the root), root → keys that survive rotation.
import { createHmac, hkdfSync, randomBytes as cryptoRandomBytes } from 'node:crypto';
import { aesGcmOpen, aesGcmSeal, DecryptError } from './aead.js';

const KEY_BYTES = 32;
const ROOT_AAD_PREFIX = 'vaultgate/root/';

/** What the store keeps about the keyring: the root, wrapped under the KEK named by `kekId`. */
export interface KeyringRecord {
  kekId: string;
  wrappedRoot: Buffer;
}

export interface Keyring {
  /** Id of the master key this keyring was opened with; recorded beside every wrapped data key. */
  readonly kekId: string;
  wrapDataKey(dek: Buffer, binding: string): Buffer;
  /** Throws `WrongMasterKeyError` if `kekId` is another master key's, `DecryptError` on tamper. */
  unwrapDataKey(wrapped: Buffer, kekId: string, binding: string): Buffer;
  /** Hex HMAC of a value: tells whether a value changed without decrypting the old one. */
  fingerprint(secretId: string, value: string): string;
  /** Key of the audit hash chain (a fresh copy per read). */
  readonly auditKey: Buffer;
  /** Key placeholders are derived from (a fresh copy per read). */
  readonly placeholderKey: Buffer;
  /** Key that seals the deployment CA's private key; from the root, so it survives master-key rotation. */
  readonly caKey: Buffer;
}

/** The master key given is not the one the store was created (or last rotated) with. */
export class WrongMasterKeyError extends Error {
  readonly keyId: string;
  readonly expectedKeyId: string;

  constructor(keyId: string, expectedKeyId: string) {
    super(`the master key does not match this store (key id ${keyId}, store expects ${expectedKeyId})`);
    this.name = 'WrongMasterKeyError';
    this.keyId = keyId;
    this.expectedKeyId = expectedKeyId;
  }
}

/** The master key id matches but the wrapped root does not open: the record was damaged or edited. */
export class KeyringCorruptError extends Error {
  constructor(kekId: string) {
    super(`the keyring record for key id ${kekId} cannot be decrypted: the store's keyring is corrupt`);
    this.name = 'KeyringCorruptError';
  }
}

function hkdf(ikm: Buffer, info: string): Buffer {
  return Buffer.from(hkdfSync('sha256', ikm, Buffer.alloc(0), info, KEY_BYTES));
}

function assertMasterKey(masterKey: Buffer): void {
  if (!Buffer.isBuffer(masterKey) || masterKey.length !== KEY_BYTES) {
    throw new TypeError('master key must be exactly 32 bytes');
  }
}

/** A stable, non-reversible name for a master key, safe to store and print. */
export function kekIdOf(masterKey: Buffer): string {
  assertMasterKey(masterKey);
  const idKey = hkdf(masterKey, 'vaultgate kek-id v1');
  const id = createHmac('sha256', idKey).update('vaultgate kek-id').digest('hex').slice(0, 16);
  idKey.fill(0);
  return `mk_${id}`;
}

function deriveKek(masterKey: Buffer): Buffer {
  return hkdf(masterKey, 'vaultgate kek v1');
}

function rootAad(kekId: string): Buffer {
  return Buffer.from(`${ROOT_AAD_PREFIX}v1|${kekId}`, 'utf8');
}

function sealRoot(masterKey: Buffer, root: Buffer): KeyringRecord {
  const kekId = kekIdOf(masterKey);
  const kek = deriveKek(masterKey);
  try {
    return { kekId, wrappedRoot: aesGcmSeal(kek, root, rootAad(kekId)) };
  } finally {
    kek.fill(0);
  }
}

function openRoot(masterKey: Buffer, record: KeyringRecord): Buffer {
  const kekId = kekIdOf(masterKey);
  if (kekId !== record.kekId) throw new WrongMasterKeyError(kekId, record.kekId);
  const kek = deriveKek(masterKey);
  try {
    const root = aesGcmOpen(kek, record.wrappedRoot, rootAad(kekId));
    if (root.length !== KEY_BYTES) throw new KeyringCorruptError(kekId);
    return root;
  } catch (err) {
    if (err instanceof DecryptError) throw new KeyringCorruptError(kekId);
    throw err;
  } finally {
    kek.fill(0);
  }
}

/** Once per deployment: a random root, wrapped under the master key's KEK. */
export function createKeyringRecord(
  masterKey: Buffer,
  randomBytes: (n: number) => Buffer = cryptoRandomBytes,
): KeyringRecord {
  assertMasterKey(masterKey);
  const root = randomBytes(KEY_BYTES);
  if (root.length !== KEY_BYTES) throw new TypeError('randomBytes returned the wrong length');
  try {
    return sealRoot(masterKey, root);
  } finally {
    root.fill(0);
  }
}

/** Master-key rotation, step one: the same root under the new master key. */
export function rewrapKeyringRecord(oldMaster: Buffer, newMaster: Buffer, record: KeyringRecord): KeyringRecord {
  assertMasterKey(newMaster);
  const root = openRoot(oldMaster, record);
  try {
    return sealRoot(newMaster, root);
  } finally {
    root.fill(0);
  }
}

function dataKeyAad(binding: string, kekId: string): Buffer {
  // The root's wrap shares the KEK; a binding in its namespace could be used to unwrap the root.
  if (binding.length === 0 || binding.startsWith(ROOT_AAD_PREFIX)) {
    throw new TypeError('invalid data-key binding');
  }
  return Buffer.from(`${binding}|${kekId}`, 'utf8');
}

export function openKeyring(masterKey: Buffer, record: KeyringRecord): Keyring {
  const root = openRoot(masterKey, record);
  const kekId = record.kekId;
  const kek = deriveKek(masterKey);
  const fingerprintKey = hkdf(root, 'vaultgate fingerprint v1');
  const auditKey = hkdf(root, 'vaultgate audit v1');
  const placeholderKey = hkdf(root, 'vaultgate placeholder v1');
  const caKey = hkdf(root, 'vaultgate proxy ca v1');
  root.fill(0);

  return {
    kekId,
    wrapDataKey(dek, binding) {
      if (!Buffer.isBuffer(dek) || dek.length !== KEY_BYTES) throw new TypeError('data key must be exactly 32 bytes');
      return aesGcmSeal(kek, dek, dataKeyAad(binding, kekId));
    },
    unwrapDataKey(wrapped, wrappedKekId, binding) {
      if (wrappedKekId !== kekId) throw new WrongMasterKeyError(kekId, wrappedKekId);
      const dek = aesGcmOpen(kek, wrapped, dataKeyAad(binding, kekId));
      if (dek.length !== KEY_BYTES) throw new DecryptError();
      return dek;
    },
    fingerprint(secretId, value) {
      // The NUL separator keeps (id, value) pairs unambiguous, so ids must not contain it.
      if (secretId.includes('\0')) throw new TypeError('secret id must not contain NUL');
      return createHmac('sha256', fingerprintKey)
        .update(Buffer.from(secretId, 'utf8'))
        .update(Buffer.from([0]))
        .update(Buffer.from(value, 'utf8'))
        .digest('hex');
    },
    // Copies, so no caller can alter (or zero) the keys every other caller relies on.
    get auditKey() {
      return Buffer.from(auditKey);
    },
    get placeholderKey() {
      return Buffer.from(placeholderKey);
    },
    get caKey() {
      return Buffer.from(caKey);
    },
  };
}
