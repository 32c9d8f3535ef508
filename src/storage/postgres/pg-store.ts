// The shared Store on PostgreSQL (pg pool): one transaction per method, for any number of nodes.
import pg from 'pg';
import { toApiKey, toOrg } from '../sqlite/rows.js';
import type { ApiKeyRow, AuditDraft, KeyringRow, OrgRow, Store, VaultDelete, VaultWithCount } from '../store.js';
import { migrate } from './migrations.js';
import { countDeployed, createPgAgentMethods } from './pg-agents.js';
import { appendInTx, listAudit } from './pg-audit.js';
import { startAuditHub, type AuditHub } from './pg-listen.js';
import { decodeKeyring, ensureKeyring, keyringMetaKey } from './pg-meta.js';
import { createPgNodeMethods } from './pg-nodes.js';
import { createPgSecretMethods } from './pg-secrets.js';
import { firstOf, isUniqueViolation, rowsOf, transaction, type TxWork, type Write } from './pg-tx.js';

export { inspectPostgresStore } from './pg-meta.js';

export interface PostgresStoreOptions {
  url: string;
  auditKey: Buffer;
  /** Written on first open; on later opens (by any node) it must equal the stored one. */
  keyring: KeyringRow;
  poolSize?: number;
}

const vaultColumns = 'v.*, (SELECT COUNT(*)::int FROM secrets s WHERE s.vault_id = v.id) AS secret_count';

