// Numbered SQLite migrations and their runner; each runs once, in order, inside its own transaction.
import type Database from 'better-sqlite3';
import { int } from '../rows.js';

export interface Migration {
  version: number;
  name: string;
  sql: string;
}

export const sqliteMigrations: Migration[] = [
  {
    version: 1,
    name: 'foundation: orgs, keys, vaults, secrets, audit chain',
    sql: `
      CREATE TABLE meta (key TEXT PRIMARY KEY, value BLOB NOT NULL);

      CREATE TABLE orgs (
        id TEXT PRIMARY KEY,
        name TEXT NOT NULL UNIQUE,
        is_default INTEGER NOT NULL DEFAULT 0,
        created_at TEXT NOT NULL
      );
      CREATE UNIQUE INDEX orgs_one_default ON orgs (is_default) WHERE is_default = 1;

      CREATE TABLE api_keys (
        id TEXT PRIMARY KEY,
        org_id TEXT NOT NULL REFERENCES orgs (id),
        name TEXT,
        hash TEXT NOT NULL UNIQUE,
        created_at TEXT NOT NULL,
        revoked_at TEXT
      );

      CREATE TABLE vaults (
        id TEXT PRIMARY KEY,
        org_id TEXT NOT NULL REFERENCES orgs (id),
        name TEXT NOT NULL,
        description TEXT,
        created_at TEXT NOT NULL,
        updated_at TEXT NOT NULL,
        UNIQUE (org_id, name)
      );

      CREATE TABLE secrets (
        id TEXT PRIMARY KEY,
        org_id TEXT NOT NULL REFERENCES orgs (id),
        vault_id TEXT NOT NULL REFERENCES vaults (id) ON DELETE CASCADE,
        env_key TEXT NOT NULL,
        allowed_domains TEXT NOT NULL,
        inject_in TEXT NOT NULL,
        description TEXT,
        labels TEXT NOT NULL,
        revealable INTEGER NOT NULL,
        version INTEGER NOT NULL,
        created_at TEXT NOT NULL,
        updated_at TEXT NOT NULL,
        UNIQUE (vault_id, env_key)
      );
      CREATE INDEX secrets_by_vault ON secrets (vault_id, id);

      CREATE TABLE secret_versions (
        secret_id TEXT NOT NULL REFERENCES secrets (id) ON DELETE CASCADE,
        version INTEGER NOT NULL,
        created_at TEXT NOT NULL,
        actor TEXT NOT NULL,
        changed TEXT NOT NULL,
        allowed_domains TEXT NOT NULL,
        inject_in TEXT NOT NULL,
        description TEXT,
        kek_id TEXT NOT NULL,
        wrapped_key BLOB NOT NULL,
        ciphertext BLOB NOT NULL,
        fingerprint TEXT NOT NULL,
        PRIMARY KEY (secret_id, version)
      );

      CREATE TABLE audit_events (
        org_id TEXT NOT NULL,
        seq INTEGER NOT NULL,
        id TEXT NOT NULL UNIQUE,
        type TEXT NOT NULL,
        time TEXT NOT NULL,
        actor TEXT NOT NULL,
        vault_id TEXT,
        secret_id TEXT,
        agent_id TEXT,
        target_id TEXT,
        request_id TEXT,
        source_ip TEXT,
        outcome TEXT NOT NULL,
        reason TEXT,
        details TEXT NOT NULL,
        prev_hash TEXT NOT NULL,
        hash TEXT NOT NULL,
        PRIMARY KEY (org_id, seq)
      );
      CREATE INDEX audit_by_secret ON audit_events (org_id, secret_id, seq);
      CREATE TRIGGER audit_events_no_update BEFORE UPDATE ON audit_events
        BEGIN SELECT RAISE(ABORT, 'audit events are append-only'); END;
      CREATE TRIGGER audit_events_no_delete BEFORE DELETE ON audit_events
        BEGIN SELECT RAISE(ABORT, 'audit events are append-only'); END;
    `,
  },
];

