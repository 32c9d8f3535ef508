// Serving-node heartbeats on PostgreSQL, and the check that master-key rotation makes of them.
import type pg from 'pg';
import type { NodeStore } from '../node-store.js';
import { maybe, toServingNode } from '../rows.js';
import type { ServingNodeRow } from '../types.js';
import { readKeyring } from './pg-meta.js';
import { firstOf, rowsOf, transaction } from './pg-tx.js';

/** The freshest node whose heartbeat is later than `liveSince`; rotation calls it holding the keyring row lock. */
export async function liveServingNode(c: pg.PoolClient, liveSince: string): Promise<ServingNodeRow | null> {
  return maybe(toServingNode, await firstOf(c, 'SELECT * FROM serving_nodes WHERE heartbeat_at > $1 ORDER BY heartbeat_at DESC, id LIMIT 1', [liveSince]));
}

export function createPgNodeMethods(pool: pg.Pool): NodeStore {
  return {
    async recordServingNode(node, kekId) {
      return transaction(pool, async (c) => {
        // The share lock orders this against rotation, which locks the keyring row before it looks
        // at this table: either rotation sees this row, or this sees the rotated keyring.
        if ((await readKeyring(c, 'FOR SHARE'))?.kek_id !== kekId) return false;
        await rowsOf(
          c,
          `INSERT INTO serving_nodes (id, pid, hostname, started_at, heartbeat_at) VALUES ($1, $2, $3, $4, $5)
           ON CONFLICT (id) DO UPDATE SET heartbeat_at = EXCLUDED.heartbeat_at`,
          [node.id, node.pid, node.hostname, node.started_at, node.heartbeat_at],
        );
        return true;
      });
    },
    async removeServingNode(id) {
      await rowsOf(pool, 'DELETE FROM serving_nodes WHERE id = $1', [id]);
    },
    async listServingNodes() {
      return (await rowsOf(pool, 'SELECT * FROM serving_nodes ORDER BY heartbeat_at DESC, id')).map(toServingNode);
    },
  };
}
