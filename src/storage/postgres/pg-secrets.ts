// Orgs, API keys, vaults, secrets and their sealed versions on PostgreSQL, and master-key rotation.
import type pg from 'pg';
import { masterKeyRotated } from '../../contract/errors.js';
import { encodeKeyring, keyringMetaKey } from '../meta-codec.js';
import { maybe, rowDecoder, text, toApiKey, toOrg, toSecret, toVault, toVersion, toVersionMeta, toWrappedKeyRef } from '../rows.js';
import type { SecretStore } from '../secret-store.js';
import type { ApiKeyRow, OrgRow, RewrapResult, SecretRow, SecretUpdate, SecretVersionRow, SecretWrite, VaultDelete } from '../types.js';
import { countDeployed } from './pg-agents.js';
import { readKeyring } from './pg-meta.js';
import { liveServingNode } from './pg-nodes.js';
import { firstOf, rowsOf, type TxWork, type Write } from './pg-tx.js';

const vaultColumns = 'v.*, (SELECT COUNT(*)::int FROM secrets s WHERE s.vault_id = v.id) AS secret_count';

const toSecretRef = rowDecoder<{ id: string; env_key: string }>({ id: text, env_key: text });

/**
 * A node still holding the previous master key must not write data keys wrapped by it after a
 * rotation committed. The share lock makes this exact: rotation locks the keyring row first, so
 * either it waits for this transaction (and then re-wraps this row too) or this one waits for it
 * and then sees the new kek_id.
 */
async function requireCurrentKek(c: pg.PoolClient, kekId: string): Promise<void> {
  if ((await readKeyring(c, 'FOR SHARE'))?.kek_id !== kekId) {
    throw masterKeyRotated();
  }
}

const insertSecretSql = `INSERT INTO secrets (id, org_id, vault_id, env_key, allowed_domains, inject_in, description, labels, revealable, version, created_at, updated_at, type, rules, rate_limit, signing)
  VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16)`;

const nullableJson = (v: unknown) => (v === null ? null : JSON.stringify(v));

const insertVersionSql = `INSERT INTO secret_versions (secret_id, version, created_at, actor, changed, allowed_domains, inject_in, description, kek_id, wrapped_key, ciphertext, fingerprint)
  VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)`;

function versionParams(v: SecretVersionRow): unknown[] {
  const json = JSON.stringify;
  return [v.secret_id, v.version, v.created_at, v.actor, json(v.changed), json(v.allowed_domains), json(v.inject_in), v.description, v.kek_id, v.wrapped_key, v.ciphertext, v.fingerprint];
}