sqliteMigrations.push({
  version: 2,
  name: 'agents, attachments, agent tokens, grants',
  sql: `
    CREATE TABLE agents (
      id TEXT PRIMARY KEY,
      org_id TEXT NOT NULL REFERENCES orgs (id),
      name TEXT NOT NULL,
      env TEXT NOT NULL,
      status TEXT NOT NULL CHECK (status IN ('stopped', 'deployed')),
      created_at TEXT NOT NULL,
      updated_at TEXT NOT NULL,
      UNIQUE (org_id, name)
    );

    CREATE TABLE agent_vaults (
      id TEXT PRIMARY KEY,
      org_id TEXT NOT NULL,
      agent_id TEXT NOT NULL REFERENCES agents (id) ON DELETE CASCADE,
      vault_id TEXT NOT NULL REFERENCES vaults (id) ON DELETE CASCADE,
      created_at TEXT NOT NULL,
      UNIQUE (agent_id, vault_id)
    );
    CREATE INDEX agent_vaults_by_vault ON agent_vaults (vault_id);

    CREATE TABLE agent_tokens (
      id TEXT PRIMARY KEY,
      org_id TEXT NOT NULL,
      agent_id TEXT NOT NULL REFERENCES agents (id) ON DELETE CASCADE,
      hash TEXT NOT NULL UNIQUE,
      created_at TEXT NOT NULL,
      revoked_at TEXT
    );

    CREATE TABLE grants (
      id TEXT PRIMARY KEY,
      org_id TEXT NOT NULL,
      agent_id TEXT NOT NULL REFERENCES agents (id) ON DELETE CASCADE,
      secret_id TEXT NOT NULL REFERENCES secrets (id) ON DELETE CASCADE,
      created_at TEXT NOT NULL,
      UNIQUE (agent_id, secret_id)
    );
    CREATE INDEX grants_by_secret ON grants (secret_id);

    -- An agent's env_vars ({name, from_secret_id}); deleting the secret removes the entry.
    CREATE TABLE agent_env_vars (
      agent_id TEXT NOT NULL REFERENCES agents (id) ON DELETE CASCADE,
      position INTEGER NOT NULL,
      name TEXT NOT NULL,
      secret_id TEXT NOT NULL REFERENCES secrets (id) ON DELETE CASCADE,
      PRIMARY KEY (agent_id, name)
    );
    CREATE INDEX agent_env_vars_by_secret ON agent_env_vars (secret_id);
  `,
});

sqliteMigrations.push({
  version: 3,
  name: 'serving nodes (heartbeats)',
  sql: `
    -- One row per running 'vaultgate serve': admin commands that need every node stopped check it.
    CREATE TABLE serving_nodes (
      id TEXT PRIMARY KEY,
      pid INTEGER NOT NULL,
      hostname TEXT NOT NULL,
      started_at TEXT NOT NULL,
      heartbeat_at TEXT NOT NULL
    );
  `,
});

sqliteMigrations.push({
  version: 4,
  name: 'credential types, request rules and rate limits on secrets',
  sql: `
    -- SPEC §10. JSON columns, NULL when absent; signing holds aws_sigv4's regions and services.
    ALTER TABLE secrets ADD COLUMN type TEXT NOT NULL DEFAULT 'static';
    ALTER TABLE secrets ADD COLUMN rules TEXT;
    ALTER TABLE secrets ADD COLUMN rate_limit TEXT;
    ALTER TABLE secrets ADD COLUMN signing TEXT;
  `,
});

sqliteMigrations.push({
  version: 5,
  name: 'oauth2 access-token cache',
  sql: `
    -- The access token of an oauth2 secret, shared by every node: one row per secret, sealed under
    -- the secret version it was obtained with (a row of an older version is never used).
    CREATE TABLE oauth_tokens (
      secret_id TEXT PRIMARY KEY REFERENCES secrets (id) ON DELETE CASCADE,
      org_id TEXT NOT NULL,
      secret_version INTEGER NOT NULL,
      kek_id TEXT NOT NULL,
      wrapped_key BLOB NOT NULL,
      ciphertext BLOB NOT NULL,
      expires_at TEXT,
      obtained_at TEXT NOT NULL
    );
  `,
});

/** Applies the pending migrations in order, each in its own IMMEDIATE transaction. */
export function migrate(db: Database.Database): void {
  db.exec('CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at TEXT NOT NULL)');
  const versions = db.prepare('SELECT version FROM schema_migrations').pluck().all();
  const applied = new Set(versions.map((v) => int(v, 'version')));
  for (const m of sqliteMigrations) {
    if (applied.has(m.version)) continue;
    db.transaction(() => {
      db.exec(m.sql);
      db.prepare('INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, ?, ?)').run(m.version, m.name, new Date().toISOString());
    }).immediate();
  }
}
