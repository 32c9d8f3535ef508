// The `meta` rows every node shares (keyring, proxy CA), encoded byte for byte as SQLite does.
import pg from 'pg';
import type { KeyringRow } from '../store.js';
import { firstOf, transaction } from './pg-tx.js';

export { caMetaKey, decodeCa, decodeKeyring, encodeCa, encodeKeyring, keyringMetaKey } from '../meta-codec.js';
import { decodeKeyring, encodeKeyring, keyringMetaKey } from '../meta-codec.js';

/**
 * Reads the keyring without writing anything: boot decides about the master key first. The
 * session is read-only, so not even a stray statement could create or change a thing.
 */
export async function inspectPostgresStore(url: string): Promise<{ initialized: boolean; keyring: KeyringRow | null }> {
  const client = new pg.Client({ connectionString: url, application_name: 'vaultgate-inspect' });
  await client.connect();
  try {
    await client.query('BEGIN READ ONLY');
    const hasMeta = await client.query<{ found: boolean }>("SELECT to_regclass('meta') IS NOT NULL AS found");
    if (!hasMeta.rows[0]?.found) return { initialized: false, keyring: null };
    const row = await client.query<{ value: Buffer }>('SELECT value FROM meta WHERE key = $1', [keyringMetaKey]);
    const value = row.rows[0]?.value;
    return { initialized: value !== undefined, keyring: value ? decodeKeyring(value) : null };
  } finally {
    await client.end();
  }
}

/** Writes the keyring on first open; later opens (any node) must bring the same one. */
export async function ensureKeyring(pool: pg.Pool, keyring: KeyringRow): Promise<void> {
  await transaction(pool, async (c) => {
    await c.query('INSERT INTO meta (key, value) VALUES ($1, $2) ON CONFLICT (key) DO NOTHING', [keyringMetaKey, encodeKeyring(keyring)]);
    const stored = await firstOf<{ value: Buffer }>(c, 'SELECT value FROM meta WHERE key = $1', [keyringMetaKey]);
    if (!stored || decodeKeyring(stored.value).kek_id !== keyring.kek_id) throw new Error('store keyring changed while opening');
  });
}
