// The embedded Store on better-sqlite3: WAL, synchronous=FULL, one transaction per method.
import { existsSync, mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import Database from 'better-sqlite3';
import { VaultError } from '../../contract/errors.js';
import type { AuditEvent } from '../../contract/schemas.js';
import { genesisHash, sealEvent } from '../../core/audit-chain.js';
import type {
  ApiKeyRow,
  AuditDraft,
  AuditListener,
  KeyringRow,
  OrgRow,
  RewrapResult,
  SecretRow,
  SecretVersionMeta,
  SecretUpdate,
  SecretVersionRow,
  SecretWrite,
  Store,
  VaultDelete,
  VaultWithCount,
  WrappedKeyRef,
} from '../store.js';
import { decodeKeyring, encodeKeyring, keyringMetaKey } from '../meta-codec.js';
import { countDeployed, createSqliteAgentMethods } from './sqlite-agents.js';
import { createSqliteNodeMethods, liveServingNode } from './sqlite-nodes.js';
import { sqliteMigrations } from './migrations.js';
import type { Tx } from './tx.js';
import { createReadCache } from './read-cache.js';
import { createWalSync } from './wal-sync.js';
import { toApiKey, toAuditEvent, toOrg, toSecret, toVersion, toVersionMeta, type Row } from './rows.js';


/** Reads the keyring without writing anything: boot decides about the master key first. */
export function inspectSqliteStore(path: string): { initialized: boolean; keyring: KeyringRow | null } {
  if (!existsSync(path)) return { initialized: false, keyring: null };
  // A read-only connection to a WAL database creates -wal/-shm files it never removes, so a
  // refused boot would leave the data dir changed. A read-write connection that only reads
  // removes them again on close; after a crash (a -wal exists) read-only changes nothing.
  const db = new Database(path, { readonly: existsSync(`${path}-wal`), fileMustExist: true });
  try {
    const hasMeta = db.prepare("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'meta'").get();
    if (!hasMeta) return { initialized: false, keyring: null };
    const row = db.prepare('SELECT value FROM meta WHERE key = ?').get(keyringMetaKey) as { value: Buffer } | undefined;
    return { initialized: row !== undefined, keyring: row ? decodeKeyring(row.value) : null };
  } finally {
    db.close();
  }
}


function migrate(db: Database.Database): void {
  db.exec('CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at TEXT NOT NULL)');
  const applied = new Set((db.prepare('SELECT version FROM schema_migrations').all() as { version: number }[]).map((r) => r.version));
  for (const m of sqliteMigrations) {
    if (applied.has(m.version)) continue;
    db.transaction(() => {
      db.exec(m.sql);
      db.prepare('INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, ?, ?)').run(m.version, m.name, new Date().toISOString());
    }).immediate();
  }
}

export interface SqliteStoreOptions {
  path: string;
  auditKey: Buffer;
  /** Written on first open; on later opens it must equal the stored one. */
  keyring: KeyringRow;
}

export function openSqliteStore(opts: SqliteStoreOptions): Store {
  mkdirSync(dirname(opts.path), { recursive: true, mode: 0o700 });
  const db = new Database(opts.path);
  db.pragma('journal_mode = WAL');
  db.pragma('synchronous = FULL');
  db.pragma('foreign_keys = ON');
  db.pragma('busy_timeout = 5000');
  migrate(db);
  db.transaction(() => {
    const existing = db.prepare('SELECT value FROM meta WHERE key = ?').get(keyringMetaKey) as { value: Buffer } | undefined;
    if (!existing) db.prepare('INSERT INTO meta (key, value) VALUES (?, ?)').run(keyringMetaKey, encodeKeyring(opts.keyring));
    else if (decodeKeyring(existing.value).kek_id !== opts.keyring.kek_id) throw new Error('store keyring changed while opening');
  }).immediate();

  const listeners = new Set<AuditListener>();
  const q = prepareQueries(db);
  const cache = createReadCache(db);

  /** Appends inside the caller's transaction; returns (org, seq) pairs to announce after commit. */
  function appendInTx(drafts: AuditDraft[]): [string, number][] {
    const out: [string, number][] = [];
    // Each org's head is read once per transaction (which holds the write lock), then carried along.
    const heads = new Map<string, { seq: number; hash: string }>();
    for (const draft of drafts) {
      const head = heads.get(draft.org_id) ?? (q.auditHead.get(draft.org_id) as { seq: number; hash: string } | undefined);
      const event = sealEvent(opts.auditKey, head?.hash ?? genesisHash, { ...draft, seq: (head?.seq ?? 0) + 1 });
      q.insertAudit.run({ ...event, details: JSON.stringify(event.details) });
      heads.set(event.org_id, { seq: event.seq, hash: event.hash });
      out.push([event.org_id, event.seq]);
    }
    return out;
  }

  const announce = (announced: [string, number][]) => {
    for (const [org, seq] of announced) for (const l of listeners) l(org, seq);
  };

  /** Runs `fn` and its audit drafts in one IMMEDIATE transaction; returns what to announce. */
  function transact<T>(fn: () => Tx<T>): { result: T; announced: [string, number][] } {
    let announced: [string, number][] = [];
    const result = db
      .transaction(() => {
        const r = fn();
        announced = appendInTx(r.audit);
        return r.result;
      })
      .immediate();
    return { result, announced };
  }

  /** One durable transaction (`synchronous = FULL`); then drops cached reads and wakes live listeners. */
  function write<T>(fn: () => Tx<T>): T {
    let done: { result: T; announced: [string, number][] };
    try {
      done = transact(fn);
    } finally {
      cache.invalidate();
    }
    announce(done.announced);
    return done.result;
  }

  /**
   * A node still holding the previous master key must not write data keys wrapped by it after a
   * rotation committed: checked inside the write transaction, so no such row can land.
   */
  function requireCurrentKek(kekId: string): void {
    const row = db.prepare('SELECT value FROM meta WHERE key = ?').get(keyringMetaKey) as { value: Buffer } | undefined;
    if (!row || decodeKeyring(row.value).kek_id !== kekId) {
      throw new VaultError('unavailable', 'the master key was rotated: restart this node with the new key');
    }
  }

  /**
   * Group commit for stand-alone audit appends (reveals, reads, proxy injections). Appends wait in
   * `pendingAudit` and are committed together, without waiting for the disk, in one transaction;
   * their callers are answered (and live listeners woken) only after the WAL fsync that follows
   * (see wal-sync.ts), which runs on the thread pool. While one fsync runs, new appends keep
   * collecting; they are committed and synced together as soon as it ends, so the batch grows with
   * the load. A failing batch is retried one caller at a time, so one bad record fails only its own
   * request.
   */
  const walSync = createWalSync(opts.path);
  type PendingAppend = { audit: AuditDraft[]; resolve: () => void; reject: (err: unknown) => void };
  let pendingAudit: PendingAppend[] = [];
  let syncing: Promise<void> | null = null;

  /** Commits the pending appends (relaxed); returns the callers whose records landed and what to announce. */
  function commitPending(): { committed: PendingAppend[]; announced: [string, number][] } {
    const batch = pendingAudit;
    pendingAudit = [];
    db.pragma('synchronous = NORMAL');
    try {
      try {
        return { committed: batch, announced: transact(() => ({ result: undefined, audit: batch.flatMap((b) => b.audit) })).announced };
      } catch {
        const committed: PendingAppend[] = [];
        const announced: [string, number][] = [];
        for (const append of batch) {
          try {
            announced.push(...transact(() => ({ result: undefined, audit: append.audit })).announced);
            committed.push(append);
          } catch (err) {
            append.reject(err);
          }
        }
        return { committed, announced };
      }
    } finally {
      db.pragma('synchronous = FULL');
    }
  }

  function flushAudit(): void {
    if (syncing || pendingAudit.length === 0) return;
    const { committed, announced } = commitPending();
    if (committed.length === 0) return;
    syncing = walSync.sync().then(
      () => {
        announce(announced);
        for (const c of committed) c.resolve();
      },
      (err: unknown) => {
        for (const c of committed) c.reject(err);
      },
    );
    void syncing.finally(() => {
      syncing = null;
      flushAudit();
    });
  }

  /** Settles every append made so far (used when closing). */
  async function drainAudit(): Promise<void> {
    while (syncing || pendingAudit.length > 0) {
      flushAudit();
      await syncing;
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

  const vaultWithCount = (orgId: string, vaultId: string) =>
    (q.getVault.get(orgId, vaultId) as VaultWithCount | undefined) ?? null;

  const store: Store = {
    ...createSqliteAgentMethods(db, write, cache),
    ...createSqliteNodeMethods(db),
    backend: 'sqlite',
    async close() {
      await drainAudit();
      db.close();
      walSync.close();
    },
    async ping() {
      db.prepare('SELECT 1').get();
    },
    async getKeyring() {
      const row = db.prepare('SELECT value FROM meta WHERE key = ?').get(keyringMetaKey) as { value: Buffer } | undefined;
      return row ? decodeKeyring(row.value) : null;
    },

    async getDefaultOrg() {
      const row = db.prepare('SELECT * FROM orgs WHERE is_default = 1').get() as Row | undefined;
      return row ? toOrg(row) : null;
    },
    async findOrgByName(name) {
      const row = db.prepare('SELECT * FROM orgs WHERE name = ?').get(name) as Row | undefined;
      return row ? toOrg(row) : null;
    },
    async createOrg(org: OrgRow, key: ApiKeyRow, audit) {
      return write((): Tx<Awaited<ReturnType<Store['createOrg']>>> => {
        if (db.prepare('SELECT 1 FROM orgs WHERE name = ?').get(org.name)) {
          return { result: { ok: false, reason: 'org_name_exists' }, audit: [] };
        }
        db.prepare('INSERT INTO orgs (id, name, is_default, created_at) VALUES (?, ?, ?, ?)').run(org.id, org.name, org.is_default ? 1 : 0, org.created_at);
        q.insertKey.run(key);
        return { result: { ok: true }, audit };
      });
    },
    async findApiKeyByHash(hash) {
      const row = q.keyByHash.get(hash) as Row | undefined;
      return row ? toApiKey(row) : null;
    },
    async createApiKey(key, audit) {
      write(() => {
        q.insertKey.run(key);
        return { result: undefined, audit };
      });
    },
    async revokeApiKey(keyId, revokedAt, audit) {
      return write((): Tx<ApiKeyRow | null> => {
        const row = db.prepare('SELECT * FROM api_keys WHERE id = ?').get(keyId) as Row | undefined;
        if (!row) return { result: null, audit: [] };
        const key = toApiKey(row);
        if (key.revoked_at) return { result: key, audit: [] };
        db.prepare('UPDATE api_keys SET revoked_at = ? WHERE id = ?').run(revokedAt, keyId);
        return { result: { ...key, revoked_at: revokedAt }, audit: audit(key) };
      });
    },

    async createVault(row, audit) {
      return write((): Tx<Awaited<ReturnType<Store['createVault']>>> => {
        if (q.vaultByName.get(row.org_id, row.name)) return { result: { ok: false, reason: 'vault_name_exists' }, audit: [] };
        q.insertVault.run(row);
        return { result: { ok: true }, audit };
      });
    },
    async listVaults(orgId, page) {
      return q.listVaults.all(orgId, page.after ?? '', page.limit) as VaultWithCount[];
    },
    async getVault(orgId, vaultId) {
      return vaultWithCount(orgId, vaultId);
    },
    async vaultExists(orgId, vaultId) {
      return q.vaultExists.get(orgId, vaultId) !== undefined;
    },
    async findVaultByName(orgId, name) {
      return (q.getVaultByName.get(orgId, name) as VaultWithCount | undefined) ?? null;
    },
    async updateVault(orgId, vaultId, patch, audit) {
      return write((): Tx<Awaited<ReturnType<Store['updateVault']>>> => {
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
        const secrets = db.prepare('SELECT id, env_key FROM secrets WHERE vault_id = ? ORDER BY id').all(vaultId) as { id: string; env_key: string }[];
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
      return (listSecretsQuery(filter.labels.length).all(...params) as Row[]).map(toSecret);
    },
    async getSecret(orgId, secretId) {
      const row = q.getSecret.get(orgId, secretId) as Row | undefined;
      return row ? toSecret(row) : null;
    },
    async getSecretVersion(orgId, secretId, version) {
      return cache.memo('version', `${orgId}/${secretId}/${version}`, () => {
        const row = q.getVersion.get(orgId, secretId, version) as Row | undefined;
        return row ? toVersion(row) : null;
      });
    },
    async putSecretVersion(orgId, secretId, baseVersion, next, audit) {
      return write((): Tx<SecretUpdate> => {
        const current = q.getSecret.get(orgId, secretId) as Row | undefined;
        if (!current) return { result: { ok: false, reason: 'not_found' }, audit: [] };
        if (current.version !== baseVersion) return { result: { ok: false, reason: 'version_mismatch' }, audit: [] };
        requireCurrentKek(next.version.kek_id);
        q.updateSecret.run(secretParams(next.row));
        q.insertVersion.run(versionParams(next.version));
        return { result: { ok: true }, audit };
      });
    },
    async deleteSecret(orgId, secretId, expectedVersion, audit) {
      return write((): Tx<SecretUpdate> => {
        const current = q.getSecret.get(orgId, secretId) as Row | undefined;
        if (!current) return { result: { ok: false, reason: 'not_found' }, audit: [] };
        if (expectedVersion !== null && current.version !== expectedVersion) {
          return { result: { ok: false, reason: 'version_mismatch' }, audit: [] };
        }
        db.prepare('DELETE FROM secrets WHERE id = ?').run(secretId);
        return { result: { ok: true }, audit };
      });
    },
    async listSecretVersions(orgId, secretId) {
      if (!q.getSecret.get(orgId, secretId)) return null;
      const rows = db
        .prepare('SELECT version, created_at, actor, changed, allowed_domains, inject_in, description FROM secret_versions WHERE secret_id = ? ORDER BY version DESC')
        .all(secretId) as Row[];
      return rows.map(toVersionMeta) satisfies SecretVersionMeta[];
    },

    appendAudit(audit) {
      return new Promise<void>((resolve, reject) => {
        pendingAudit.push({ audit, resolve, reject });
        if (pendingAudit.length === 1) setImmediate(flushAudit);
      });
    },
    async listAudit(orgId, query) {
      const where = ['org_id = ?', 'seq > ?'];
      const params: unknown[] = [orgId, query.afterSeq ?? 0];
      if (query.type) {
        where.push(query.type.endsWith('.*') ? 'type LIKE ?' : 'type = ?');
        params.push(query.type.endsWith('.*') ? `${query.type.slice(0, -1)}%` : query.type);
      }
      if (query.actor) {
        where.push('actor = ?');
        params.push(query.actor);
      }
      if (query.secretId) {
        where.push('secret_id = ?');
        params.push(query.secretId);
      }
      const rows = db.prepare(`SELECT * FROM audit_events WHERE ${where.join(' AND ')} ORDER BY seq LIMIT ?`).all(...params, query.limit) as Row[];
      return rows.map(toAuditEvent) satisfies AuditEvent[];
    },
    onAudit(listener) {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },

    async rewrapAll(next, rewrap, audit, liveSince) {
      return write((): Tx<RewrapResult> => {
        const live = liveServingNode(db, liveSince);
        if (live) return { result: { ok: false, reason: 'node_serving', node: live }, audit: [] };
        const refs = db
          .prepare('SELECT s.org_id, s.vault_id, v.secret_id, v.version, v.kek_id, v.wrapped_key FROM secret_versions v JOIN secrets s ON s.id = v.secret_id')
          .all() as WrappedKeyRef[];
        const update = db.prepare('UPDATE secret_versions SET kek_id = ?, wrapped_key = ? WHERE secret_id = ? AND version = ?');
        for (const ref of refs) update.run(next.kek_id, rewrap(ref), ref.secret_id, ref.version);
        db.prepare('UPDATE meta SET value = ? WHERE key = ?').run(encodeKeyring(next), keyringMetaKey);
        return { result: { ok: true, rewrapped: refs.length }, audit };
      });
    },
  };
  return store;
}

function secretParams(row: SecretRow) {
  return {
    ...row,
    allowed_domains: JSON.stringify(row.allowed_domains),
    inject_in: JSON.stringify(row.inject_in),
    labels: JSON.stringify(row.labels),
    revealable: row.revealable ? 1 : 0,
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
    auditHead: db.prepare('SELECT seq, hash FROM audit_events WHERE org_id = ? ORDER BY seq DESC LIMIT 1'),
    insertAudit: db.prepare(
      `INSERT INTO audit_events (org_id, seq, id, type, time, actor, vault_id, secret_id, agent_id, target_id, request_id, source_ip, outcome, reason, details, prev_hash, hash)
       VALUES (@org_id, @seq, @id, @type, @time, @actor, @vault_id, @secret_id, @agent_id, @target_id, @request_id, @source_ip, @outcome, @reason, @details, @prev_hash, @hash)`,
    ),
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
    getVersion: db.prepare(
      'SELECT v.* FROM secret_versions v JOIN secrets s ON s.id = v.secret_id WHERE s.org_id = ? AND v.secret_id = ? AND v.version = ?',
    ),
    insertSecret: db.prepare(
      `INSERT INTO secrets (id, org_id, vault_id, env_key, allowed_domains, inject_in, description, labels, revealable, version, created_at, updated_at)
       VALUES (@id, @org_id, @vault_id, @env_key, @allowed_domains, @inject_in, @description, @labels, @revealable, @version, @created_at, @updated_at)`,
    ),
    updateSecret: db.prepare(
      `UPDATE secrets SET allowed_domains = @allowed_domains, inject_in = @inject_in, description = @description, version = @version, updated_at = @updated_at
       WHERE id = @id`,
    ),
    insertVersion: db.prepare(
      `INSERT INTO secret_versions (secret_id, version, created_at, actor, changed, allowed_domains, inject_in, description, kek_id, wrapped_key, ciphertext, fingerprint)
       VALUES (@secret_id, @version, @created_at, @actor, @changed, @allowed_domains, @inject_in, @description, @kek_id, @wrapped_key, @ciphertext, @fingerprint)`,
    ),
  };
}
