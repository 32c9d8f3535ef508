// The agent half of the SQLite store: agents, attachments, tokens, grants, access facts.
import type Database from 'better-sqlite3';
import type { AgentStore } from '../agent-store.js';
import { int, maybe, rowDecoder, text, toAgent, toAgentToken, toAttachment, toEnvVarRef, toGrant, toSecret } from '../rows.js';
import type { AgentAccessFacts, AgentView, AgentWrite, AttachmentRow, EnvVarRef, GrantRow } from '../types.js';
import type { ReadCache } from './read-cache.js';
import type { Tx, Write } from './tx.js';

/** Access facts are memoized only for agents holding at most this many secrets. */
const memoizedFactsMaxSecrets = 32;

const toEnvVarName = rowDecoder<{ env_name: string }>({ env_name: text });

export function countDeployed(db: Database.Database, orgId: string, vaultId: string): number {
  const n = db
    .prepare("SELECT COUNT(*) AS n FROM agent_vaults av JOIN agents a ON a.id = av.agent_id WHERE av.org_id = ? AND av.vault_id = ? AND a.status = 'deployed'")
    .pluck()
    .get(orgId, vaultId);
  return int(n, 'n');
}

export function createSqliteAgentMethods(db: Database.Database, write: Write, cache: ReadCache): AgentStore {
  const q = {
    agent: db.prepare('SELECT * FROM agents WHERE org_id = ? AND id = ?'),
    agentByName: db.prepare('SELECT * FROM agents WHERE org_id = ? AND name = ?'),
    envVars: db.prepare('SELECT name, secret_id AS from_secret_id FROM agent_env_vars WHERE agent_id = ? ORDER BY position'),
    vaultIds: db.prepare('SELECT vault_id FROM agent_vaults WHERE agent_id = ? ORDER BY created_at, id').pluck(),
    vaultExists: db.prepare('SELECT 1 FROM vaults WHERE org_id = ? AND id = ?'),
    secretExists: db.prepare('SELECT 1 FROM secrets WHERE org_id = ? AND id = ?'),
    insertEnvVar: db.prepare('INSERT INTO agent_env_vars (agent_id, position, name, secret_id) VALUES (?, ?, ?, ?)'),
    insertAttachment: db.prepare('INSERT INTO agent_vaults (id, org_id, agent_id, vault_id, created_at) VALUES (@id, @org_id, @agent_id, @vault_id, @created_at)'),
    attachment: db.prepare('SELECT * FROM agent_vaults WHERE agent_id = ? AND vault_id = ?'),
    tokenByHash: db.prepare('SELECT * FROM agent_tokens WHERE hash = ?'),
    secretsByEnvKey: db.prepare('SELECT * FROM secrets WHERE org_id = ? AND env_key = ? ORDER BY id'),
    attachedSecrets: db.prepare(
      'SELECT s.* FROM agent_vaults av JOIN secrets s ON s.vault_id = av.vault_id WHERE av.agent_id = ? ORDER BY av.created_at, av.id, s.id',
    ),
    grantedSecrets: db.prepare('SELECT s.* FROM grants g JOIN secrets s ON s.id = g.secret_id WHERE g.agent_id = ? ORDER BY g.id'),
    envVarSecrets: db.prepare(
      'SELECT e.name AS env_name, s.* FROM agent_env_vars e JOIN secrets s ON s.id = e.secret_id WHERE e.agent_id = ? ORDER BY e.position',
    ),
  };

  function view(row: unknown): AgentView | null {
    if (!row) return null;
    const agent = toAgent(row);
    return {
      ...agent,
      env_vars: q.envVars.all(agent.id).map(toEnvVarRef),
      vault_ids: q.vaultIds.all(agent.id).map((v) => text(v, 'vault_id')),
    };
  }

  const accessFacts = db.transaction((orgId: string, agentId: string): AgentAccessFacts | null => {
      const agent = view(q.agent.get(orgId, agentId));
      if (!agent) return null;
      return {
        agent,
        attached: q.attachedSecrets.all(agentId).map(toSecret),
        granted: q.grantedSecrets.all(agentId).map(toSecret),
        envVars: q.envVarSecrets.all(agentId).map((r) => ({ name: toEnvVarName(r).env_name, secret: toSecret(r) })),
      };
    });

  const missingSecret = (orgId: string, envVars: EnvVarRef[]) => envVars.some((e) => !q.secretExists.get(orgId, e.from_secret_id));

  function replaceEnvVars(agentId: string, envVars: EnvVarRef[]): void {
    db.prepare('DELETE FROM agent_env_vars WHERE agent_id = ?').run(agentId);
    envVars.forEach((e, i) => q.insertEnvVar.run(agentId, i, e.name, e.from_secret_id));
  }

  const fail = (reason: Exclude<AgentWrite, { ok: true }>['reason']): Tx<AgentWrite> => ({ result: { ok: false, reason }, audit: [] });

  return {
    async createAgent(row, envVars, attachments, audit) {
      return write((): Tx<AgentWrite> => {
        if (q.agentByName.get(row.org_id, row.name)) return fail('agent_name_exists');
        if (attachments.some((a) => !q.vaultExists.get(row.org_id, a.vault_id))) return fail('vault_not_found');
        if (missingSecret(row.org_id, envVars)) return fail('secret_not_found');
        db.prepare('INSERT INTO agents (id, org_id, name, env, status, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?)').run(
          row.id, row.org_id, row.name, JSON.stringify(row.env), row.status, row.created_at, row.updated_at,
        );
        replaceEnvVars(row.id, envVars);
        for (const a of attachments) q.insertAttachment.run(a);
        return { result: { ok: true }, audit };
      });
    },
    async listAgents(orgId, page) {
      const rows = db.prepare('SELECT * FROM agents WHERE org_id = ? AND id > ? ORDER BY id LIMIT ?').all(orgId, page.after ?? '', page.limit);
      return rows.map((r) => view(r)!);
    },
    async getAgent(orgId, agentId) {
      return view(q.agent.get(orgId, agentId));
    },
    async findAgentByName(orgId, name) {
      return view(q.agentByName.get(orgId, name));
    },
    async updateAgent(orgId, agentId, patch, audit) {
      return write((): Tx<AgentWrite> => {
        const current = view(q.agent.get(orgId, agentId));
        if (!current) return fail('agent_not_found');
        const name = patch.name ?? current.name;
        if (name !== current.name && q.agentByName.get(orgId, name)) return fail('agent_name_exists');
        if (patch.env_vars) {
          if (missingSecret(orgId, patch.env_vars)) return fail('secret_not_found');
          replaceEnvVars(agentId, patch.env_vars);
        }
        db.prepare('UPDATE agents SET name = ?, env = ?, status = ?, updated_at = ? WHERE id = ?').run(
          name, JSON.stringify(patch.env ?? current.env), patch.status ?? current.status, patch.updated_at, agentId,
        );
        return { result: { ok: true }, audit };
      });
    },
    async deleteAgent(orgId, agentId, audit) {
      return write(() => {
        const gone = db.prepare('DELETE FROM agents WHERE org_id = ? AND id = ?').run(orgId, agentId).changes > 0;
        return { result: gone, audit: gone ? audit : [] };
      });
    },

    async attachVault(row, audit) {
      return write((): Tx<Awaited<ReturnType<AgentStore['attachVault']>>> => {
        if (!q.agent.get(row.org_id, row.agent_id)) return { result: { ok: false, reason: 'agent_not_found' }, audit: [] };
        if (!q.vaultExists.get(row.org_id, row.vault_id)) return { result: { ok: false, reason: 'vault_not_found' }, audit: [] };
        const existing = maybe(toAttachment, q.attachment.get(row.agent_id, row.vault_id));
        if (existing) return { result: { ok: true, attachment: existing, created: false }, audit: [] };
        q.insertAttachment.run(row);
        return { result: { ok: true, attachment: row, created: true }, audit };
      });
    },
    async detachVault(orgId, agentId, by, audit) {
      return write((): Tx<AttachmentRow | null> => {
        const row = maybe(
          toAttachment,
          'vaultId' in by
            ? db.prepare('SELECT * FROM agent_vaults WHERE org_id = ? AND agent_id = ? AND vault_id = ?').get(orgId, agentId, by.vaultId)
            : db.prepare('SELECT * FROM agent_vaults WHERE org_id = ? AND agent_id = ? AND id = ?').get(orgId, agentId, by.attachmentId),
        );
        if (!row) return { result: null, audit: [] };
        db.prepare('DELETE FROM agent_vaults WHERE id = ?').run(row.id);
        return { result: row, audit: audit(row) };
      });
    },
    async listAttachments(orgId, agentId) {
      if (!q.agent.get(orgId, agentId)) return null;
      return db.prepare('SELECT * FROM agent_vaults WHERE agent_id = ? ORDER BY created_at, id').all(agentId).map(toAttachment);
    },

    async createAgentToken(row, audit) {
      return write(() => {
        if (!q.agent.get(row.org_id, row.agent_id)) return { result: false, audit: [] };
        db.prepare('INSERT INTO agent_tokens (id, org_id, agent_id, hash, created_at, revoked_at) VALUES (@id, @org_id, @agent_id, @hash, @created_at, @revoked_at)').run(row);
        return { result: true, audit };
      });
    },
    async revokeAgentToken(orgId, agentId, tokenId, revokedAt, audit) {
      return write(() => {
        const changed = db
          .prepare('UPDATE agent_tokens SET revoked_at = ? WHERE org_id = ? AND agent_id = ? AND id = ? AND revoked_at IS NULL')
          .run(revokedAt, orgId, agentId, tokenId).changes;
        return { result: changed > 0, audit: changed > 0 ? audit : [] };
      });
    },
    async listAgentTokens(orgId, agentId) {
      if (!q.agent.get(orgId, agentId)) return null;
      return db.prepare('SELECT * FROM agent_tokens WHERE agent_id = ? ORDER BY id').all(agentId).map(toAgentToken);
    },
    async findAgentTokenByHash(hash) {
      return cache.memo('token', hash, () => maybe(toAgentToken, q.tokenByHash.get(hash)));
    },

    async createGrant(row, audit) {
      return write((): Tx<Awaited<ReturnType<AgentStore['createGrant']>>> => {
        if (!q.agent.get(row.org_id, row.agent_id)) return { result: { ok: false, reason: 'agent_not_found' }, audit: [] };
        if (!q.secretExists.get(row.org_id, row.secret_id)) return { result: { ok: false, reason: 'secret_not_found' }, audit: [] };
        const existing = maybe(toGrant, db.prepare('SELECT * FROM grants WHERE agent_id = ? AND secret_id = ?').get(row.agent_id, row.secret_id));
        if (existing) return { result: { ok: true, grant: existing, created: false }, audit: [] };
        db.prepare('INSERT INTO grants (id, org_id, agent_id, secret_id, created_at) VALUES (@id, @org_id, @agent_id, @secret_id, @created_at)').run(row);
        return { result: { ok: true, grant: row, created: true }, audit };
      });
    },
    async listGrants(orgId, filter) {
      const byAgent = filter.agentId !== undefined;
      const sql = `SELECT * FROM grants WHERE org_id = ? ${byAgent ? 'AND agent_id = ?' : ''} AND id > ? ORDER BY id LIMIT ?`;
      const params = [orgId, ...(byAgent ? [filter.agentId] : []), filter.page.after ?? '', filter.page.limit];
      return db.prepare(sql).all(...params).map(toGrant);
    },
    async deleteGrant(orgId, grantId, audit) {
      return write((): Tx<GrantRow | null> => {
        const row = maybe(toGrant, db.prepare('SELECT * FROM grants WHERE org_id = ? AND id = ?').get(orgId, grantId));
        if (!row) return { result: null, audit: [] };
        db.prepare('DELETE FROM grants WHERE id = ?').run(grantId);
        return { result: row, audit: audit(row) };
      });
    },

    async agentAccessFacts(orgId, agentId) {
      // One read transaction, so attachments, grants and env vars are seen at the same moment.
      // Kept only for agents holding a few secrets: the hot path (proxy, vault.read) is one agent
      // with a handful, while an agent with hundreds would mostly fill the heap.
      const key = `${orgId}/${agentId}`;
      const cached = cache.peek<AgentAccessFacts>('facts', key);
      if (cached) return cached;
      const facts = accessFacts(orgId, agentId);
      if (facts && facts.attached.length + facts.granted.length + facts.envVars.length <= memoizedFactsMaxSecrets) cache.put('facts', key, facts);
      return facts;
    },
    async findSecretsByEnvKey(orgId, envKey) {
      return cache.memo('by-env-key', `${orgId}/${envKey}`, () => q.secretsByEnvKey.all(orgId, envKey).map(toSecret)) ?? [];
    },
    async countDeployedAgentsWithVault(orgId, vaultId) {
      return countDeployed(db, orgId, vaultId);
    },
  };
}
