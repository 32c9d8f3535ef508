// The agent half of the Store: agents, vault attachments, agent tokens, grants, access facts.
import type { AuditDraft, Page, SecretRow } from './store.js';

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

export interface AgentStore {
  createAgent(row: AgentRow, envVars: EnvVarRef[], attachments: AttachmentRow[], audit: AuditDraft[]): Promise<AgentWrite>;
  listAgents(orgId: string, page: Page): Promise<AgentView[]>;
  getAgent(orgId: string, agentId: string): Promise<AgentView | null>;
  findAgentByName(orgId: string, name: string): Promise<AgentView | null>;
  updateAgent(orgId: string, agentId: string, patch: AgentPatch, audit: AuditDraft[]): Promise<AgentWrite>;
  deleteAgent(orgId: string, agentId: string, audit: AuditDraft[]): Promise<boolean>;

  /** Attaching an attached vault returns the existing attachment (`created: false`). */
  attachVault(row: AttachmentRow, audit: AuditDraft[]): Promise<{ ok: true; attachment: AttachmentRow; created: boolean } | { ok: false; reason: 'agent_not_found' | 'vault_not_found' }>;
  detachVault(orgId: string, agentId: string, by: { vaultId: string } | { attachmentId: string }, audit: (a: AttachmentRow) => AuditDraft[]): Promise<AttachmentRow | null>;
  listAttachments(orgId: string, agentId: string): Promise<AttachmentRow[] | null>;

  createAgentToken(row: AgentTokenRow, audit: AuditDraft[]): Promise<boolean>;
  revokeAgentToken(orgId: string, agentId: string, tokenId: string, revokedAt: string, audit: AuditDraft[]): Promise<boolean>;
  /** null when the agent does not exist in this org. */
  listAgentTokens(orgId: string, agentId: string): Promise<AgentTokenRow[] | null>;
  findAgentTokenByHash(hash: string): Promise<AgentTokenRow | null>;

  /** Granting twice returns the existing grant (`created: false`). */
  createGrant(row: GrantRow, audit: AuditDraft[]): Promise<{ ok: true; grant: GrantRow; created: boolean } | { ok: false; reason: 'agent_not_found' | 'secret_not_found' }>;
  listGrants(orgId: string, filter: { agentId?: string | undefined; page: Page }): Promise<GrantRow[]>;
  deleteGrant(orgId: string, grantId: string, audit: (g: GrantRow) => AuditDraft[]): Promise<GrantRow | null>;

  agentAccessFacts(orgId: string, agentId: string): Promise<AgentAccessFacts | null>;
  /** Secrets of the org with this env_key (for auditing denials), oldest first. */
  findSecretsByEnvKey(orgId: string, envKey: string): Promise<SecretRow[]>;
  /** Deployed agents that have this vault attached (a vault in use cannot be deleted). */
  countDeployedAgentsWithVault(orgId: string, vaultId: string): Promise<number>;

  /** The deployment CA: inserted once; every node reads the same one. */
  getProxyCa(): Promise<ProxyCaRow | null>;
  initProxyCa(row: ProxyCaRow): Promise<ProxyCaRow>;
}

export interface ProxyCaRow {
  cert_pem: string;
  sealed_key: Buffer;
  created_at: string;
}
