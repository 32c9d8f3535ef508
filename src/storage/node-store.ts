// The serving-node half of the Store: which `vaultgate serve` processes use it, by heartbeat.
import type { ServingNodeRow } from './types.js';

export interface NodeStore {
  /**
   * Inserts or refreshes the node's row, but only while the store's keyring is still `kekId`:
   * false (and nothing written) once a master-key rotation replaced it. Checked in the same
   * transaction as rotation's own check of this table, so a node never starts serving unseen
   * beside a rotation. Caches nothing and evicts no cached read.
   */
  recordServingNode(node: ServingNodeRow, kekId: string): Promise<boolean>;
  removeServingNode(id: string): Promise<void>;
  /** Every row, live or stale, freshest heartbeat first. */
  listServingNodes(): Promise<ServingNodeRow[]>;
}
