// Agents: their config, vault attachments (two wire shapes), status and tokens; all audited.
import { VaultError } from '../contract/errors.js';
import type { Agent, AgentToken, AgentTokenInfo, CreateAgentBody, EnvironmentEntry, Resource, UpdateAgentBody } from '../contract/agent-schemas.js';
import { deliveredSecrets } from '../core/access.js';
import type { AgentPatch, AgentView, AgentWrite, AttachmentRow } from '../storage/types.js';
import type { Store } from '../storage/store.js';
import { checkAgentName, checkEnv, checkEnvVars, checkVaultIds } from './agent-fields.js';
import { draftEvent, type Caller, type ServiceDeps } from './context.js';
import { agentTokenPrefix, hashToken, mintToken } from './credentials.js';
import { paginate, type PageRequest, type PageResult } from './pagination.js';

export function toAgent(view: AgentView): Agent {
  return {
    id: view.id,
    name: view.name,
    status: view.status,
    env: view.env,
    env_vars: view.env_vars,
    vault_ids: view.vault_ids,
    created_at: view.created_at,
    updated_at: view.updated_at,
  };
}

export function toResource(a: AttachmentRow): Resource {
  return { id: a.id, agent_id: a.agent_id, entity_type: 'vault', entity_id: a.vault_id, created_at: a.created_at };
}

const writeErrors = {
  agent_not_found: 'agent_not_found',
  agent_name_exists: 'agent_name_exists',
  vault_not_found: 'vault_not_found',
  secret_not_found: 'secret_not_found',
} as const;

function check(result: AgentWrite): void {
  if (!result.ok) throw new VaultError(writeErrors[result.reason]);
}

export type AgentsStore = Pick<Store, 'createAgent' | 'listAgents' | 'getAgent' | 'findAgentByName' | 'updateAgent' | 'deleteAgent' | 'attachVault' | 'detachVault' | 'listAttachments' | 'agentAccessFacts' | 'createAgentToken' | 'listAgentTokens' | 'revokeAgentToken'>;

