// Orgs, API keys, vaults, secrets and their sealed versions on SQLite, and master-key rotation.
import type Database from 'better-sqlite3';
import { masterKeyRotated } from '../../contract/errors.js';
import { encodeKeyring, keyringMetaKey } from '../meta-codec.js';
import { int, maybe, rowDecoder, text, toApiKey, toOrg, toSecret, toVault, toVersion, toVersionMeta, toWrappedKeyRef } from '../rows.js';
import type { SecretStore } from '../secret-store.js';
import type { ApiKeyRow, OrgRow, RewrapResult, SecretRow, SecretUpdate, SecretVersionRow, SecretWrite, VaultDelete } from '../types.js';
import type { ReadCache } from './read-cache.js';
import { countDeployed } from './sqlite-agents.js';
import { keyringReader } from './sqlite-meta.js';
import { liveServingNode } from './sqlite-nodes.js';
import type { Tx, Write } from './tx.js';

const nullableJson = (v: unknown) => (v === null ? null : JSON.stringify(v));

const toSecretRef = rowDecoder<{ id: string; env_key: string }>({ id: text, env_key: text });

function secretParams(row: SecretRow) {
  return {
    ...row,
    allowed_domains: JSON.stringify(row.allowed_domains),
    inject_in: JSON.stringify(row.inject_in),
    labels: JSON.stringify(row.labels),
    revealable: row.revealable ? 1 : 0,
    rules: nullableJson(row.rules),
    rate_limit: nullableJson(row.rate_limit),
    signing: nullableJson(row.signing),
  };
}

function versionParams(v: SecretVersionRow) {
  return {
    ...v,
    changed: JSON.stringify(v.changed),
    allowed_domains: JSON.stringify(v.allowed_domains),
    inject_in: JSON.stringify(v.inject_in),
  };
}

function prepareQueries(db: Database.Database) {
  const vaultColumns = `v.*, (SELECT COUNT(*) FROM secrets s WHERE s.vault_id = v.id) AS secret_count`;
  return {
    insertKey: db.prepare('INSERT INTO api_keys (id, org_id, name, hash, created_at, revoked_at) VALUES (@id, @org_id, @name, @hash, @created_at, @revoked_at)'),
    keyByHash: db.prepare('SELECT * FROM api_keys WHERE hash = ?'),
    vaultByName: db.prepare('SELECT 1 FROM vaults WHERE org_id = ? AND name = ?'),
    vaultExists: db.prepare('SELECT 1 FROM vaults WHERE org_id = ? AND id = ?'),
    insertVault: db.prepare('INSERT INTO vaults (id, org_id, name, description, created_at, updated_at) VALUES (@id, @org_id, @name, @description, @created_at, @updated_at)'),
    getVault: db.prepare(`SELECT ${vaultColumns} FROM vaults v WHERE v.org_id = ? AND v.id = ?`),
    getVaultByName: db.prepare(`SELECT ${vaultColumns} FROM vaults v WHERE v.org_id = ? AND v.name = ?`),
    listVaults: db.prepare(`SELECT ${vaultColumns} FROM vaults v WHERE v.org_id = ? AND v.id > ? ORDER BY v.id LIMIT ?`),
    secretByKey: db.prepare('SELECT 1 FROM secrets WHERE vault_id = ? AND env_key = ?'),
    getSecret: db.prepare('SELECT * FROM secrets WHERE org_id = ? AND id = ?'),
    secretVersion: db.prepare('SELECT version FROM secrets WHERE org_id = ? AND id = ?').pluck(),
    getVersion: db.prepare(
      'SELECT v.* FROM secret_versions v JOIN secrets s ON s.id = v.secret_id WHERE s.org_id = ? AND v.secret_id = ? AND v.version = ?',
    ),
    insertSecret: db.prepare(
      `INSERT INTO secrets (id, org_id, vault_id, env_key, allowed_domains, inject_in, description, labels, revealable, version, created_at, updated_at, type, rules, rate_limit, signing)
       VALUES (@id, @org_id, @vault_id, @env_key, @allowed_domains, @inject_in, @description, @labels, @revealable, @version, @created_at, @updated_at, @type, @rules, @rate_limit, @signing)`,
    ),
    updateSecret: db.prepare(
      `UPDATE secrets SET allowed_domains = @allowed_domains, inject_in = @inject_in, description = @description, version = @version, updated_at = @updated_at,
       rules = @rules, rate_limit = @rate_limit, signing = @signing
       WHERE id = @id`,
    ),
    insertVersion: db.prepare(
      `INSERT INTO secret_versions (secret_id, version, created_at, actor, changed, allowed_domains, inject_in, description, kek_id, wrapped_key, ciphertext, fingerprint)
       VALUES (@secret_id, @version, @created_at, @actor, @changed, @allowed_domains, @inject_in, @description, @kek_id, @wrapped_key, @ciphertext, @fingerprint)`,
    ),
  };
}

