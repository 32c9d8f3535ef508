import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { openSqliteStore } from '../../src/storage/sqlite/sqlite-store.js';
import { tempDir } from '../helpers/server.js';
import { runStoreContract } from './store-contract.js';

runStoreContract('sqlite', {
  async open() {
    const dir = tempDir('vg-store-');
    const auditKey = Buffer.alloc(32, 3);
    const store = openSqliteStore({ path: join(dir, 'vaultgate.db'), auditKey, keyring: { kek_id: 'mk_test', wrapped_root: Buffer.from('root') } });
    return { store, auditKey, cleanup: async () => rmSync(dir, { recursive: true, force: true }) };
  },
});
