// The `meta` rows every node shares (keyring, proxy CA), encoded byte for byte as SQLite does.
import pg from 'pg';
import { caMetaKey, decodeCa, decodeKeyring, encodeCa, encodeKeyring, keyringMetaKey } from '../meta-codec.js';
import type { MetaStore } from '../meta-store.js';
import { bool, bytes } from '../rows.js';
import type { KeyringRow, StoreInspection } from '../types.js';
import { firstOf, rowsOf, transaction, type Write } from './pg-tx.js';

/** One meta row; `lock` (FOR SHARE, FOR UPDATE) holds it until the transaction ends. */
async function readMeta<T>(c: pg.Pool | pg.PoolClient, key: string, decode: (value: Buffer) => T, lock = ''): Promise<T | null> {
  const row = await firstOf(c, `SELECT value FROM meta WHERE key = $1 ${lock}`, [key]);
  return row ? decode(bytes(row.value, 'value')) : null;
}

export function readKeyring(c: pg.Pool | pg.PoolClient, lock = ''): Promise<KeyringRow | null> {
  return readMeta(c, keyringMetaKey, decodeKeyring, lock);
}

/**
 * Reads the keyring without writing anything: boot decides about the master key first. The
 * session is read-only, so not even a stray statement could create or change a thing.
 */
export async function inspectPostgresStore(url: string): Promise<StoreInspection> {
  const client = new pg.Client({ connectionString: url, application_name: 'vaultgate-inspect' });
  await client.connect();
  try {
    await client.query('BEGIN READ ONLY');
    const hasMeta = await client.query<{ found: unknown }>("SELECT to_regclass('meta') IS NOT NULL AS found");
    if (!bool(hasMeta.rows[0]?.found, 'found')) return { initialized: false, keyring: null };
    const row = await client.query<{ value: unknown }>('SELECT value FROM meta WHERE key = $1', [keyringMetaKey]);
    const value: unknown = row.rows[0]?.value;
    return { initialized: value !== undefined, keyring: value !== undefined ? decodeKeyring(bytes(value, 'value')) : null };
  } finally {
    await client.end();
  }
}

/** Writes the keyring on first open; later opens (any node) must bring the same one. */
export async function ensureKeyring(pool: pg.Pool, keyring: KeyringRow): Promise<void> {
  await transaction(pool, async (c) => {
    await c.query('INSERT INTO meta (key, value) VALUES ($1, $2) ON CONFLICT (key) DO NOTHING', [keyringMetaKey, encodeKeyring(keyring)]);
    const stored = await readKeyring(c);
    if (!stored || stored.kek_id !== keyring.kek_id) throw new Error('store keyring changed while opening');
  });
}

export function createPgMetaMethods(pool: pg.Pool, write: Write): MetaStore {
  return {
    async getKeyring() {
      return readKeyring(pool);
    },
    async getProxyCa() {
      return readMeta(pool, caMetaKey, decodeCa);
    },
    async initProxyCa(row) {
      // The first node to get here wins; every other node reads back the same CA.
      return write(async (c) => {
        await rowsOf(c, 'INSERT INTO meta (key, value) VALUES ($1, $2) ON CONFLICT (key) DO NOTHING', [caMetaKey, encodeCa(row)]);
        return { result: (await readMeta(c, caMetaKey, decodeCa))!, audit: [] };
      });
    },
  };
}
