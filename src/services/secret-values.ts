// Opening a secret's stored value: the one place that maps store rows to the envelope's binding.
import { VaultError } from '../contract/errors.js';
import { openValue, type SealedValue, type SecretBinding } from '../crypto/envelope.js';
import type { Keyring } from '../crypto/keyring.js';
import type { Store } from '../storage/store.js';
import type { SecretRow, SecretVersionRow } from '../storage/types.js';

export function bindingOf(row: SecretRow, version: number = row.version): SecretBinding {
  return { orgId: row.org_id, vaultId: row.vault_id, secretId: row.id, version };
}

export function sealedOf(v: Pick<SecretVersionRow, 'kek_id' | 'wrapped_key' | 'ciphertext'>): SealedValue {
  return { kekId: v.kek_id, wrappedKey: v.wrapped_key, ciphertext: v.ciphertext };
}

/** The value of `row`'s version row `version` (which must be the row's current version). */
export function openVersion(keyring: Keyring, row: SecretRow, version: Pick<SecretVersionRow, 'kek_id' | 'wrapped_key' | 'ciphertext'>): string {
  return openValue(keyring, bindingOf(row), sealedOf(version));
}

/** Reads the current version of `row` from the store and opens it. */
export async function currentValue(store: Pick<Store, 'getSecretVersion'>, keyring: Keyring, row: SecretRow): Promise<string> {
  const version = await store.getSecretVersion(row.org_id, row.id, row.version);
  if (!version) throw new VaultError('internal', 'current secret version is missing');
  return openVersion(keyring, row, version);
}
