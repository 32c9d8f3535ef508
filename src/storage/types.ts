// The rows and results the Store interfaces speak in, shared by every backend and interface file.
import type { CredentialType, InjectSurface, RateLimit, RequestRule } from '../contract/schemas.js';
import type { UnsealedEvent } from '../core/audit-chain.js';

export interface KeyringRow {
  kek_id: string;
  wrapped_root: Buffer;
}

/** What a store holds before it is opened: read by inspecting it, changing nothing. */
export interface StoreInspection {
  initialized: boolean;
  keyring: KeyringRow | null;
}

export interface ProxyCaRow {
  cert_pem: string;
  sealed_key: Buffer;
  created_at: string;
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
  /** How the proxy uses it (SPEC §10); immutable. */
  type: CredentialType;
  /** null: any request to an allowed host may carry it. */
  rules: RequestRule[] | null;
  rate_limit: RateLimit | null;
  /** aws_sigv4 only: what it may sign for, and whether the agent gets a session token placeholder. */
  signing: SigningScope | null;
}

export interface SigningScope {
  regions: string[];
  services: string[];
  session_token: boolean;
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

/** A running node: its row is refreshed while it serves and removed when it stops cleanly. */
export interface ServingNodeRow {
  id: string;
  pid: number;
  hostname: string;
  started_at: string;
  heartbeat_at: string;
}

export type RewrapResult = { ok: true; rewrapped: number } | { ok: false; reason: 'node_serving'; node: ServingNodeRow };

export type AuditListener = (orgId: string, seq: number) => void;

export type AgentStatus = 'stopped' | 'deployed';

export interface EnvVarRef {
  name: string;
  from_secret_id: string;
}

export interface AgentRow {
  id: string;
  org_id: string;
  name: string;
  env: Record<string, string>;
  status: AgentStatus;
  created_at: string;
  updated_at: string;
}

/** An agent as the API shows it: with its env_vars and attached vault ids (attachment order). */
export interface AgentView extends AgentRow {
  env_vars: EnvVarRef[];
  vault_ids: string[];
}

export interface AttachmentRow {
  id: string;
  org_id: string;
  agent_id: string;
  vault_id: string;
  created_at: string;
}

export interface AgentTokenRow {
  id: string;
  org_id: string;
  agent_id: string;
  hash: string;
  created_at: string;
  revoked_at: string | null;
}

export interface GrantRow {
  id: string;
  org_id: string;
  agent_id: string;
  secret_id: string;
  created_at: string;
}

/** Everything that decides what one agent may use, read in one snapshot. */
export interface AgentAccessFacts {
  agent: AgentView;
  /** Secrets of attached vaults, in attachment order then secret creation order. */
  attached: SecretRow[];
  granted: SecretRow[];
  /** Secrets named by env_vars, keyed by the env var name. */
  envVars: { name: string; secret: SecretRow }[];
}

export type AgentWrite =
  | { ok: true }
  | { ok: false; reason: 'agent_not_found' | 'agent_name_exists' | 'vault_not_found' | 'secret_not_found' };

export interface AgentPatch {
  name?: string;
  env?: Record<string, string>;
  env_vars?: EnvVarRef[];
  status?: AgentStatus;
  updated_at: string;
}
