// The agent half of the PostgreSQL store: agents, attachments, tokens, grants, access facts.
import type pg from 'pg';
import type { AgentStore } from '../agent-store.js';
import { int, json, maybe, rowDecoder, text, toAgentToken, toAgentView, toAttachment, toGrant, toSecret } from '../rows.js';
import type { AgentWrite, AttachmentRow, EnvVarRef, GrantRow } from '../types.js';
import { firstOf, rowsOf, type TxWork, type Write } from './pg-tx.js';

type Db = pg.Pool | pg.PoolClient;

export async function countDeployed(c: Db, orgId: string, vaultId: string): Promise<number> {
  const row = await firstOf(
    c,
    "SELECT COUNT(*)::int AS n FROM agent_vaults av JOIN agents a ON a.id = av.agent_id WHERE av.org_id = $1 AND av.vault_id = $2 AND a.status = 'deployed'",
    [orgId, vaultId],
  );
  return row ? int(row.n, 'n') : 0;
}

/**
 * An agent with its env_vars and vault ids, aggregated in the same statement: one round trip,
 * and one snapshot, so the three are always seen at the same moment.
 */
const viewColumns = `a.*,
    (SELECT COALESCE(json_agg(json_build_object('name', e.name, 'from_secret_id', e.secret_id) ORDER BY e.position), '[]')
       FROM agent_env_vars e WHERE e.agent_id = a.id) AS env_vars,
    (SELECT COALESCE(json_agg(av.vault_id ORDER BY av.created_at, av.id), '[]')
       FROM agent_vaults av WHERE av.agent_id = a.id) AS vault_ids`;

const agentViewSql = (where: string, tail = '') => `SELECT ${viewColumns} FROM agents a WHERE ${where} ${tail}`;

/** The access facts the same way (SQLite reads them in one transaction): secrets come back as JSON rows. */
const accessFactsSql = `
  SELECT ${viewColumns},
    (SELECT COALESCE(json_agg(s ORDER BY av.created_at, av.id, s.id), '[]')
       FROM agent_vaults av JOIN secrets s ON s.vault_id = av.vault_id WHERE av.agent_id = a.id) AS attached,
    (SELECT COALESCE(json_agg(s ORDER BY g.id), '[]')
       FROM grants g JOIN secrets s ON s.id = g.secret_id WHERE g.agent_id = a.id) AS granted,
    (SELECT COALESCE(json_agg(json_build_object('name', e.name, 'secret', s) ORDER BY e.position), '[]')
       FROM agent_env_vars e JOIN secrets s ON s.id = e.secret_id WHERE e.agent_id = a.id) AS env_secrets
  FROM agents a WHERE a.org_id = $1 AND a.id = $2`;

/** The secret lists of an access-facts row, as json_agg built them. */
const toFactLists = rowDecoder<{ attached: unknown[]; granted: unknown[]; env_secrets: unknown[] }>({ attached: json(), granted: json(), env_secrets: json() });
const toEnvSecret = rowDecoder<{ name: string; secret: unknown }>({ name: text, secret: (v) => v });

/** What an update keeps when the patch leaves it out, as stored (env stays JSON text). */
const toAgentColumns = rowDecoder<{ name: string; env: string; status: string }>({ name: text, env: text, status: text });

const fail = (reason: Exclude<AgentWrite, { ok: true }>['reason']): TxWork<AgentWrite> => ({ result: { ok: false, reason }, audit: [] });

/** True when every id names a row of `table` in the org; KEY SHARE keeps them from deletion until COMMIT. */
async function allExist(c: pg.PoolClient, table: 'vaults' | 'secrets', orgId: string, ids: string[]): Promise<boolean> {
  if (ids.length === 0) return true;
  const found = await rowsOf(c, `SELECT id FROM ${table} WHERE org_id = $1 AND id = ANY($2::text[]) FOR KEY SHARE`, [orgId, ids]);
  return new Set(found.map((r) => text(r.id, 'id'))).size === new Set(ids).size;
}

