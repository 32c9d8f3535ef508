// Numbered PostgreSQL migrations (the SQLite schema's equivalents) and the runner nodes share.
import type pg from 'pg';

export interface Migration {
  version: number;
  name: string;
  sql: string;
}

/**
 * Conventions: ids and timestamps are TEXT so values round-trip byte for byte; every TEXT
 * column is COLLATE "C" so ORDER BY, `id > $after` paging and LIKE compare bytes exactly as
 * SQLite's BINARY collation does, whatever locale the database was created with. JSON columns
 * are TEXT holding JSON.stringify output: jsonb would reorder keys, drop duplicates and refuse
 * "\u0000", so reads would not give back the same objects.
 */
export const postgresMigrations: Migration[] = [
  {
    version: 1,
    name: 'foundation: orgs, keys, vaults, secrets, audit chain',
    sql: `
      CREATE TABLE meta (key TEXT COLLATE "C" PRIMARY KEY, value BYTEA NOT NULL);

      CREATE TABLE orgs (
        id TEXT COLLATE "C" PRIMARY KEY,
        name TEXT COLLATE "C" NOT NULL CONSTRAINT orgs_name_key UNIQUE,
        is_default BOOLEAN NOT NULL DEFAULT false,
        created_at TEXT COLLATE "C" NOT NULL
      );
      CREATE UNIQUE INDEX orgs_one_default ON orgs (is_default) WHERE is_default;

      CREATE TABLE api_keys (
        id TEXT COLLATE "C" PRIMARY KEY,
        org_id TEXT COLLATE "C" NOT NULL REFERENCES orgs (id),
        name TEXT COLLATE "C",
        hash TEXT COLLATE "C" NOT NULL UNIQUE,
        created_at TEXT COLLATE "C" NOT NULL,
        revoked_at TEXT COLLATE "C"
      );

      CREATE TABLE vaults (
        id TEXT COLLATE "C" PRIMARY KEY,
        org_id TEXT COLLATE "C" NOT NULL REFERENCES orgs (id),
        name TEXT COLLATE "C" NOT NULL,
        description TEXT COLLATE "C",
        created_at TEXT COLLATE "C" NOT NULL,
        updated_at TEXT COLLATE "C" NOT NULL,
        CONSTRAINT vaults_org_name_key UNIQUE (org_id, name)
      );

      CREATE TABLE secrets (
        id TEXT COLLATE "C" PRIMARY KEY,
        org_id TEXT COLLATE "C" NOT NULL REFERENCES orgs (id),
        vault_id TEXT COLLATE "C" NOT NULL REFERENCES vaults (id) ON DELETE CASCADE,
        env_key TEXT COLLATE "C" NOT NULL,
        allowed_domains TEXT COLLATE "C" NOT NULL,
        inject_in TEXT COLLATE "C" NOT NULL,
        description TEXT COLLATE "C",
        labels TEXT COLLATE "C" NOT NULL,
        revealable BOOLEAN NOT NULL,
        version INTEGER NOT NULL,
        created_at TEXT COLLATE "C" NOT NULL,
        updated_at TEXT COLLATE "C" NOT NULL,
        CONSTRAINT secrets_vault_env_key_key UNIQUE (vault_id, env_key)
      );
      CREATE INDEX secrets_by_vault ON secrets (vault_id, id);

      CREATE TABLE secret_versions (
        secret_id TEXT COLLATE "C" NOT NULL REFERENCES secrets (id) ON DELETE CASCADE,
        version INTEGER NOT NULL,
        created_at TEXT COLLATE "C" NOT NULL,
        actor TEXT COLLATE "C" NOT NULL,
        changed TEXT COLLATE "C" NOT NULL,
        allowed_domains TEXT COLLATE "C" NOT NULL,
        inject_in TEXT COLLATE "C" NOT NULL,
        description TEXT COLLATE "C",
        kek_id TEXT COLLATE "C" NOT NULL,
        wrapped_key BYTEA NOT NULL,
        ciphertext BYTEA NOT NULL,
        fingerprint TEXT COLLATE "C" NOT NULL,
        CONSTRAINT secret_versions_pkey PRIMARY KEY (secret_id, version)
      );

      CREATE TABLE audit_events (
        org_id TEXT COLLATE "C" NOT NULL,
        seq BIGINT NOT NULL,
        id TEXT COLLATE "C" NOT NULL UNIQUE,
        type TEXT COLLATE "C" NOT NULL,
        time TEXT COLLATE "C" NOT NULL,
        actor TEXT COLLATE "C" NOT NULL,
        vault_id TEXT COLLATE "C",
        secret_id TEXT COLLATE "C",
        agent_id TEXT COLLATE "C",
        target_id TEXT COLLATE "C",
        request_id TEXT COLLATE "C",
        source_ip TEXT COLLATE "C",
        outcome TEXT COLLATE "C" NOT NULL,
        reason TEXT COLLATE "C",
        details TEXT COLLATE "C" NOT NULL,
        prev_hash TEXT COLLATE "C" NOT NULL,
        hash TEXT COLLATE "C" NOT NULL,
        PRIMARY KEY (org_id, seq)
      );
      CREATE INDEX audit_by_secret ON audit_events (org_id, secret_id, seq);

      CREATE FUNCTION audit_events_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN RAISE EXCEPTION 'audit events are append-only'; END
      $$;
      CREATE TRIGGER audit_events_no_update BEFORE UPDATE ON audit_events
        FOR EACH ROW EXECUTE FUNCTION audit_events_append_only();
      CREATE TRIGGER audit_events_no_delete BEFORE DELETE ON audit_events
        FOR EACH ROW EXECUTE FUNCTION audit_events_append_only();
      -- TRUNCATE fires no row triggers; SQLite has no TRUNCATE to guard against.
      CREATE TRIGGER audit_events_no_truncate BEFORE TRUNCATE ON audit_events
        FOR EACH STATEMENT EXECUTE FUNCTION audit_events_append_only();

      -- One row per org chain: appends lock it (SELECT ... FOR UPDATE) inside their
      -- transaction, so writers on any number of nodes take turns and never fork the chain.
      CREATE TABLE audit_heads (
        org_id TEXT COLLATE "C" PRIMARY KEY,
        seq BIGINT NOT NULL,
        hash TEXT COLLATE "C" NOT NULL
      );
    `,
  },
  {
    version: 2,
    name: 'agents, attachments, agent tokens, grants',
    sql: `
      CREATE TABLE agents (
        id TEXT COLLATE "C" PRIMARY KEY,
        org_id TEXT COLLATE "C" NOT NULL REFERENCES orgs (id),
        name TEXT COLLATE "C" NOT NULL,
        env TEXT COLLATE "C" NOT NULL,
        status TEXT COLLATE "C" NOT NULL CHECK (status IN ('stopped', 'deployed')),
        created_at TEXT COLLATE "C" NOT NULL,
        updated_at TEXT COLLATE "C" NOT NULL,
        CONSTRAINT agents_org_name_key UNIQUE (org_id, name)
      );

      CREATE TABLE agent_vaults (
        id TEXT COLLATE "C" PRIMARY KEY,
        org_id TEXT COLLATE "C" NOT NULL,
        agent_id TEXT COLLATE "C" NOT NULL REFERENCES agents (id) ON DELETE CASCADE,
        vault_id TEXT COLLATE "C" NOT NULL REFERENCES vaults (id) ON DELETE CASCADE,
        created_at TEXT COLLATE "C" NOT NULL,
        CONSTRAINT agent_vaults_agent_vault_key UNIQUE (agent_id, vault_id)
      );
      CREATE INDEX agent_vaults_by_vault ON agent_vaults (vault_id);

      CREATE TABLE agent_tokens (
        id TEXT COLLATE "C" PRIMARY KEY,
        org_id TEXT COLLATE "C" NOT NULL,
        agent_id TEXT COLLATE "C" NOT NULL REFERENCES agents (id) ON DELETE CASCADE,
        hash TEXT COLLATE "C" NOT NULL UNIQUE,
        created_at TEXT COLLATE "C" NOT NULL,
        revoked_at TEXT COLLATE "C"
      );
      -- PostgreSQL does not index referencing columns: without it the cascade scans the table.
      CREATE INDEX agent_tokens_by_agent ON agent_tokens (agent_id);

      CREATE TABLE grants (
        id TEXT COLLATE "C" PRIMARY KEY,
        org_id TEXT COLLATE "C" NOT NULL,
        agent_id TEXT COLLATE "C" NOT NULL REFERENCES agents (id) ON DELETE CASCADE,
        secret_id TEXT COLLATE "C" NOT NULL REFERENCES secrets (id) ON DELETE CASCADE,
        created_at TEXT COLLATE "C" NOT NULL,
        CONSTRAINT grants_agent_secret_key UNIQUE (agent_id, secret_id)
      );
      CREATE INDEX grants_by_secret ON grants (secret_id);

      -- An agent's env_vars ({name, from_secret_id}); deleting the secret removes the entry.
      CREATE TABLE agent_env_vars (
        agent_id TEXT COLLATE "C" NOT NULL REFERENCES agents (id) ON DELETE CASCADE,
        position INTEGER NOT NULL,
        name TEXT COLLATE "C" NOT NULL,
        secret_id TEXT COLLATE "C" NOT NULL REFERENCES secrets (id) ON DELETE CASCADE,
        PRIMARY KEY (agent_id, name)
      );
      CREATE INDEX agent_env_vars_by_secret ON agent_env_vars (secret_id);
    `,
  },
  {
    version: 3,
    name: 'serving nodes (heartbeats)',
    sql: `
      -- One row per running 'vaultgate serve': admin commands that need every node stopped check it.
      CREATE TABLE serving_nodes (
        id TEXT COLLATE "C" PRIMARY KEY,
        pid INTEGER NOT NULL,
        hostname TEXT COLLATE "C" NOT NULL,
        started_at TEXT COLLATE "C" NOT NULL,
        heartbeat_at TEXT COLLATE "C" NOT NULL
      );
    `,
  },
  {
    version: 4,
    name: 'credential types, request rules and rate limits on secrets',
    sql: `
      -- SPEC §10. JSON columns, NULL when absent; signing holds aws_sigv4's regions and services.
      ALTER TABLE secrets ADD COLUMN type TEXT COLLATE "C" NOT NULL DEFAULT 'static';
      ALTER TABLE secrets ADD COLUMN rules TEXT COLLATE "C";
      ALTER TABLE secrets ADD COLUMN rate_limit TEXT COLLATE "C";
      ALTER TABLE secrets ADD COLUMN signing TEXT COLLATE "C";
    `,
  },
  {
    version: 5,
    name: 'rate-limit windows',
    sql: `
      -- One counter per (secret, agent) with a rate limit, shared by every node: the window it
      -- counts (start in ms since the epoch, and length), and the slots taken in it. Rewritten in
      -- place by each take (pg-rates.ts); the free space left on each page lets those updates
      -- stay on the page without touching the indexes.
      CREATE TABLE rate_windows (
        org_id TEXT COLLATE "C" NOT NULL,
        secret_id TEXT COLLATE "C" NOT NULL REFERENCES secrets (id) ON DELETE CASCADE,
        agent_id TEXT COLLATE "C" NOT NULL REFERENCES agents (id) ON DELETE CASCADE,
        window_start BIGINT NOT NULL,
        period_ms INTEGER NOT NULL,
        count INTEGER NOT NULL,
        PRIMARY KEY (org_id, secret_id, agent_id)
      ) WITH (fillfactor = 70);
      -- For the cascades: PostgreSQL does not index referencing columns.
      CREATE INDEX rate_windows_by_secret ON rate_windows (secret_id);
      CREATE INDEX rate_windows_by_agent ON rate_windows (agent_id);
    `,
  },
  {
    version: 6,
    name: 'oauth2 access-token cache',
    sql: `
      -- The access token of an oauth2 secret, shared by every node: one row per secret, sealed under
      -- the secret version it was obtained with (a row of an older version is never used).
      CREATE TABLE oauth_tokens (
        secret_id TEXT COLLATE "C" PRIMARY KEY REFERENCES secrets (id) ON DELETE CASCADE,
        org_id TEXT COLLATE "C" NOT NULL,
        secret_version INTEGER NOT NULL,
        kek_id TEXT COLLATE "C" NOT NULL,
        wrapped_key BYTEA NOT NULL,
        ciphertext BYTEA NOT NULL,
        expires_at TEXT COLLATE "C",
        obtained_at TEXT COLLATE "C" NOT NULL
      );
    `,
  },
];

