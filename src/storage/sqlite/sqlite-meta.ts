// The `meta` rows on SQLite (keyring, proxy CA), and the keyring check a store makes when it opens.
import { existsSync } from 'node:fs';
import Database from 'better-sqlite3';
import { caMetaKey, decodeCa, decodeKeyring, encodeCa, encodeKeyring, keyringMetaKey } from '../meta-codec.js';
import type { MetaStore } from '../meta-store.js';
import { bytes } from '../rows.js';
import type { KeyringRow, StoreInspection } from '../types.js';
import type { Write } from './tx.js';

/** A reader of one meta row, its statement prepared once. */
function metaReader<T>(db: Database.Database, key: string, decode: (value: Buffer) => T): () => T | null {
  const select = db.prepare('SELECT value FROM meta WHERE key = ?').pluck();
  return () => {
    const value = select.get(key);
    return value === undefined ? null : decode(bytes(value, 'value'));
  };
}

export const keyringReader = (db: Database.Database) => metaReader(db, keyringMetaKey, decodeKeyring);

/** Reads the keyring without writing anything: boot decides about the master key first. */
export function inspectSqliteStore(path: string): StoreInspection {
  if (!existsSync(path)) return { initialized: false, keyring: null };
  // A read-only connection to a WAL database creates -wal/-shm files it never removes, so a
  // refused boot would leave the data dir changed. A read-write connection that only reads
  // removes them again on close; after a crash (a -wal exists) read-only changes nothing.
  const db = new Database(path, { readonly: existsSync(`${path}-wal`), fileMustExist: true });
  try {
    const hasMeta = db.prepare("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'meta'").get();
    if (!hasMeta) return { initialized: false, keyring: null };
    const keyring = keyringReader(db)();
    return { initialized: keyring !== null, keyring };
  } finally {
    db.close();
  }
}

/** Writes the keyring on first open; later opens must bring the same one. */
export function ensureKeyring(db: Database.Database, keyring: KeyringRow): void {
  const stored = keyringReader(db);
  db.transaction(() => {
    const existing = stored();
    if (!existing) db.prepare('INSERT INTO meta (key, value) VALUES (?, ?)').run(keyringMetaKey, encodeKeyring(keyring));
    else if (existing.kek_id !== keyring.kek_id) throw new Error('store keyring changed while opening');
  }).immediate();
}

export function createSqliteMetaMethods(db: Database.Database, write: Write): MetaStore {
  const keyring = keyringReader(db);
  const ca = metaReader(db, caMetaKey, decodeCa);
  const insertCa = db.prepare('INSERT OR IGNORE INTO meta (key, value) VALUES (?, ?)');
  return {
    async getKeyring() {
      return keyring();
    },
    async getProxyCa() {
      return ca();
    },
    async initProxyCa(row) {
      return write(() => {
        insertCa.run(caMetaKey, encodeCa(row));
        return { result: ca()!, audit: [] };
      });
    },
  };
}
