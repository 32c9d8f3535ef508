import { renameSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { setImmediate as nextTurn } from 'node:timers/promises';
import Database from 'better-sqlite3';
import { describe, expect, it } from 'vitest';
import { openSqliteStore } from '../../src/storage/sqlite/sqlite-store.js';
import type { Store } from '../../src/storage/store.js';
import { createWalSync } from '../../src/storage/sqlite/wal-sync.js';
import { tempDir } from '../helpers/server.js';
import { runStoreContract } from './store-contract.js';

function openTemp() {
  const dir = tempDir('vg-store-');
  const path = join(dir, 'vaultgate.db');
  const auditKey = Buffer.alloc(32, 3);
  const store = openSqliteStore({ path, auditKey, keyring: { kek_id: 'mk_test', wrapped_root: Buffer.from('root') } });
  return { store, auditKey, path, cleanup: async () => rmSync(dir, { recursive: true, force: true }) };
}

runStoreContract('sqlite', {
  async open() {
    return openTemp();
  },
});

/** org_1 / vlt_1 / sec_1 (env_key K, fingerprint 'before'). */
async function seed(store: Store): Promise<void> {
  const t = new Date().toISOString();
  await store.createOrg({ id: 'org_1', name: 'acme', is_default: false, created_at: t }, { id: 'key_1', org_id: 'org_1', name: null, hash: 'h', created_at: t, revoked_at: null }, []);
  await store.createVault({ id: 'vlt_1', org_id: 'org_1', name: 'v', description: null, created_at: t, updated_at: t }, []);
  const row = { id: 'sec_1', org_id: 'org_1', vault_id: 'vlt_1', env_key: 'K', allowed_domains: [], inject_in: ['header' as const], description: null, labels: {}, revealable: false, version: 1, created_at: t, updated_at: t, type: 'static' as const, rules: null, rate_limit: null, signing: null };
  const version = { secret_id: 'sec_1', version: 1, created_at: t, actor: 'a', changed: ['value'], allowed_domains: [], inject_in: ['header' as const], description: null, kek_id: 'mk_test', wrapped_key: Buffer.from('w'), ciphertext: Buffer.from('c'), fingerprint: 'before' };
  await store.createSecret(row, version, []);
}

describe('SQLite store: cached reads', () => {
  it('follow a write made through another connection (an admin command, another process) from the next event-loop turn', async () => {
    const { store, path, cleanup } = openTemp();
    await seed(store);
    expect((await store.getSecretVersion('org_1', 'sec_1', 1))?.fingerprint).toBe('before');
    expect((await store.findSecretsByEnvKey('org_1', 'K')).map((s) => s.id)).toEqual(['sec_1']);

    const other = new Database(path);
    other.prepare("UPDATE secret_versions SET fingerprint = 'after' WHERE secret_id = 'sec_1'").run();
    other.prepare("UPDATE secrets SET env_key = 'RENAMED' WHERE id = 'sec_1'").run();
    other.close();
    await nextTurn();
    expect((await store.getSecretVersion('org_1', 'sec_1', 1))?.fingerprint).toBe('after');
    expect(await store.findSecretsByEnvKey('org_1', 'K')).toEqual([]);
    await store.close();
    await cleanup();
  });
});

describe('SQLite store: heartbeats', () => {
  it('keep the cached reads, which they change nothing of (a real write in their place drops them)', async () => {
    const { store, path, cleanup } = openTemp();
    await seed(store);
    await nextTurn();
    const other = new Database(path);
    const change = other.prepare("UPDATE secret_versions SET fingerprint = ? WHERE secret_id = 'sec_1'");
    const fingerprint = async () => (await store.getSecretVersion('org_1', 'sec_1', 1))?.fingerprint;
    // Within one event-loop turn only the store's own writes can drop the memo, so a change made
    // meanwhile by another connection shows whether the heartbeat dropped it.
    const first = fingerprint();
    change.run('changed-1');
    const node = { id: 'nod_1', pid: 1, hostname: 'h', started_at: new Date().toISOString(), heartbeat_at: new Date().toISOString() };
    const recorded = store.recordServingNode(node, 'mk_test');
    const afterHeartbeat = fingerprint();
    expect([await first, await recorded, await afterHeartbeat]).toEqual(['before', true, 'before']);
    await nextTurn();

    const second = fingerprint();
    change.run('changed-2');
    const written = store.createVault({ id: 'vlt_2', org_id: 'org_1', name: 'w', description: null, created_at: node.started_at, updated_at: node.started_at }, []);
    const afterWrite = fingerprint();
    expect([await second, await written, await afterWrite]).toEqual(['changed-1', { ok: true }, 'changed-2']);
    other.close();
    await store.close();
    await cleanup();
  });
});

describe('WAL sync', () => {
  it('syncs the WAL file, and follows it when the file is replaced', async () => {
    const dir = tempDir('vg-wal-');
    const db = join(dir, 'x.db');
    writeFileSync(`${db}-wal`, 'first');
    const sync = createWalSync(db);
    await sync.sync();
    writeFileSync(join(dir, 'replacement'), 'second');
    renameSync(join(dir, 'replacement'), `${db}-wal`);
    await sync.sync();
    rmSync(`${db}-wal`);
    await expect(sync.sync()).rejects.toThrow(/ENOENT/);
    sync.close();
    rmSync(dir, { recursive: true, force: true });
  });
});