export function createAgentsService(deps: ServiceDeps & { store: AgentsStore }) {
  const { store } = deps;
  const now = () => deps.clock.now().toISOString();

  async function requireAgent(caller: Caller, agentId: string): Promise<AgentView> {
    const agent = await store.getAgent(caller.orgId, agentId);
    if (!agent) throw new VaultError('agent_not_found');
    return agent;
  }

  async function patch(caller: Caller, agentId: string, changes: AgentPatch, type: 'agent.updated' | 'agent.deployed' | 'agent.stopped', details: Record<string, unknown>): Promise<Agent> {
    check(await store.updateAgent(caller.orgId, agentId, changes, [draftEvent(deps, caller, type, { agent_id: agentId, details })]));
    return toAgent(await requireAgent(caller, agentId));
  }

  async function setStatus(caller: Caller, agentId: string, status: 'deployed' | 'stopped'): Promise<Agent> {
    const agent = await requireAgent(caller, agentId);
    if (agent.status === status) return toAgent(agent);
    return patch(caller, agentId, { status, updated_at: now() }, status === 'deployed' ? 'agent.deployed' : 'agent.stopped', {});
  }

  return {
    async create(caller: Caller, body: CreateAgentBody): Promise<Agent> {
      const env = checkEnv(body.env);
      const at = now();
      const row = { id: deps.ids('agent'), org_id: caller.orgId, name: checkAgentName(body.name), env, status: 'stopped' as const, created_at: at, updated_at: at };
      const envVars = checkEnvVars(body.env_vars, env);
      const attachments = checkVaultIds(body.vault_ids).map((vaultId) => ({ id: deps.ids('resource'), org_id: caller.orgId, agent_id: row.id, vault_id: vaultId, created_at: at }));
      const audit = [
        draftEvent(deps, caller, 'agent.created', { agent_id: row.id, details: { name: row.name, env_keys: Object.keys(env), env_vars: envVars, vault_ids: attachments.map((a) => a.vault_id) } }),
      ];
      check(await store.createAgent(row, envVars, attachments, audit));
      return toAgent(await requireAgent(caller, row.id));
    },

    async list(caller: Caller, query: PageRequest): Promise<PageResult<Agent>> {
      const page = await paginate(query, (p) => store.listAgents(caller.orgId, p));
      return { items: (page?.items ?? []).map(toAgent), nextCursor: page?.nextCursor ?? null };
    },

    async get(caller: Caller, agentId: string): Promise<Agent> {
      return toAgent(await requireAgent(caller, agentId));
    },

    async findByName(caller: Caller, name: string): Promise<Agent | null> {
      const agent = await store.findAgentByName(caller.orgId, name);
      return agent ? toAgent(agent) : null;
    },

    async update(caller: Caller, agentId: string, body: UpdateAgentBody): Promise<Agent> {
      const current = await requireAgent(caller, agentId);
      const env = body.env === undefined ? current.env : checkEnv(body.env);
      const envVars = body.env_vars === undefined ? current.env_vars : checkEnvVars(body.env_vars, env);
      if (body.env !== undefined && body.env_vars === undefined) checkEnvVars(current.env_vars, env);
      const name = body.name === undefined ? current.name : checkAgentName(body.name);
      const changed = [
        ...(name !== current.name ? ['name'] : []),
        ...(JSON.stringify(env) !== JSON.stringify(current.env) ? ['env'] : []),
        ...(JSON.stringify(envVars) !== JSON.stringify(current.env_vars) ? ['env_vars'] : []),
      ];
      if (changed.length === 0) return toAgent(current);
      const changes: AgentPatch = { name, env, env_vars: envVars, updated_at: now() };
      return patch(caller, agentId, changes, 'agent.updated', { changed });
    },

    async remove(caller: Caller, agentId: string): Promise<void> {
      if (!(await store.deleteAgent(caller.orgId, agentId, [draftEvent(deps, caller, 'agent.deleted', { agent_id: agentId })]))) {
        throw new VaultError('agent_not_found');
      }
    },

    deploy: (caller: Caller, agentId: string) => setStatus(caller, agentId, 'deployed'),
    stop: (caller: Caller, agentId: string) => setStatus(caller, agentId, 'stopped'),

    async attach(caller: Caller, agentId: string, vaultId: string): Promise<{ resource: Resource; created: boolean }> {
      const row = { id: deps.ids('resource'), org_id: caller.orgId, agent_id: agentId, vault_id: vaultId, created_at: now() };
      const audit = [draftEvent(deps, caller, 'agent.vault_attached', { agent_id: agentId, vault_id: vaultId, target_id: row.id })];
      const result = await store.attachVault(row, audit);
      if (!result.ok) throw new VaultError(result.reason);
      return { resource: toResource(result.attachment), created: result.created };
    },

    async detach(caller: Caller, agentId: string, by: { vaultId: string } | { attachmentId: string }): Promise<void> {
      await requireAgent(caller, agentId);
      const gone = await store.detachVault(caller.orgId, agentId, by, (a) => [
        draftEvent(deps, caller, 'agent.vault_detached', { agent_id: agentId, vault_id: a.vault_id, target_id: a.id }),
      ]);
      if (!gone) throw new VaultError('vaultId' in by ? 'vault_not_found' : 'resource_not_found');
    },

    async resources(caller: Caller, agentId: string): Promise<Resource[]> {
      const rows = await store.listAttachments(caller.orgId, agentId);
      if (!rows) throw new VaultError('agent_not_found');
      return rows.map(toResource);
    },

    /**
     * The names the agent's environment holds and the form of each, resolved exactly as the runtime
     * resolves them (plain env hides a secret of the same name). Names only: nothing is decrypted,
     * so nothing is audited.
     */
    async environment(caller: Caller, agentId: string): Promise<EnvironmentEntry[]> {
      const facts = await store.agentAccessFacts(caller.orgId, agentId);
      if (!facts) throw new VaultError('agent_not_found');
      const plain = facts.agent.env;
      const secrets = deliveredSecrets(facts, plain).map((e): EnvironmentEntry => ({ name: e.name, form: e.form, source: e.via, secret_id: e.secret.id, vault_id: e.secret.vault_id }));
      const env = Object.keys(plain).map((name): EnvironmentEntry => ({ name, form: 'value', source: 'env', secret_id: null, vault_id: null }));
      return [...secrets, ...env];
    },

    /** The token is returned once; only its hash is stored. */
    async mintToken(caller: Caller, agentId: string): Promise<AgentToken> {
      const token = mintToken(agentTokenPrefix, deps.random);
      const row = { id: deps.ids('agentToken'), org_id: caller.orgId, agent_id: agentId, hash: hashToken(token), created_at: now(), revoked_at: null };
      const audit = [draftEvent(deps, caller, 'agent.token_created', { agent_id: agentId, target_id: row.id })];
      if (!(await store.createAgentToken(row, audit))) throw new VaultError('agent_not_found');
      return { id: row.id, token, agent_id: agentId, created_at: row.created_at };
    },

    async tokens(caller: Caller, agentId: string): Promise<AgentTokenInfo[]> {
      const rows = await store.listAgentTokens(caller.orgId, agentId);
      if (!rows) throw new VaultError('agent_not_found');
      return rows.map((t) => ({ id: t.id, agent_id: t.agent_id, created_at: t.created_at, revoked_at: t.revoked_at }));
    },

    async revokeToken(caller: Caller, agentId: string, tokenId: string): Promise<void> {
      await requireAgent(caller, agentId);
      const audit = [draftEvent(deps, caller, 'agent.token_revoked', { agent_id: agentId, target_id: tokenId })];
      if (!(await store.revokeAgentToken(caller.orgId, agentId, tokenId, now(), audit))) throw new VaultError('token_not_found');
    },
  };
}

export type AgentsService = ReturnType<typeof createAgentsService>;