async function agentExists(c: pg.PoolClient, orgId: string, agentId: string): Promise<boolean> {
  return (await firstOf(c, 'SELECT 1 FROM agents WHERE org_id = $1 AND id = $2 FOR KEY SHARE', [orgId, agentId])) !== null;
}

async function replaceEnvVars(c: pg.PoolClient, agentId: string, envVars: EnvVarRef[]): Promise<void> {
  await rowsOf(c, 'DELETE FROM agent_env_vars WHERE agent_id = $1', [agentId]);
  if (envVars.length === 0) return;
  await rowsOf(
    c,
    'INSERT INTO agent_env_vars (agent_id, position, name, secret_id) SELECT $1, p - 1, n, s FROM unnest($2::text[], $3::text[]) WITH ORDINALITY AS e(n, s, p)',
    [agentId, envVars.map((e) => e.name), envVars.map((e) => e.from_secret_id)],
  );
}

export function createPgAgentMethods(pool: pg.Pool, write: Write): AgentStore {
  const nameTaken = (c: Db, orgId: string, name: string) => firstOf(c, 'SELECT 1 FROM agents WHERE org_id = $1 AND name = $2', [orgId, name]);
  const attachIfAbsent = (c: pg.PoolClient, a: AttachmentRow) =>
    rowsOf(
      c,
      'INSERT INTO agent_vaults (id, org_id, agent_id, vault_id, created_at) VALUES ($1, $2, $3, $4, $5) ON CONFLICT (agent_id, vault_id) DO NOTHING RETURNING id',
      [a.id, a.org_id, a.agent_id, a.vault_id, a.created_at],
    );
  const nameConflict: Record<string, AgentWrite> = { agents_org_name_key: { ok: false, reason: 'agent_name_exists' } };

  return {
    async createAgent(row, envVars, attachments, audit) {
      return write(async (c): Promise<TxWork<AgentWrite>> => {
        if (await nameTaken(c, row.org_id, row.name)) return fail('agent_name_exists');
        if (!(await allExist(c, 'vaults', row.org_id, attachments.map((a) => a.vault_id)))) return fail('vault_not_found');
        if (!(await allExist(c, 'secrets', row.org_id, envVars.map((e) => e.from_secret_id)))) return fail('secret_not_found');
        await rowsOf(c, 'INSERT INTO agents (id, org_id, name, env, status, created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7)', [
          row.id, row.org_id, row.name, JSON.stringify(row.env), row.status, row.created_at, row.updated_at,
        ]);
        await replaceEnvVars(c, row.id, envVars);
        // Plain inserts (SQLite's do not skip either): the same vault twice fails the call.
        for (const a of attachments) {
          await rowsOf(c, 'INSERT INTO agent_vaults (id, org_id, agent_id, vault_id, created_at) VALUES ($1, $2, $3, $4, $5)', [a.id, a.org_id, a.agent_id, a.vault_id, a.created_at]);
        }
        return { result: { ok: true }, audit };
      }, nameConflict);
    },
    async listAgents(orgId, page) {
      return (await rowsOf(pool, agentViewSql('a.org_id = $1 AND a.id > $2', 'ORDER BY a.id LIMIT $3'), [orgId, page.after ?? '', page.limit])).map(toAgentView);
    },
    async getAgent(orgId, agentId) {
      return maybe(toAgentView, await firstOf(pool, agentViewSql('a.org_id = $1 AND a.id = $2'), [orgId, agentId]));
    },
    async findAgentByName(orgId, name) {
      return maybe(toAgentView, await firstOf(pool, agentViewSql('a.org_id = $1 AND a.name = $2'), [orgId, name]));
    },
    async updateAgent(orgId, agentId, patch, audit) {
      return write(async (c): Promise<TxWork<AgentWrite>> => {
        const current = maybe(toAgentColumns, await firstOf(c, 'SELECT name, env, status FROM agents WHERE org_id = $1 AND id = $2 FOR UPDATE', [orgId, agentId]));
        if (!current) return fail('agent_not_found');
        const name = patch.name ?? current.name;
        if (name !== current.name && (await nameTaken(c, orgId, name))) return fail('agent_name_exists');
        if (patch.env_vars) {
          if (!(await allExist(c, 'secrets', orgId, patch.env_vars.map((e) => e.from_secret_id)))) return fail('secret_not_found');
          await replaceEnvVars(c, agentId, patch.env_vars);
        }
        const env = patch.env === undefined ? current.env : JSON.stringify(patch.env);
        await rowsOf(c, 'UPDATE agents SET name = $1, env = $2, status = $3, updated_at = $4 WHERE id = $5', [
          name, env, patch.status ?? current.status, patch.updated_at, agentId,
        ]);
        return { result: { ok: true }, audit };
      }, nameConflict);
    },
    async deleteAgent(orgId, agentId, audit) {
      return write(async (c) => {
        const gone = (await rowsOf(c, 'DELETE FROM agents WHERE org_id = $1 AND id = $2 RETURNING id', [orgId, agentId])).length > 0;
        return { result: gone, audit: gone ? audit : [] };
      });
    },

    async attachVault(row, audit) {
      return write(async (c): Promise<TxWork<Awaited<ReturnType<AgentStore['attachVault']>>>> => {
        if (!(await agentExists(c, row.org_id, row.agent_id))) return { result: { ok: false, reason: 'agent_not_found' }, audit: [] };
        if (!(await allExist(c, 'vaults', row.org_id, [row.vault_id]))) return { result: { ok: false, reason: 'vault_not_found' }, audit: [] };
        // ON CONFLICT rather than a pre-check: a concurrent attach of the same vault waits
        // for the other to commit and then finds its row, instead of failing.
        if ((await attachIfAbsent(c, row)).length > 0) return { result: { ok: true, attachment: row, created: true }, audit };
        const existing = maybe(toAttachment, await firstOf(c, 'SELECT * FROM agent_vaults WHERE agent_id = $1 AND vault_id = $2', [row.agent_id, row.vault_id]));
        return { result: { ok: true, attachment: existing!, created: false }, audit: [] };
      });
    },
    async detachVault(orgId, agentId, by, audit) {
      return write(async (c): Promise<TxWork<AttachmentRow | null>> => {
        const [column, value] = 'vaultId' in by ? ['vault_id', by.vaultId] : ['id', by.attachmentId];
        const row = maybe(toAttachment, await firstOf(c, `DELETE FROM agent_vaults WHERE org_id = $1 AND agent_id = $2 AND ${column} = $3 RETURNING *`, [orgId, agentId, value]));
        return row ? { result: row, audit: audit(row) } : { result: null, audit: [] };
      });
    },
    async listAttachments(orgId, agentId) {
      if (!(await firstOf(pool, 'SELECT 1 FROM agents WHERE org_id = $1 AND id = $2', [orgId, agentId]))) return null;
      return (await rowsOf(pool, 'SELECT * FROM agent_vaults WHERE agent_id = $1 ORDER BY created_at, id', [agentId])).map(toAttachment);
    },

    async createAgentToken(row, audit) {
      return write(async (c) => {
        if (!(await agentExists(c, row.org_id, row.agent_id))) return { result: false, audit: [] };
        await rowsOf(c, 'INSERT INTO agent_tokens (id, org_id, agent_id, hash, created_at, revoked_at) VALUES ($1, $2, $3, $4, $5, $6)', [
          row.id, row.org_id, row.agent_id, row.hash, row.created_at, row.revoked_at,
        ]);
        return { result: true, audit };
      });
    },
    async revokeAgentToken(orgId, agentId, tokenId, revokedAt, audit) {
      return write(async (c) => {
        const changed = await rowsOf(
          c,
          'UPDATE agent_tokens SET revoked_at = $1 WHERE org_id = $2 AND agent_id = $3 AND id = $4 AND revoked_at IS NULL RETURNING id',
          [revokedAt, orgId, agentId, tokenId],
        );
        return { result: changed.length > 0, audit: changed.length > 0 ? audit : [] };
      });
    },
    async listAgentTokens(orgId, agentId) {
      if (!(await firstOf(pool, 'SELECT 1 FROM agents WHERE org_id = $1 AND id = $2', [orgId, agentId]))) return null;
      return (await rowsOf(pool, 'SELECT * FROM agent_tokens WHERE agent_id = $1 ORDER BY id', [agentId])).map(toAgentToken);
    },
    async findAgentTokenByHash(hash) {
      return maybe(toAgentToken, await firstOf(pool, 'SELECT * FROM agent_tokens WHERE hash = $1', [hash]));
    },

    async createGrant(row, audit) {
      return write(async (c): Promise<TxWork<Awaited<ReturnType<AgentStore['createGrant']>>>> => {
        if (!(await agentExists(c, row.org_id, row.agent_id))) return { result: { ok: false, reason: 'agent_not_found' }, audit: [] };
        if (!(await allExist(c, 'secrets', row.org_id, [row.secret_id]))) return { result: { ok: false, reason: 'secret_not_found' }, audit: [] };
        const inserted = await rowsOf(
          c,
          'INSERT INTO grants (id, org_id, agent_id, secret_id, created_at) VALUES ($1, $2, $3, $4, $5) ON CONFLICT (agent_id, secret_id) DO NOTHING RETURNING id',
          [row.id, row.org_id, row.agent_id, row.secret_id, row.created_at],
        );
        if (inserted.length > 0) return { result: { ok: true, grant: row, created: true }, audit };
        const existing = maybe(toGrant, await firstOf(c, 'SELECT * FROM grants WHERE agent_id = $1 AND secret_id = $2', [row.agent_id, row.secret_id]));
        return { result: { ok: true, grant: existing!, created: false }, audit: [] };
      });
    },
    async listGrants(orgId, filter) {
      const params: unknown[] = [orgId];
      const param = (v: unknown) => `$${params.push(v)}`;
      const byAgent = filter.agentId !== undefined ? `AND agent_id = ${param(filter.agentId)}` : '';
      const sql = `SELECT * FROM grants WHERE org_id = $1 ${byAgent} AND id > ${param(filter.page.after ?? '')} ORDER BY id LIMIT ${param(filter.page.limit)}`;
      return (await rowsOf(pool, sql, params)).map(toGrant);
    },
    async deleteGrant(orgId, grantId, audit) {
      return write(async (c): Promise<TxWork<GrantRow | null>> => {
        const row = maybe(toGrant, await firstOf(c, 'DELETE FROM grants WHERE org_id = $1 AND id = $2 RETURNING *', [orgId, grantId]));
        return row ? { result: row, audit: audit(row) } : { result: null, audit: [] };
      });
    },

    async agentAccessFacts(orgId, agentId) {
      const row = await firstOf(pool, accessFactsSql, [orgId, agentId]);
      if (!row) return null;
      const lists = toFactLists(row);
      return {
        agent: toAgentView(row),
        attached: lists.attached.map(toSecret),
        granted: lists.granted.map(toSecret),
        envVars: lists.env_secrets.map(toEnvSecret).map((e) => ({ name: e.name, secret: toSecret(e.secret) })),
      };
    },
    async findSecretsByEnvKey(orgId, envKey) {
      return (await rowsOf(pool, 'SELECT * FROM secrets WHERE org_id = $1 AND env_key = $2 ORDER BY id', [orgId, envKey])).map(toSecret);
    },
    async countDeployedAgentsWithVault(orgId, vaultId) {
      return countDeployed(pool, orgId, vaultId);
    },
  };
}