export function createPgSecretMethods(pool: pg.Pool, write: Write): SecretStore {
  const vaultWithCount = async (c: pg.Pool | pg.PoolClient, orgId: string, vaultId: string, lock = '') =>
    maybe(toVault, await firstOf(c, `SELECT ${vaultColumns} FROM vaults v WHERE v.org_id = $1 AND v.id = $2 ${lock}`, [orgId, vaultId]));
  const vaultNameTaken = (c: pg.PoolClient, orgId: string, name: string) => firstOf(c, 'SELECT 1 FROM vaults WHERE org_id = $1 AND name = $2', [orgId, name]);
  const insertKey = (c: pg.PoolClient, key: ApiKeyRow) =>
    rowsOf(c, 'INSERT INTO api_keys (id, org_id, name, hash, created_at, revoked_at) VALUES ($1, $2, $3, $4, $5, $6)', [key.id, key.org_id, key.name, key.hash, key.created_at, key.revoked_at]);
  const getSecret = (c: pg.PoolClient | pg.Pool, orgId: string, secretId: string, lock = '') =>
    firstOf(c, `SELECT * FROM secrets WHERE org_id = $1 AND id = $2 ${lock}`, [orgId, secretId]);

  return {
    async getDefaultOrg() {
      return maybe(toOrg, await firstOf(pool, 'SELECT * FROM orgs WHERE is_default'));
    },
    async findOrgByName(name) {
      return maybe(toOrg, await firstOf(pool, 'SELECT * FROM orgs WHERE name = $1', [name]));
    },
    async createOrg(org: OrgRow, key: ApiKeyRow, audit) {
      type R = Awaited<ReturnType<SecretStore['createOrg']>>;
      return write(
        async (c): Promise<TxWork<R>> => {
          if (await firstOf(c, 'SELECT 1 FROM orgs WHERE name = $1', [org.name])) return { result: { ok: false, reason: 'org_name_exists' }, audit: [] };
          await rowsOf(c, 'INSERT INTO orgs (id, name, is_default, created_at) VALUES ($1, $2, $3, $4)', [org.id, org.name, org.is_default, org.created_at]);
          await insertKey(c, key);
          return { result: { ok: true }, audit };
        },
        { orgs_name_key: { ok: false, reason: 'org_name_exists' } },
      );
    },
    async findApiKeyByHash(hash) {
      return maybe(toApiKey, await firstOf(pool, 'SELECT * FROM api_keys WHERE hash = $1', [hash]));
    },
    async createApiKey(key, audit) {
      await write(async (c) => {
        await insertKey(c, key);
        return { result: undefined, audit };
      });
    },
    async revokeApiKey(keyId, revokedAt, audit) {
      return write(async (c): Promise<TxWork<ApiKeyRow | null>> => {
        const key = maybe(toApiKey, await firstOf(c, 'SELECT * FROM api_keys WHERE id = $1 FOR UPDATE', [keyId]));
        if (!key) return { result: null, audit: [] };
        if (key.revoked_at) return { result: key, audit: [] };
        await rowsOf(c, 'UPDATE api_keys SET revoked_at = $1 WHERE id = $2', [revokedAt, keyId]);
        return { result: { ...key, revoked_at: revokedAt }, audit: audit(key) };
      });
    },

    async createVault(row, audit) {
      type R = Awaited<ReturnType<SecretStore['createVault']>>;
      return write(
        async (c): Promise<TxWork<R>> => {
          if (await vaultNameTaken(c, row.org_id, row.name)) return { result: { ok: false, reason: 'vault_name_exists' }, audit: [] };
          await rowsOf(c, 'INSERT INTO vaults (id, org_id, name, description, created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $6)', [
            row.id, row.org_id, row.name, row.description, row.created_at, row.updated_at,
          ]);
          return { result: { ok: true }, audit };
        },
        { vaults_org_name_key: { ok: false, reason: 'vault_name_exists' } },
      );
    },
    async listVaults(orgId, page) {
      return (await rowsOf(pool, `SELECT ${vaultColumns} FROM vaults v WHERE v.org_id = $1 AND v.id > $2 ORDER BY v.id LIMIT $3`, [orgId, page.after ?? '', page.limit])).map(toVault);
    },
    async getVault(orgId, vaultId) {
      return vaultWithCount(pool, orgId, vaultId);
    },
    async vaultExists(orgId, vaultId) {
      return (await firstOf(pool, 'SELECT 1 FROM vaults WHERE org_id = $1 AND id = $2', [orgId, vaultId])) !== null;
    },
    async findVaultByName(orgId, name) {
      return maybe(toVault, await firstOf(pool, `SELECT ${vaultColumns} FROM vaults v WHERE v.org_id = $1 AND v.name = $2`, [orgId, name]));
    },
    async updateVault(orgId, vaultId, patch, audit) {
      type R = Awaited<ReturnType<SecretStore['updateVault']>>;
      return write(
        async (c): Promise<TxWork<R>> => {
          const current = await vaultWithCount(c, orgId, vaultId, 'FOR UPDATE OF v');
          if (!current) return { result: { ok: false, reason: 'not_found' }, audit: [] };
          const name = patch.name ?? current.name;
          if (name !== current.name && (await vaultNameTaken(c, orgId, name))) return { result: { ok: false, reason: 'vault_name_exists' }, audit: [] };
          const description = patch.description === undefined ? current.description : patch.description;
          await rowsOf(c, 'UPDATE vaults SET name = $1, description = $2, updated_at = $3 WHERE id = $4', [name, description, patch.updated_at, vaultId]);
          return { result: { ok: true, vault: { ...current, name, description, updated_at: patch.updated_at } }, audit };
        },
        { vaults_org_name_key: { ok: false, reason: 'vault_name_exists' } },
      );
    },
    async deleteVault(orgId, vaultId, audit) {
      return write(async (c): Promise<TxWork<VaultDelete>> => {
        // The row lock waits out attaches and secret creations (they hold KEY SHARE on it).
        const vault = await vaultWithCount(c, orgId, vaultId, 'FOR UPDATE OF v');
        if (!vault) return { result: { ok: false, reason: 'not_found' }, audit: [] };
        const deployedAgents = await countDeployed(c, orgId, vaultId);
        if (deployedAgents > 0) return { result: { ok: false, reason: 'in_use', deployedAgents }, audit: [] };
        const secrets = (await rowsOf(c, 'SELECT id, env_key FROM secrets WHERE vault_id = $1 ORDER BY id', [vaultId])).map(toSecretRef);
        await rowsOf(c, 'DELETE FROM vaults WHERE id = $1 AND org_id = $2', [vaultId, orgId]);
        return { result: { ok: true }, audit: audit(vault, secrets) };
      });
    },

    async createSecret(row, version, audit) {
      return write(
        async (c): Promise<TxWork<SecretWrite>> => {
          // KEY SHARE keeps the vault from being deleted before this insert commits.
          if (!(await firstOf(c, 'SELECT 1 FROM vaults WHERE org_id = $1 AND id = $2 FOR KEY SHARE', [row.org_id, row.vault_id]))) {
            return { result: { ok: false, reason: 'vault_not_found' }, audit: [] };
          }
          if (await firstOf(c, 'SELECT 1 FROM secrets WHERE vault_id = $1 AND env_key = $2', [row.vault_id, row.env_key])) {
            return { result: { ok: false, reason: 'env_key_exists' }, audit: [] };
          }
          await requireCurrentKek(c, version.kek_id);
          const json = JSON.stringify;
          await rowsOf(c, insertSecretSql, [
            row.id, row.org_id, row.vault_id, row.env_key, json(row.allowed_domains), json(row.inject_in), row.description,
            json(row.labels), row.revealable, row.version, row.created_at, row.updated_at,
            row.type, nullableJson(row.rules), nullableJson(row.rate_limit), nullableJson(row.signing),
          ]);
          await rowsOf(c, insertVersionSql, versionParams(version));
          return { result: { ok: true }, audit };
        },
        { secrets_vault_env_key_key: { ok: false, reason: 'env_key_exists' } },
      );
    },
    async listSecrets(orgId, vaultId, filter) {
      if (!(await firstOf(pool, 'SELECT 1 FROM vaults WHERE org_id = $1 AND id = $2', [orgId, vaultId]))) return null;
      const params: unknown[] = [orgId, vaultId, filter.page.after ?? ''];
      const param = (v: unknown) => `$${params.push(v)}`;
      // Compares the stored JSON text of the value with the filter's JSON.stringify: no
      // unescaping, so a "\u0000" inside some label cannot make the filter itself fail.
      const clauses = filter.labels.map(([k, v]) => `AND (s.labels::json -> ${param(k)}::text)::text = ${param(JSON.stringify(v))}::text`);
      const sql = `SELECT * FROM secrets s WHERE s.org_id = $1 AND s.vault_id = $2 AND s.id > $3 ${clauses.join(' ')} ORDER BY s.id LIMIT ${param(filter.page.limit)}`;
      return (await rowsOf(pool, sql, params)).map(toSecret);
    },
    async getSecret(orgId, secretId) {
      return maybe(toSecret, await getSecret(pool, orgId, secretId));
    },
    async getSecretVersion(orgId, secretId, version) {
      const row = await firstOf(
        pool,
        'SELECT v.* FROM secret_versions v JOIN secrets s ON s.id = v.secret_id WHERE s.org_id = $1 AND v.secret_id = $2 AND v.version = $3',
        [orgId, secretId, version],
      );
      return maybe(toVersion, row);
    },
    async putSecretVersion(orgId, secretId, baseVersion, next, audit) {
      return write(
        async (c): Promise<TxWork<SecretUpdate>> => {
          // Compare-and-swap: the row lock holds every other writer of this secret until COMMIT.
          const current = await getSecret(c, orgId, secretId, 'FOR UPDATE');
          if (!current) return { result: { ok: false, reason: 'not_found' }, audit: [] };
          if (current.version !== baseVersion) return { result: { ok: false, reason: 'version_mismatch' }, audit: [] };
          await requireCurrentKek(c, next.version.kek_id);
          const r: SecretRow = next.row;
          await rowsOf(
            c,
            'UPDATE secrets SET allowed_domains = $1, inject_in = $2, description = $3, version = $4, updated_at = $5, rules = $6, rate_limit = $7, signing = $8 WHERE id = $9',
            [
              JSON.stringify(r.allowed_domains), JSON.stringify(r.inject_in), r.description, r.version, r.updated_at,
              nullableJson(r.rules), nullableJson(r.rate_limit), nullableJson(r.signing), r.id,
            ],
          );
          await rowsOf(c, insertVersionSql, versionParams(next.version));
          return { result: { ok: true }, audit };
        },
        { secret_versions_pkey: { ok: false, reason: 'version_mismatch' } },
      );
    },
    async deleteSecret(orgId, secretId, expectedVersion, audit) {
      return write(async (c): Promise<TxWork<SecretUpdate>> => {
        const current = await getSecret(c, orgId, secretId, 'FOR UPDATE');
        if (!current) return { result: { ok: false, reason: 'not_found' }, audit: [] };
        if (expectedVersion !== null && current.version !== expectedVersion) {
          return { result: { ok: false, reason: 'version_mismatch' }, audit: [] };
        }
        await rowsOf(c, 'DELETE FROM secrets WHERE id = $1', [secretId]);
        return { result: { ok: true }, audit };
      });
    },
    async listSecretVersions(orgId, secretId) {
      if (!(await getSecret(pool, orgId, secretId))) return null;
      const rows = await rowsOf(
        pool,
        'SELECT version, created_at, actor, changed, allowed_domains, inject_in, description FROM secret_versions WHERE secret_id = $1 ORDER BY version DESC',
        [secretId],
      );
      return rows.map(toVersionMeta);
    },

    async rewrapAll(next, rewrap, audit, liveSince) {
      return write(async (c): Promise<TxWork<RewrapResult>> => {
        // First, so that no secret write can slip a row wrapped by the old key in meanwhile, and
        // no node can register unseen (it takes a share lock on this row, see pg-nodes.ts).
        await rowsOf(c, 'SELECT 1 FROM meta WHERE key = $1 FOR UPDATE', [keyringMetaKey]);
        const live = await liveServingNode(c, liveSince);
        if (live) return { result: { ok: false, reason: 'node_serving', node: live }, audit: [] };
        const refs = (
          await rowsOf(c, 'SELECT s.org_id, s.vault_id, v.secret_id, v.version, v.kek_id, v.wrapped_key FROM secret_versions v JOIN secrets s ON s.id = v.secret_id')
        ).map(toWrappedKeyRef);
        const rewrapped = refs.map((ref) => rewrap(ref));
        await rowsOf(
          c,
          `UPDATE secret_versions v SET kek_id = $1, wrapped_key = n.wrapped_key
           FROM unnest($2::text[], $3::int[], $4::bytea[]) AS n(secret_id, version, wrapped_key)
           WHERE v.secret_id = n.secret_id AND v.version = n.version`,
          [next.kek_id, refs.map((r) => r.secret_id), refs.map((r) => r.version), rewrapped],
        );
        await rowsOf(c, 'UPDATE meta SET value = $1 WHERE key = $2', [encodeKeyring(next), keyringMetaKey]);
        return { result: { ok: true, rewrapped: refs.length }, audit };
      });
    },
  };
}