export function createSqliteSecretMethods(db: Database.Database, write: Write, cache: ReadCache): SecretStore {
  const q = prepareQueries(db);
  const keyring = keyringReader(db);

  /**
   * A node still holding the previous master key must not write data keys wrapped by it after a
   * rotation committed: checked inside the write transaction, so no such row can land.
   */
  function requireCurrentKek(kekId: string): void {
    if (keyring()?.kek_id !== kekId) {
      throw masterKeyRotated();
    }
  }

  /** One prepared statement per number of label filters (the API allows at most a handful). */
  const listSecretsStatements = new Map<number, Database.Statement>();
  function listSecretsQuery(labelFilters: number): Database.Statement {
    let statement = listSecretsStatements.get(labelFilters);
    if (!statement) {
      const clauses = Array.from({ length: labelFilters }, () => 'AND EXISTS (SELECT 1 FROM json_each(s.labels) j WHERE j.key = ? AND j.value = ?)');
      statement = db.prepare(`SELECT * FROM secrets s WHERE s.org_id = ? AND s.vault_id = ? AND s.id > ? ${clauses.join(' ')} ORDER BY s.id LIMIT ?`);
      if (listSecretsStatements.size < 32) listSecretsStatements.set(labelFilters, statement);
    }
    return statement;
  }

  const vaultWithCount = (orgId: string, vaultId: string) => maybe(toVault, q.getVault.get(orgId, vaultId));
  /** The secret's current version, or null when the org has no such secret. */
  const currentVersion = (orgId: string, secretId: string) => maybe(int, q.secretVersion.get(orgId, secretId));

  return {
    async getDefaultOrg() {
      return maybe(toOrg, db.prepare('SELECT * FROM orgs WHERE is_default = 1').get());
    },
    async findOrgByName(name) {
      return maybe(toOrg, db.prepare('SELECT * FROM orgs WHERE name = ?').get(name));
    },
    async createOrg(org: OrgRow, key: ApiKeyRow, audit) {
      return write((): Tx<Awaited<ReturnType<SecretStore['createOrg']>>> => {
        if (db.prepare('SELECT 1 FROM orgs WHERE name = ?').get(org.name)) {
          return { result: { ok: false, reason: 'org_name_exists' }, audit: [] };
        }
        db.prepare('INSERT INTO orgs (id, name, is_default, created_at) VALUES (?, ?, ?, ?)').run(org.id, org.name, org.is_default ? 1 : 0, org.created_at);
        q.insertKey.run(key);
        return { result: { ok: true }, audit };
      });
    },
    async findApiKeyByHash(hash) {
      return maybe(toApiKey, q.keyByHash.get(hash));
    },
    async createApiKey(key, audit) {
      write(() => {
        q.insertKey.run(key);
        return { result: undefined, audit };
      });
    },
    async revokeApiKey(keyId, revokedAt, audit) {
      return write((): Tx<ApiKeyRow | null> => {
        const key = maybe(toApiKey, db.prepare('SELECT * FROM api_keys WHERE id = ?').get(keyId));
        if (!key) return { result: null, audit: [] };
        if (key.revoked_at) return { result: key, audit: [] };
        db.prepare('UPDATE api_keys SET revoked_at = ? WHERE id = ?').run(revokedAt, keyId);
        return { result: { ...key, revoked_at: revokedAt }, audit: audit(key) };
      });
    },

    async createVault(row, audit) {
      return write((): Tx<Awaited<ReturnType<SecretStore['createVault']>>> => {
        if (q.vaultByName.get(row.org_id, row.name)) return { result: { ok: false, reason: 'vault_name_exists' }, audit: [] };
        q.insertVault.run(row);
        return { result: { ok: true }, audit };
      });
    },
    async listVaults(orgId, page) {
      return q.listVaults.all(orgId, page.after ?? '', page.limit).map(toVault);
    },
    async getVault(orgId, vaultId) {
      return vaultWithCount(orgId, vaultId);
    },
    async vaultExists(orgId, vaultId) {
      return q.vaultExists.get(orgId, vaultId) !== undefined;
    },
    async findVaultByName(orgId, name) {
      return maybe(toVault, q.getVaultByName.get(orgId, name));
    },
    async updateVault(orgId, vaultId, patch, audit) {
      return write((): Tx<Awaited<ReturnType<SecretStore['updateVault']>>> => {
        const current = vaultWithCount(orgId, vaultId);
        if (!current) return { result: { ok: false, reason: 'not_found' }, audit: [] };
        const name = patch.name ?? current.name;
        if (name !== current.name && q.vaultByName.get(orgId, name)) {
          return { result: { ok: false, reason: 'vault_name_exists' }, audit: [] };
        }
        const description = patch.description === undefined ? current.description : patch.description;
        db.prepare('UPDATE vaults SET name = ?, description = ?, updated_at = ? WHERE id = ?').run(name, description, patch.updated_at, vaultId);
        return { result: { ok: true, vault: { ...current, name, description, updated_at: patch.updated_at } }, audit };
      });
    },
    async deleteVault(orgId, vaultId, audit) {
      return write((): Tx<VaultDelete> => {
        const vault = vaultWithCount(orgId, vaultId);
        if (!vault) return { result: { ok: false, reason: 'not_found' }, audit: [] };
        const deployedAgents = countDeployed(db, orgId, vaultId);
        if (deployedAgents > 0) return { result: { ok: false, reason: 'in_use', deployedAgents }, audit: [] };
        const secrets = db.prepare('SELECT id, env_key FROM secrets WHERE vault_id = ? ORDER BY id').all(vaultId).map(toSecretRef);
        db.prepare('DELETE FROM vaults WHERE id = ? AND org_id = ?').run(vaultId, orgId);
        return { result: { ok: true }, audit: audit(vault, secrets) };
      });
    },

    async createSecret(row, version, audit) {
      return write((): Tx<SecretWrite> => {
        if (!q.vaultExists.get(row.org_id, row.vault_id)) return { result: { ok: false, reason: 'vault_not_found' }, audit: [] };
        if (q.secretByKey.get(row.vault_id, row.env_key)) return { result: { ok: false, reason: 'env_key_exists' }, audit: [] };
        requireCurrentKek(version.kek_id);
        q.insertSecret.run(secretParams(row));
        q.insertVersion.run(versionParams(version));
        return { result: { ok: true }, audit };
      });
    },
    async listSecrets(orgId, vaultId, filter) {
      if (!q.vaultExists.get(orgId, vaultId)) return null;
      const params = [orgId, vaultId, filter.page.after ?? '', ...filter.labels.flat(), filter.page.limit];
      return listSecretsQuery(filter.labels.length).all(...params).map(toSecret);
    },
    async getSecret(orgId, secretId) {
      return maybe(toSecret, q.getSecret.get(orgId, secretId));
    },
    async getSecretVersion(orgId, secretId, version) {
      return cache.memo('version', `${orgId}/${secretId}/${version}`, () => maybe(toVersion, q.getVersion.get(orgId, secretId, version)));
    },
    async putSecretVersion(orgId, secretId, baseVersion, next, audit) {
      return write((): Tx<SecretUpdate> => {
        const current = currentVersion(orgId, secretId);
        if (current === null) return { result: { ok: false, reason: 'not_found' }, audit: [] };
        if (current !== baseVersion) return { result: { ok: false, reason: 'version_mismatch' }, audit: [] };
        requireCurrentKek(next.version.kek_id);
        q.updateSecret.run(secretParams(next.row));
        q.insertVersion.run(versionParams(next.version));
        return { result: { ok: true }, audit };
      });
    },
    async deleteSecret(orgId, secretId, expectedVersion, audit) {
      return write((): Tx<SecretUpdate> => {
        const current = currentVersion(orgId, secretId);
        if (current === null) return { result: { ok: false, reason: 'not_found' }, audit: [] };
        if (expectedVersion !== null && current !== expectedVersion) {
          return { result: { ok: false, reason: 'version_mismatch' }, audit: [] };
        }
        db.prepare('DELETE FROM secrets WHERE id = ?').run(secretId);
        return { result: { ok: true }, audit };
      });
    },
    async listSecretVersions(orgId, secretId) {
      if (!q.getSecret.get(orgId, secretId)) return null;
      return db
        .prepare('SELECT version, created_at, actor, changed, allowed_domains, inject_in, description FROM secret_versions WHERE secret_id = ? ORDER BY version DESC')
        .all(secretId)
        .map(toVersionMeta);
    },

    async rewrapAll(next, rewrap, audit, liveSince) {
      return write((): Tx<RewrapResult> => {
        const live = liveServingNode(db, liveSince);
        if (live) return { result: { ok: false, reason: 'node_serving', node: live }, audit: [] };
        const refs = db
          .prepare('SELECT s.org_id, s.vault_id, v.secret_id, v.version, v.kek_id, v.wrapped_key FROM secret_versions v JOIN secrets s ON s.id = v.secret_id')
          .all()
          .map(toWrappedKeyRef);
        const update = db.prepare('UPDATE secret_versions SET kek_id = ?, wrapped_key = ? WHERE secret_id = ? AND version = ?');
        for (const ref of refs) update.run(next.kek_id, rewrap(ref), ref.secret_id, ref.version);
        db.prepare('UPDATE meta SET value = ? WHERE key = ?').run(encodeKeyring(next), keyringMetaKey);
        return { result: { ok: true, rewrapped: refs.length }, audit };
      });
    },
  };
}
