// Secrets and their sealed versions on PostgreSQL, and master-key rotation (the wrapped keys).
import type pg from 'pg';
import { VaultError } from '../../contract/errors.js';
import { toSecret, toVersion, toVersionMeta } from '../sqlite/rows.js';
import type { RewrapResult, SecretRow, SecretUpdate, SecretVersionRow, SecretWrite, Store, WrappedKeyRef } from '../store.js';
import { decodeKeyring, encodeKeyring, keyringMetaKey } from './pg-meta.js';
import { liveServingNode } from './pg-nodes.js';
import { firstOf, rowsOf, type TxWork, type Write } from './pg-tx.js';

type SecretMethods = Pick<
  Store,
  'createSecret' | 'listSecrets' | 'getSecret' | 'getSecretVersion' | 'putSecretVersion' | 'deleteSecret' | 'listSecretVersions' | 'rewrapAll'
>;

/**
 * A node still holding the previous master key must not write data keys wrapped by it after a
 * rotation committed. The share lock makes this exact: rotation locks the keyring row first, so
 * either it waits for this transaction (and then re-wraps this row too) or this one waits for it
 * and then sees the new kek_id.
 */
async function requireCurrentKek(c: pg.PoolClient, kekId: string): Promise<void> {
  const row = await firstOf<{ value: Buffer }>(c, 'SELECT value FROM meta WHERE key = $1 FOR SHARE', [keyringMetaKey]);
  if (!row || decodeKeyring(row.value).kek_id !== kekId) {
    throw new VaultError('unavailable', 'the master key was rotated: restart this node with the new key');
  }
}

const insertSecretSql = `INSERT INTO secrets (id, org_id, vault_id, env_key, allowed_domains, inject_in, description, labels, revealable, version, created_at, updated_at)
  VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)`;

const insertVersionSql = `INSERT INTO secret_versions (secret_id, version, created_at, actor, changed, allowed_domains, inject_in, description, kek_id, wrapped_key, ciphertext, fingerprint)
  VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)`;

function versionParams(v: SecretVersionRow): unknown[] {
  const json = JSON.stringify;
  return [v.secret_id, v.version, v.created_at, v.actor, json(v.changed), json(v.allowed_domains), json(v.inject_in), v.description, v.kek_id, v.wrapped_key, v.ciphertext, v.fingerprint];
}

export function createPgSecretMethods(pool: pg.Pool, write: Write): SecretMethods {
  const getSecret = (c: pg.PoolClient | pg.Pool, orgId: string, secretId: string, lock = '') =>
    firstOf(c, `SELECT * FROM secrets WHERE org_id = $1 AND id = $2 ${lock}`, [orgId, secretId]);

  return {
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
      const row = await getSecret(pool, orgId, secretId);
      return row ? toSecret(row) : null;
    },
    async getSecretVersion(orgId, secretId, version) {
      const row = await firstOf(
        pool,
        'SELECT v.* FROM secret_versions v JOIN secrets s ON s.id = v.secret_id WHERE s.org_id = $1 AND v.secret_id = $2 AND v.version = $3',
        [orgId, secretId, version],
      );
      return row ? toVersion(row) : null;
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
            'UPDATE secrets SET allowed_domains = $1, inject_in = $2, description = $3, version = $4, updated_at = $5 WHERE id = $6',
            [JSON.stringify(r.allowed_domains), JSON.stringify(r.inject_in), r.description, r.version, r.updated_at, r.id],
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
        const refs = await rowsOf<WrappedKeyRef>(
          c,
          'SELECT s.org_id, s.vault_id, v.secret_id, v.version, v.kek_id, v.wrapped_key FROM secret_versions v JOIN secrets s ON s.id = v.secret_id',
        );
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