/** Any constant every node agrees on: it names the lock, nothing else ('vgmigr' as a number). */
const migrationLockKey = 130186589333362;

/**
 * Applies the pending migrations in order, each in its own transaction under one advisory
 * lock, so nodes starting together take turns: the first applies, the others find it applied.
 */
export async function migrate(pool: pg.Pool): Promise<void> {
  const client = await pool.connect();
  try {
    for (const m of postgresMigrations) {
      await client.query('BEGIN');
      try {
        await client.query(`SELECT pg_advisory_xact_lock(${migrationLockKey})`);
        // Created under the lock too: concurrent CREATE TABLE IF NOT EXISTS can still collide.
        await client.query('CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at TEXT NOT NULL)');
        const done = await client.query('SELECT 1 FROM schema_migrations WHERE version = $1', [m.version]);
        if (done.rowCount === 0) {
          await client.query(m.sql);
          await client.query('INSERT INTO schema_migrations (version, name, applied_at) VALUES ($1, $2, $3)', [m.version, m.name, new Date().toISOString()]);
        }
        await client.query('COMMIT');
      } catch (err) {
        await client.query('ROLLBACK').catch(() => undefined);
        throw err;
      }
    }
    client.release();
  } catch (err) {
    client.release(err instanceof Error ? err : true);
    throw err;
  }
}
