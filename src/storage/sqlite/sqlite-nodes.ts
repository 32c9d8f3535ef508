// Serving-node heartbeats on SQLite: committed outside `write()`, so no cached read is dropped.
import type Database from 'better-sqlite3';
import type { NodeStore } from '../node-store.js';
import { maybe, toServingNode } from '../rows.js';
import type { ServingNodeRow } from '../types.js';
import { keyringReader } from './sqlite-meta.js';

/** The freshest node whose heartbeat is later than `liveSince`; call it inside the write transaction. */
export function liveServingNode(db: Database.Database, liveSince: string): ServingNodeRow | null {
  return maybe(toServingNode, db.prepare('SELECT * FROM serving_nodes WHERE heartbeat_at > ? ORDER BY heartbeat_at DESC, id LIMIT 1').get(liveSince));
}

export function createSqliteNodeMethods(db: Database.Database): NodeStore {
  const keyring = keyringReader(db);
  const q = {
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
    if (keyring()?.kek_id !== kekId) return false;
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
      return q.list.all().map(toServingNode);
    },
  };
}
