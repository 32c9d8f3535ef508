// The Store interface: every method is one atomic operation, audit appends included.
import type { AuditEvent, InjectSurface } from '../contract/schemas.js';
import type { UnsealedEvent } from '../core/audit-chain.js';
import type { AgentStore } from './agent-store.js';
import type { NodeStore, ServingNodeRow } from './node-store.js';

export interface KeyringRow {
  kek_id: string;
  wrapped_root: Buffer;
}

export interface OrgRow {
  id: string;
  name: string;
  is_default: boolean;
  created_at: string;
}

export interface ApiKeyRow {
  id: string;
  org_id: string;
  name: string | null;
  hash: string;
  created_at: string;
  revoked_at: string | null;
}

export interface VaultRow {
  id: string;
  org_id: string;
  name: string;
  description: string | null;
  created_at: string;
  updated_at: string;
}

export interface VaultWithCount extends VaultRow {
  secret_count: number;
}

export interface SecretRow {
  id: string;
  org_id: string;
  vault_id: string;
  env_key: string;
  allowed_domains: string[];
  inject_in: InjectSurface[];
  description: string | null;
  labels: Record<string, string>;
  revealable: boolean;
  version: number;
  created_at: string;
  updated_at: string;
}

export interface SecretVersionMeta {
  version: number;
  created_at: string;
  actor: string;
  changed: string[];
  allowed_domains: string[];
  inject_in: InjectSurface[];
  description: string | null;
}

export interface SealedColumns {
  kek_id: string;
  wrapped_key: Buffer;
  ciphertext: Buffer;
  fingerprint: string;
}

export type SecretVersionRow = SecretVersionMeta & SealedColumns & { secret_id: string };

/** An audit event before the store gives it its place in the chain. */
export type AuditDraft = Omit<UnsealedEvent, 'seq'>;

export interface Page {
  limit: number;
  /** Return rows whose id sorts after this one (exclusive). */
  after?: string | undefined;
}

export interface AuditQuery {
  type?: string | undefined;
  actor?: string | undefined;
  secretId?: string | undefined;
  afterSeq?: number | undefined;
  limit: number;
}

export type SecretWrite =
  | { ok: true }
  | { ok: false; reason: 'vault_not_found' | 'env_key_exists' };

export type SecretUpdate = { ok: true } | { ok: false; reason: 'not_found' | 'version_mismatch' };

export type VaultDelete = { ok: true } | { ok: false; reason: 'not_found' } | { ok: false; reason: 'in_use'; deployedAgents: number };

/** A wrapped data key as rotation sees it: enough to re-wrap, nothing else. */
export interface WrappedKeyRef {
  org_id: string;
  vault_id: string;
  secret_id: string;
  version: number;
  kek_id: string;
  wrapped_key: Buffer;
}

export type RewrapResult = { ok: true; rewrapped: number } | { ok: false; reason: 'node_serving'; node: ServingNodeRow };

export type AuditListener = (orgId: string, seq: number) => void;

export interface Store extends AgentStore, NodeStore {
  readonly backend: 'sqlite' | 'postgres';
  close(): Promise<void>;
  ping(): Promise<void>;

  getKeyring(): Promise<KeyringRow | null>;

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

  appendAudit(audit: AuditDraft[]): Promise<void>;
  listAudit(orgId: string, query: AuditQuery): Promise<AuditEvent[]>;
  /** Live wake-ups after commits; listeners then read from the store, so nothing is lost. */
  onAudit(listener: AuditListener): () => void;

  /**
   * Master-key rotation: re-wrap every data key and the keyring in one transaction; refused, with
   * nothing changed, while a node's heartbeat is later than `liveSince` (that node serves the store).
   */
  rewrapAll(next: KeyringRow, rewrap: (ref: WrappedKeyRef) => Buffer, audit: AuditDraft[], liveSince: string): Promise<RewrapResult>;
}
