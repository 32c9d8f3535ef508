// The `meta` half of the Store: the keyring and the deployment CA, one row each for every node.
import type { KeyringRow, ProxyCaRow } from './types.js';

export interface MetaStore {
  getKeyring(): Promise<KeyringRow | null>;
  /** The deployment CA: inserted once; every node reads the same one. */
  getProxyCa(): Promise<ProxyCaRow | null>;
  initProxyCa(row: ProxyCaRow): Promise<ProxyCaRow>;
}
