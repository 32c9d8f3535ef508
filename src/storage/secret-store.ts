// The secrets half of the Store: orgs, API keys, vaults, secrets and their versions, re-wrapping.
import type {
  ApiKeyRow,
  AuditDraft,
  KeyringRow,
  OrgRow,
  Page,
  RewrapResult,
  SecretRow,
  SecretUpdate,
  SecretVersionMeta,
  SecretVersionRow,
  SecretWrite,
  VaultDelete,
  VaultRow,
  VaultWithCount,
  WrappedKeyRef,
} from './types.js';

export interface SecretStore {
  getDefaultOrg(): Promise<OrgRow | null>;
  /** Creates an org with its first API key; the name is unique ('org_name_exists' on conflict). */
  createOrg(org: OrgRow, key: ApiKeyRow, audit: AuditDraft[]): Promise<{ ok: true } | { ok: false; reason: 'org_name_exists' }>;
  findOrgByName(name: string): Promise<OrgRow | null>;
  findApiKeyByHash(hash: string): Promise<ApiKeyRow | null>;
  createApiKey(key: ApiKeyRow, audit: AuditDraft[]): Promise<void>;
  revokeApiKey(keyId: string, revokedAt: string, audit: (key: ApiKeyRow) => AuditDraft[]): Promise<ApiKeyRow | null>;

  createVault(row: VaultRow, audit: AuditDraft[]): Promise<{ ok: true } | { ok: false; reason: 'vault_name_exists' }>;
  listVaults(orgId: string, page: Page): Promise<VaultWithCount[]>;
  getVault(orgId: string, vaultId: string): Promise<VaultWithCount | null>;
  findVaultByName(orgId: string, name: string): Promise<VaultWithCount | null>;
  /** Existence only: cheaper than getVault, which counts the vault's secrets. */
  vaultExists(orgId: string, vaultId: string): Promise<boolean>;
  updateVault(
    orgId: string,
    vaultId: string,
    patch: { name?: string; description?: string | null; updated_at: string },
    audit: AuditDraft[],
  ): Promise<{ ok: true; vault: VaultWithCount } | { ok: false; reason: 'not_found' | 'vault_name_exists' }>;
  /** `audit` is given the vault and the secrets that go with it, so each deletion is recorded. */
  deleteVault(orgId: string, vaultId: string, audit: (vault: VaultRow, secrets: { id: string; env_key: string }[]) => AuditDraft[]): Promise<VaultDelete>;

  createSecret(row: SecretRow, version: SecretVersionRow, audit: AuditDraft[]): Promise<SecretWrite>;
  /** null when the vault does not exist in this org. */
  listSecrets(orgId: string, vaultId: string, filter: { labels: [string, string][]; page: Page }): Promise<SecretRow[] | null>;
  getSecret(orgId: string, secretId: string): Promise<SecretRow | null>;
  getSecretVersion(orgId: string, secretId: string, version: number): Promise<SecretVersionRow | null>;
  /** Compare-and-swap on `baseVersion`: the new version row becomes current only if nothing changed meanwhile. */
  putSecretVersion(
    orgId: string,
    secretId: string,
    baseVersion: number,
    next: { row: SecretRow; version: SecretVersionRow },
    audit: AuditDraft[],
  ): Promise<SecretUpdate>;
  deleteSecret(orgId: string, secretId: string, expectedVersion: number | null, audit: AuditDraft[]): Promise<SecretUpdate>;
  listSecretVersions(orgId: string, secretId: string): Promise<SecretVersionMeta[] | null>;

  /**
   * Master-key rotation: re-wrap every data key and the keyring in one transaction; refused, with
   * nothing changed, while a node's heartbeat is later than `liveSince` (that node serves the store).
   */
  rewrapAll(next: KeyringRow, rewrap: (ref: WrappedKeyRef) => Buffer, audit: AuditDraft[], liveSince: string): Promise<RewrapResult>;
}
