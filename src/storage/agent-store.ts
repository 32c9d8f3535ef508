// The agent half of the Store: agents, vault attachments, agent tokens, grants, access facts.
import type {
  AgentAccessFacts,
  AgentPatch,
  AgentRow,
  AgentTokenRow,
  AgentView,
  AgentWrite,
  AttachmentRow,
  AuditDraft,
  EnvVarRef,
  GrantRow,
  Page,
  SecretRow,
} from './types.js';

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
}
