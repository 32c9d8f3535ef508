// Serving-node heartbeats on SQLite: committed outside `write()`, so no cached read is dropped.
import type Database from 'better-sqlite3';
import { decodeKeyring, keyringMetaKey } from '../meta-codec.js';
import type { NodeStore, ServingNodeRow } from '../node-store.js';

/** The freshest node whose heartbeat is later than `liveSince`; call it inside the write transaction. */
export function liveServingNode(db: Database.Database, liveSince: string): ServingNodeRow | null {
  const row = db.prepare('SELECT * FROM serving_nodes WHERE heartbeat_at > ? ORDER BY heartbeat_at DESC, id LIMIT 1').get(liveSince);
  return (row as ServingNodeRow | undefined) ?? null;
}

export function createSqliteNodeMethods(db: Database.Database): NodeStore {
  const q = {
    keyring: db.prepare('SELECT value FROM meta WHERE key = ?'),
    upsert: db.prepare(
      `INSERT INTO serving_nodes (id, pid, hostname, started_at, heartbeat_at) VALUES (@id, @pid, @hostname, @started_at, @heartbeat_at)
       ON CONFLICT (id) DO UPDATE SET heartbeat_at = excluded.heartbeat_at`,
    ),
    remove: db.prepare('DELETE FROM serving_nodes WHERE id = ?'),
    list: db.prepare('SELECT * FROM serving_nodes ORDER BY heartbeat_at DESC, id'),
  };
  // A heartbeat changes nothing a cached read holds, so it skips `write()`, which empties the read
  // memo; and a commit on this connection does not move its own PRAGMA data_version either.
  const record = db.transaction((node: ServingNodeRow, kekId: string): boolean => {
    const keyring = q.keyring.get(keyringMetaKey) as { value: Buffer } | undefined;
    if (!keyring || decodeKeyring(keyring.value).kek_id !== kekId) return false;
    q.upsert.run(node);
    return true;
  });
  return {
    async recordServingNode(node, kekId) {
      return record.immediate(node, kekId);
    },
    async removeServingNode(id) {
      q.remove.run(id);
    },
    async listServingNodes() {
      return q.list.all() as ServingNodeRow[];
    },
  };
}