export async function openPostgresStore(opts: PostgresStoreOptions): Promise<Store> {
  const pool = new pg.Pool({ connectionString: opts.url, max: opts.poolSize ?? 10, connectionTimeoutMillis: 10_000, application_name: 'vaultgate' });
  // An idle pooled connection that dies (database restart) is dropped by the pool; unheard, its
  // error event would crash the process. The next checkout opens a fresh connection.
  pool.on('error', () => undefined);
  let hub: AuditHub;
  try {
    await migrate(pool);
    await ensureKeyring(pool, opts.keyring);
    hub = await startAuditHub({ url: opts.url, pool });
  } catch (err) {
    await pool.end().catch(() => undefined);
    throw err;
  }

  const write: Write = async (fn, conflicts) => {
    let announced: [string, number][] = [];
    try {
      const result = await transaction(pool, async (c) => {
        const work = await fn(c);
        announced = await appendInTx(c, opts.auditKey, work.audit);
        return work.result;
      });
      // Committed: wake this node's listeners now; other nodes hear the NOTIFY sent at COMMIT.
      hub.announce(announced);
      return result;
    } catch (err) {
      if (conflicts && isUniqueViolation(err) && Object.hasOwn(conflicts, err.constraint)) return conflicts[err.constraint]!;
      throw err;
    }
  };

  /**
   * Group commit for stand-alone audit appends (reveals, reads, proxy injections), as in SQLite:
   * callers of one event-loop turn share a transaction, batches run one after another so the
   * chain keeps call order, and a failing batch is retried one caller at a time.
   */
  type Pending = { audit: AuditDraft[]; resolve: () => void; reject: (err: unknown) => void };
  let pendingAudit: Pending[] = [];
  let draining: Promise<void> | null = null;
  async function drainAudit(): Promise<void> {
    await new Promise((resolve) => setImmediate(resolve));
    while (pendingAudit.length > 0) {
      const batch = pendingAudit;
      pendingAudit = [];
      try {
        await write(async () => ({ result: undefined, audit: batch.flatMap((b) => b.audit) }));
        for (const b of batch) b.resolve();
      } catch {
        for (const b of batch) {
          await write(async () => ({ result: undefined, audit: b.audit })).then(b.resolve, b.reject);
        }
      }
    }
    draining = null;
  }

  const vaultWithCount = (c: pg.Pool | pg.PoolClient, orgId: string, vaultId: string, lock = '') =>
    firstOf<VaultWithCount>(c, `SELECT ${vaultColumns} FROM vaults v WHERE v.org_id = $1 AND v.id = $2 ${lock}`, [orgId, vaultId]);
  const vaultNameTaken = (c: pg.PoolClient, orgId: string, name: string) => firstOf(c, 'SELECT 1 FROM vaults WHERE org_id = $1 AND name = $2', [orgId, name]);
  const insertKey = (c: pg.PoolClient, key: ApiKeyRow) =>
    rowsOf(c, 'INSERT INTO api_keys (id, org_id, name, hash, created_at, revoked_at) VALUES ($1, $2, $3, $4, $5, $6)', [key.id, key.org_id, key.name, key.hash, key.created_at, key.revoked_at]);

  let closing: Promise<void> | null = null;

  const store: Store = {
    ...createPgAgentMethods(pool, write),
    ...createPgSecretMethods(pool, write),
    ...createPgNodeMethods(pool),
    backend: 'postgres',
    close() {
      closing ??= (async () => {
        await draining;
        await hub.close();
        await pool.end();
      })();
      return closing;
    },
    async ping() {
      await rowsOf(pool, 'SELECT 1');
    },
    async getKeyring() {
      const row = await firstOf<{ value: Buffer }>(pool, 'SELECT value FROM meta WHERE key = $1', [keyringMetaKey]);
      return row ? decodeKeyring(row.value) : null;
    },

    async getDefaultOrg() {
      const row = await firstOf(pool, 'SELECT * FROM orgs WHERE is_default');
      return row ? toOrg(row) : null;
    },
    async findOrgByName(name) {
      const row = await firstOf(pool, 'SELECT * FROM orgs WHERE name = $1', [name]);
      return row ? toOrg(row) : null;
    },
    async createOrg(org: OrgRow, key: ApiKeyRow, audit) {
      type R = Awaited<ReturnType<Store['createOrg']>>;
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
      const row = await firstOf(pool, 'SELECT * FROM api_keys WHERE hash = $1', [hash]);
      return row ? toApiKey(row) : null;
    },
    async createApiKey(key, audit) {
      await write(async (c) => {
        await insertKey(c, key);
        return { result: undefined, audit };
      });
    },
    async revokeApiKey(keyId, revokedAt, audit) {
      return write(async (c): Promise<TxWork<ApiKeyRow | null>> => {
        const row = await firstOf(c, 'SELECT * FROM api_keys WHERE id = $1 FOR UPDATE', [keyId]);
        if (!row) return { result: null, audit: [] };
        const key = toApiKey(row);
        if (key.revoked_at) return { result: key, audit: [] };
        await rowsOf(c, 'UPDATE api_keys SET revoked_at = $1 WHERE id = $2', [revokedAt, keyId]);
        return { result: { ...key, revoked_at: revokedAt }, audit: audit(key) };
      });
    },

    async createVault(row, audit) {
      type R = Awaited<ReturnType<Store['createVault']>>;
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
      return rowsOf<VaultWithCount>(pool, `SELECT ${vaultColumns} FROM vaults v WHERE v.org_id = $1 AND v.id > $2 ORDER BY v.id LIMIT $3`, [orgId, page.after ?? '', page.limit]);
    },
    async getVault(orgId, vaultId) {
      return vaultWithCount(pool, orgId, vaultId);
    },
    async vaultExists(orgId, vaultId) {
      return (await firstOf(pool, 'SELECT 1 FROM vaults WHERE org_id = $1 AND id = $2', [orgId, vaultId])) !== null;
    },
    async findVaultByName(orgId, name) {
      return firstOf<VaultWithCount>(pool, `SELECT ${vaultColumns} FROM vaults v WHERE v.org_id = $1 AND v.name = $2`, [orgId, name]);
    },
    async updateVault(orgId, vaultId, patch, audit) {
      type R = Awaited<ReturnType<Store['updateVault']>>;
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
        const secrets = await rowsOf<{ id: string; env_key: string }>(c, 'SELECT id, env_key FROM secrets WHERE vault_id = $1 ORDER BY id', [vaultId]);
        await rowsOf(c, 'DELETE FROM vaults WHERE id = $1 AND org_id = $2', [vaultId, orgId]);
        return { result: { ok: true }, audit: audit(vault, secrets) };
      });
    },

    appendAudit(audit) {
      return new Promise<void>((resolve, reject) => {
        pendingAudit.push({ audit, resolve, reject });
        draining ??= drainAudit();
      });
    },
    async listAudit(orgId, query) {
      return listAudit(pool, orgId, query);
    },
    /**
     * Wake-ups arrive after COMMIT: at once for this node's own writes, and through NOTIFY
     * (one round trip later) for every other node's.
     */
    onAudit(listener) {
      return hub.add(listener);
    },
  };
  return store;
}
