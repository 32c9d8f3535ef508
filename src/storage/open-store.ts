// Which backend holds the store: SQLite in the data dir, or PostgreSQL when a database URL is set.
import { join } from 'node:path';
import { inspectSqliteStore, openSqliteStore } from './sqlite/sqlite-store.js';
import type { Store } from './store.js';
import type { KeyringRow, StoreInspection } from './types.js';

export interface StoreAt {
  /** PostgreSQL when set; else SQLite in `dataDir`. */
  databaseUrl: string | null;
  dataDir: string;
}

// The PostgreSQL driver is loaded only when it is used (it adds ≈ 70 ms to every SQLite boot).
const postgres = () => import('./postgres/pg-store.js');

const sqlitePath = (dataDir: string) => join(dataDir, 'vaultgate.db');

/** Where the store would be, for messages: the data dir, or the database URL without its credentials. */
export function describeStoreAt(at: StoreAt): string {
  if (at.databaseUrl === null) return at.dataDir;
  try {
    const u = new URL(at.databaseUrl);
    return `the database ${u.protocol}//${u.host}${u.pathname}`;
  } catch {
    return 'the database VAULTGATE_DATABASE_URL names';
  }
}

/** What the store holds, read without creating or changing anything. */
export async function inspectStore(at: StoreAt): Promise<StoreInspection> {
  return at.databaseUrl !== null ? (await postgres()).inspectPostgresStore(at.databaseUrl) : inspectSqliteStore(sqlitePath(at.dataDir));
}

/** True when the database named by the URL does not exist (so it holds no store either). */
export function isMissingDatabase(err: unknown): boolean {
  return (err as { code?: unknown } | null)?.code === '3D000';
}

/** Opens (and on first use creates) the store; `keyring` is written on first open and must match after. */
export async function openStore(at: StoreAt, opts: { auditKey: Buffer; keyring: KeyringRow }): Promise<Store> {
  return at.databaseUrl !== null
    ? (await postgres()).openPostgresStore({ url: at.databaseUrl, ...opts })
    : openSqliteStore({ path: sqlitePath(at.dataDir), ...opts });
}
