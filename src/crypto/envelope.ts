// Envelope encryption of one secret version: a fresh data key, bound to its row, wrapped by the keyring.
import { randomBytes } from 'node:crypto';
import { aesGcmOpen, aesGcmSeal } from './aead.js';
import type { Keyring } from './keyring.js';

export interface SecretBinding {
  orgId: string;
  vaultId: string;
  secretId: string;
  version: number;
}

/** What the store keeps for one secret version. `ciphertext` is `iv ‖ ciphertext ‖ tag`. */
export interface SealedValue {
  kekId: string;
  wrappedKey: Buffer;
  ciphertext: Buffer;
}

function assertId(name: string, id: string): void {
  // `|` separates the fields: an id containing it could make two rows share associated data.
  if (typeof id !== 'string' || id.length === 0 || id.includes('|')) {
    throw new TypeError(`${name} must be a non-empty string without '|'`);
  }
}

function boundTo(purpose: string, b: SecretBinding): string {
  assertId('orgId', b.orgId);
  assertId('vaultId', b.vaultId);
  assertId('secretId', b.secretId);
  if (!Number.isSafeInteger(b.version) || b.version < 1) throw new TypeError('version must be a positive integer');
  return `vaultgate/${purpose}/v1|${b.orgId}|${b.vaultId}|${b.secretId}|${b.version}`;
}

/** The associated data that ties a ciphertext to exactly one org, vault, secret and version. */
export function bindingOf(b: SecretBinding): string {
  return boundTo('secret', b);
}

/**
 * The associated data of an OAuth2 access token cached for one secret version. Its own namespace:
 * a token row cannot be opened as a value (nor a value row as a token), even of the same version.
 */
export function accessTokenBindingOf(b: SecretBinding): string {
  return boundTo('oauth2-access-token', b);
}

export function sealValue(keyring: Keyring, binding: SecretBinding, plaintext: string): SealedValue {
  return sealBound(keyring, bindingOf(binding), plaintext);
}

/** Throws `DecryptError` if any part was altered or the row belongs to another binding. */
export function openValue(keyring: Keyring, binding: SecretBinding, sealed: SealedValue): string {
  return openBound(keyring, bindingOf(binding), sealed);
}

export function sealAccessToken(keyring: Keyring, binding: SecretBinding, token: string): SealedValue {
  return sealBound(keyring, accessTokenBindingOf(binding), token);
}

/** Throws `DecryptError` if any part was altered or the row belongs to another binding or purpose. */
export function openAccessToken(keyring: Keyring, binding: SecretBinding, sealed: SealedValue): string {
  return openBound(keyring, accessTokenBindingOf(binding), sealed);
}

function sealBound(keyring: Keyring, bound: string, plaintext: string): SealedValue {
  const dek = randomBytes(32);
  const clear = Buffer.from(plaintext, 'utf8');
  try {
    const ciphertext = aesGcmSeal(dek, clear, Buffer.from(bound, 'utf8'));
    return { kekId: keyring.kekId, wrappedKey: keyring.wrapDataKey(dek, bound), ciphertext };
  } finally {
    dek.fill(0);
    clear.fill(0);
  }
}

function openBound(keyring: Keyring, bound: string, sealed: SealedValue): string {
  const dek = keyring.unwrapDataKey(sealed.wrappedKey, sealed.kekId, bound);
  try {
    const clear = aesGcmOpen(dek, sealed.ciphertext, Buffer.from(bound, 'utf8'));
    const value = clear.toString('utf8');
    clear.fill(0);
    return value;
  } finally {
    dek.fill(0);
  }
}

/** Master-key rotation, step two (per row): the data key moves from `from` to `to`; ciphertext unchanged. */
export function rewrapSealedValue(
  from: Keyring,
  to: Keyring,
  binding: SecretBinding,
  sealed: SealedValue,
): SealedValue {
  const bound = bindingOf(binding);
  // Already moved by an earlier, interrupted run of the rotation: nothing to do.
  if (sealed.kekId === to.kekId) return sealed;
  const dek = from.unwrapDataKey(sealed.wrappedKey, sealed.kekId, bound);
  try {
    return { kekId: to.kekId, wrappedKey: to.wrapDataKey(dek, bound), ciphertext: sealed.ciphertext };
  } finally {
    dek.fill(0);
  }
}
