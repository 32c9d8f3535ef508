// A refresh token rotated by the token endpoint, kept as a new version of its oauth2 secret.
import { VaultError } from '../contract/errors.js';
import { sealValue } from '../crypto/envelope.js';
import type { Keyring } from '../crypto/keyring.js';
import type { Store } from '../storage/store.js';
import type { SecretRow } from '../storage/types.js';
import { draftEvent, type Caller, type ServiceDeps } from './context.js';
import { parseOAuth2Value, serializeOAuth2Value } from '../core/oauth2-value.js';
import { bindingOf, openVersion } from './secret-values.js';

export interface RotationDeps extends ServiceDeps {
  store: Pick<Store, 'getSecret' | 'getSecretVersion' | 'putSecretVersion'>;
  keyring: Keyring;
}

export const rotationReason = 'oauth2_refresh_token_rotated';

// The endpoint has most likely retired the old refresh token already: losing the new one would
// leave the secret unusable, so a lost compare-and-swap is retried (longer than an operator's edit).
const maxCasRetries = 50;
const backoff = (attempt: number) => new Promise((resolve) => setTimeout(resolve, Math.random() * Math.min(100, 2 ** attempt)));

/**
 * Stores `next` in place of `used` as a new version of `base`'s secret (other fields unchanged),
 * audited as `secret.updated` by `system`; returns the new row. Returns null when the operator
 * replaced the refresh token meanwhile: their credential wins, and a token obtained with the old
 * one must not be kept for it.
 */
export async function storeRotatedRefreshToken(deps: RotationDeps, base: SecretRow, used: string, next: string): Promise<SecretRow | null> {
  const { store, keyring } = deps;
  const caller: Caller = { orgId: base.org_id, actor: 'system', requestId: null, sourceIp: null };
  let current: SecretRow | null = base;
  for (let attempt = 0; attempt < maxCasRetries; attempt++) {
    if (!current) throw new VaultError('secret_not_found');
    const version = await store.getSecretVersion(current.org_id, current.id, current.version);
    if (!version) throw new VaultError('internal', 'current secret version is missing');
    const value = parseOAuth2Value(openVersion(keyring, current, version));
    if (value.refresh_token !== used) return null;

    const row: SecretRow = { ...current, version: current.version + 1, updated_at: deps.clock.now().toISOString() };
    const text = serializeOAuth2Value({ ...value, refresh_token: next });
    const sealed = sealValue(keyring, bindingOf(row), text);
    const audit = [
      draftEvent(deps, caller, 'secret.updated', {
        vault_id: row.vault_id,
        secret_id: row.id,
        details: { env_key: row.env_key, version: row.version, changed: ['value'], reason: rotationReason },
      }),
    ];
    // The new version row repeats the current one's metadata: only the value changed.
    const versionRow = {
      ...version,
      version: row.version,
      created_at: row.updated_at,
      actor: caller.actor,
      changed: ['value'],
      kek_id: sealed.kekId,
      wrapped_key: sealed.wrappedKey,
      ciphertext: sealed.ciphertext,
      fingerprint: keyring.fingerprint(row.id, text),
    };
    const result = await store.putSecretVersion(row.org_id, row.id, current.version, { row, version: versionRow }, audit);
    if (result.ok) return row;
    if (result.reason === 'not_found') throw new VaultError('secret_not_found');
    await backoff(attempt);
    current = await store.getSecret(base.org_id, base.id);
  }
  throw new VaultError('unavailable', 'the rotated refresh token could not be stored: the secret is changing too often');
}
